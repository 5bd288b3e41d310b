// Fuzz target for the proxy↔gateway link decoder and the typed frame parsers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/link/link_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace fedgw::link;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // Feed in two chunks at a position taken from the input, as TCP would.
    size_t cut = size ? data[0] % (size + 1) : 0;
    LinkDecoder d(DecoderLimits{1 << 16});
    if (d.feed(in.substr(0, cut))) (void)d.feed(in.substr(cut));
    while (auto f = d.next()) {
        switch (f->type) {
            case FrameType::Hello: (void)parse_hello(*f); break;
            case FrameType::Stanza: (void)parse_stanza(*f); break;
            case FrameType::Credit: (void)parse_credit(*f); break;
            case FrameType::Ping:
            case FrameType::Pong: (void)parse_nonce(*f); break;
            default: break;
        }
        // Whatever decoded must encode again and decode to the same frame.
        auto wire = encode(*f);
        if (!wire) std::abort();
        LinkDecoder again(DecoderLimits{1 << 17});
        if (!again.feed(*wire)) std::abort();
        auto g = again.next();
        if (!g || !(*g == *f)) std::abort();
    }
    return 0;
}
