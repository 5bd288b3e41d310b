// make_bounce (see outbound_bounce.hpp): RFC 6120 §8.3.1, §8.3.2, §8.2.3.
//
// Pure: no I/O.
#include "proxy/s2s/outbound_bounce.hpp"

#include <string>
#include <utility>

#include "common/xml/namespaces.hpp"

namespace fedgw::proxy {

std::string_view describe(NoBounce r) {
    switch (r) {
        case NoBounce::NotAStanza:
            return "not a message, presence or iq stanza";
        case NoBounce::ErrorStanza:
            return "an error stanza is never answered with an error";
        case NoBounce::IqResponse:
            return "an iq that is not a get or set is not answered";
        case NoBounce::NoSender:
            return "the stanza has no 'from' to return it to";
    }
    return "unknown";
}

Result<std::unique_ptr<Element>, NoBounce> make_bounce(const Element& stanza, StanzaError error,
                                                       std::string_view by) {
    const std::string& kind = stanza.name();
    if (kind != "message" && kind != "presence" && kind != "iq")
        return Unexpected(NoBounce::NotAStanza);
    const auto type = stanza.attr_or("type", "");
    // §8.3.1: "An entity that receives an error stanza MUST NOT respond to the stanza with a
    // further error stanza; this helps to prevent looping."
    if (type == "error") return Unexpected(NoBounce::ErrorStanza);
    // §8.2.3: only get and set are requests; a result is never answered.
    if (kind == "iq" && type != "get" && type != "set") return Unexpected(NoBounce::IqResponse);
    const auto from = stanza.attr("from");
    if (!from || from->empty()) return Unexpected(NoBounce::NoSender);

    auto reply = stanza.clone();
    // §8.3.1: swap 'from' and 'to'.
    const std::string sender(*from);
    if (const auto to = stanza.attr("to"); to && !to->empty())
        reply->set_attr("from", *to);
    else
        reply->remove_attr("from");
    reply->set_attr("to", sender);
    reply->set_attr("type", "error");
    // §8.3.1: an iq error MUST carry the id of the request, "or empty" if it had none; a
    // message or presence error carries it when the original did.
    if (kind == "iq" && !reply->has_attr("id")) reply->set_attr("id", "");

    // §8.3.2: <error type='…' [by='…']><condition xmlns=stanzas/>[<text/>]</error>, in the
    // stanza's own namespace.
    if (!by.empty()) error.by = std::string(by);
    auto err = Element::make("error", reply->ns());
    err->set_attr("type", wire_name(error.type));
    if (!error.by.empty()) err->set_attr("by", error.by);
    err->add_child(std::string(wire_name(error.condition)), std::string(kNsStanzaErrors));
    if (!error.text.empty()) {
        auto& text = err->add_child("text", std::string(kNsStanzaErrors));
        text.set_attr("xml:lang", "en");
        text.add_text(error.text);
    }
    reply->add_child(std::move(err));
    return reply;
}

}  // namespace fedgw::proxy
