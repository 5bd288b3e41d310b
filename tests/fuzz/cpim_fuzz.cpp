// Fuzz target for the message/cpim unwrapper (gateway/translate/cpim.hpp, RFC 3862) and the
// SIP MESSAGE translation that uses it (message_map.hpp). Beyond "no crash": an unwrapped body
// is a suffix of the input, a DateTime either converts to a UTC stamp ending in 'Z' or is
// refused, and the MESSAGE translation either yields a non-empty UTF-8 body or a refusal with
// a 4xx status. abort() on any difference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/translate/cpim.hpp"
#include "gateway/translate/media_type.hpp"
#include "gateway/translate/message_map.hpp"

using namespace fedgw::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto m = parse_cpim(in);
    if (m) {
        if (m->body.size() > in.size() || in.substr(in.size() - m->body.size()) != m->body)
            std::abort();
        if (m->content_type.empty() && m->content_header("Content-Type") == nullptr) std::abort();
        if (const CpimHeader* dt = m->header("DateTime")) {
            auto utc = datetime_to_utc(dt->value);
            if (utc && (utc->empty() || utc->back() != 'Z')) std::abort();
        }
        (void)m->from_uri();
        (void)m->subject_lang();
    } else if (m.error().describe().empty()) {
        std::abort();
    }

    InboundMessageRequest req;
    req.request_uri = "sip:juliet@xmpp.test";
    req.from_uri = "sip:alice@sip.test";
    req.to_uri = req.request_uri;
    req.call_id = "fuzz@sip.test";
    req.content_type = "message/cpim";
    req.body = std::string(in);
    auto out = translate_sip_message(req);
    if (out) {
        if (out->body.empty() || !is_valid_utf8(out->body) || !is_xml_text(out->body)) std::abort();
        auto stanza = build_message_stanza(*out, "id");
        if (!stanza) std::abort();
    } else if (out.error().status < 400 || out.error().status > 499) {
        std::abort();
    }
    return 0;
}
