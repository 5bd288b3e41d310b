// Fuzz target for common/xml: XmlStreamParser (RFC 6120 §4, §11) and the serializer.
//
// The first byte picks the options (small or default limits, a stop_after() request, where to
// split); the rest is the stream. It is fed in two chunks split at a position derived from the
// input. When the parser stops (stop_after or stream close), the remainder is parsed as a new
// stream after reset(), as a stream restart would. Every stanza is then checked:
//   - clone() is equal to it;
//   - serializing it and parsing the result (inside a stream header of ours, with generous
//     limits) gives an equal tree, and serializing that gives the same bytes.
// A mismatch aborts, so the replay driver and libFuzzer both report it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "common/xml/stream_parser.hpp"

namespace {

using namespace fedgw;

[[noreturn]] void die(const char* what, const std::string& detail) {
    std::fprintf(stderr, "xml_stream_fuzz: %s\n%s\n", what, detail.c_str());
    std::abort();
}

void check_round_trip(const Element& stanza, std::string_view default_ns) {
    if (!(*stanza.clone() == stanza)) die("clone differs", serialize(stanza, default_ns));

    const NsScope scope = stream_scope(default_ns);
    const std::string out = serialize(stanza, scope);

    StreamHeader h;
    h.default_ns = std::string(default_ns);
    Limits generous;
    generous.max_stanza_bytes = 64u << 20;
    generous.max_token_bytes = 64u << 20;
    generous.max_attributes = 1u << 20;
    generous.max_elements = 1u << 24;
    generous.max_text_bytes = 64u << 20;
    XmlStreamParser again(generous);
    auto r = again.feed(stream_header(h) + out);
    if (!r) die("reparse failed", r.error().describe() + "\n" + out);
    auto events = again.take_events();
    if (events.size() != 2) die("reparse gave a different event count", out);
    const auto* st = std::get_if<Stanza>(&events[1]);
    if (st == nullptr || !(*st->element == stanza)) die("reparse gave a different tree", out);
    if (serialize(*st->element, scope) != out) die("second serialization differs", out);
}

// Drains the parser, checking every stanza; remembers the stream's default namespace.
void drain(XmlStreamParser& p, std::string& default_ns) {
    while (auto ev = p.next_event()) {
        if (const auto* open = std::get_if<StreamOpen>(&*ev)) {
            default_ns = std::string(open->default_ns());
        } else if (const auto* st = std::get_if<Stanza>(&*ev)) {
            if (!st->element) die("null stanza", "");
            check_round_trip(*st->element, default_ns);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t opts = data[0];
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    Limits limits;
    if (opts & 1) {
        limits.max_stanza_bytes = 2048;
        limits.max_token_bytes = 512;
        limits.max_depth = 6;
        limits.max_attributes = 8;
        limits.max_elements = 64;
        limits.max_text_bytes = 1024;
    }
    XmlStreamParser p(limits);
    auto arm = [&] {
        if (opts & 2)
            p.stop_after({{"starttls", std::string(kNsTls)},
                          {"proceed", std::string(kNsTls)},
                          {"success", std::string(kNsSasl)}});
    };
    arm();

    // Split point from the input itself, so the corpus exercises many boundaries.
    std::size_t split = 0;
    for (std::size_t i = 0; i < input.size() && i < 64; ++i)
        split = split * 31 + data[1 + i];
    split = input.empty() ? 0 : (split + opts) % (input.size() + 1);

    std::string default_ns(kNsServer);
    int restarts = 0;
    std::string_view chunks[2] = {input.substr(0, split), input.substr(split)};
    for (std::string_view chunk : chunks) {
        while (!chunk.empty()) {
            auto r = p.feed(chunk);
            drain(p, default_ns);
            if (!r) {
                if (r.error().text.empty()) die("error without text", r.error().describe());
                // Refused until reset(): prove it, then stop.
                if (p.feed(chunk)) die("fed after an error", r.error().describe());
                return 0;
            }
            if (r->consumed > chunk.size()) die("consumed more than given", "");
            if (!r->stopped) {
                if (r->consumed != chunk.size()) die("consumed less without stopping", "");
                break;
            }
            if (!p.is_stopped()) die("stopped but not is_stopped()", "");
            // A restart: what follows is a new stream (bounded, so this terminates).
            chunk.remove_prefix(r->consumed);
            if (++restarts > 8) return 0;
            p.reset();
            arm();
        }
    }
    return 0;
}
