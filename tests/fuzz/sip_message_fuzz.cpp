// Fuzz target for the SIP message layer (gateway/sip): SipMessage::parse on arbitrary bytes,
// every accessor on what parses, a response built (RFC 3261 §8.2.6) for every request that
// parses, and the same bytes through StreamFramer in two pieces. Beyond "no crash": a built
// response must serialise and parse back with the request's Call-ID and CSeq, and every
// refusal must describe itself. abort() on any difference so that both libFuzzer and the
// replay driver report it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "gateway/sip/sip_builder.hpp"
#include "gateway/sip/sip_message.hpp"
#include "gateway/sip/stream_framer.hpp"

using namespace fedgw::gateway::sip;

namespace {

void touch_everything(const SipMessage& m) {
    (void)m.method();
    (void)m.request_uri();
    (void)m.status_code();
    (void)m.reason_phrase();
    (void)m.from();
    (void)m.to();
    (void)m.call_id();
    (void)m.cseq();
    (void)m.vias();
    (void)m.contacts();
    (void)m.expires();
    (void)m.min_expires();
    (void)m.retry_after();
    (void)m.max_forwards();
    (void)m.event();
    (void)m.subscription_state();
    (void)m.content_type();
    (void)m.media_type();
    (void)m.body();
    (void)m.to_string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    SipLimits limits;
    limits.max_header_lines = 64;
    auto parsed = SipMessage::parse(in, limits);
    if (!parsed) {
        if (parsed.error().describe().empty()) std::abort();
    } else {
        touch_everything(*parsed);
        if (parsed->is_request() && parsed->method() != "ACK") {
            const RandomSource random = [] { return 0x0123456789abcdefULL; };
            for (int status : {100, 200, 403, 488}) {
                auto response = build_response(*parsed, status, {}, {}, random);
                if (!response) {
                    if (response.error().describe().empty()) std::abort();
                    continue;
                }
                auto text = response->to_string();
                if (!text) std::abort();
                auto again = SipMessage::parse(*text);
                if (!again || again->status_code() != status) std::abort();
                if (again->call_id() != parsed->call_id()) std::abort();
                if (again->cseq().number != parsed->cseq().number) std::abort();
            }
        }
    }
    StreamFramer framer(limits);
    std::vector<StreamFramer::Frame> frames;
    const std::size_t half = size / 2;
    if (framer.feed(in.substr(0, half), frames)) (void)framer.feed(in.substr(half), frames);
    for (const auto& f : frames) {
        if (f.kind == StreamFramer::Kind::Message) (void)SipMessage::parse(f.bytes, limits);
    }
    return 0;
}
