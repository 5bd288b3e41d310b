// XEP-0085 chat states <-> RFC 3994 isComposing.
//
// Pure.
#include "gateway/translate/is_composing.hpp"

#include "common/xml/serializer.hpp"
#include "common/xml/stream_parser.hpp"
#include "gateway/translate/message_map.hpp"

namespace fedgw::gateway {

std::string_view wire_name(ChatState s) {
    switch (s) {
        case ChatState::Active:
            return "active";
        case ChatState::Composing:
            return "composing";
        case ChatState::Paused:
            return "paused";
        case ChatState::Inactive:
            return "inactive";
        case ChatState::Gone:
            return "gone";
    }
    return "active";
}

std::optional<ChatState> chat_state_from_name(std::string_view n) {
    for (ChatState s : {ChatState::Active, ChatState::Composing, ChatState::Paused,
                        ChatState::Inactive, ChatState::Gone})
        if (wire_name(s) == n) return s;
    return std::nullopt;
}

std::optional<ChatState> chat_state_of(const Element& message) {
    for (const Element* c : message.child_elements())
        if (c->ns() == kNsChatStates) return chat_state_from_name(c->name());
    return std::nullopt;
}

ComposingState composing_state_for(ChatState s) {
    return s == ChatState::Composing ? ComposingState::Active : ComposingState::Idle;
}

ChatState chat_state_for(ComposingState s) {
    return s == ComposingState::Active ? ChatState::Composing : ChatState::Paused;
}

std::string write_is_composing(ComposingState s, std::uint32_t refresh_s) {
    Element root("isComposing", std::string(kNsIsComposing));
    root.add_child("state").add_text(s == ComposingState::Active ? "active" : "idle");
    root.add_child("contenttype").add_text("text/plain");
    if (s == ComposingState::Active && refresh_s > 0)
        root.add_child("refresh").add_text(std::to_string(refresh_s));
    std::string out = "<?xml version='1.0' encoding='UTF-8'?>";
    append_serialized(out, root, NsScope{});
    return out;
}

std::optional<ComposingState> parse_is_composing(std::string_view xml) {
    if (xml.size() > 8192) return std::nullopt;
    Limits l;
    l.max_stanza_bytes = 8192;
    l.max_token_bytes = 8192;
    l.max_depth = 8;
    l.max_elements = 64;
    l.max_text_bytes = 8192;
    XmlStreamParser p(l);
    auto fed = p.feed(xml);
    if (!fed || !fed->stopped) return std::nullopt;
    for (char c : xml.substr(fed->consumed))
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return std::nullopt;
    bool root_ok = false;
    std::optional<ComposingState> state;
    while (auto ev = p.next_event()) {
        if (auto* open = std::get_if<StreamOpen>(&*ev)) {
            root_ok = open->header.is("isComposing", kNsIsComposing);
        } else if (auto* st = std::get_if<Stanza>(&*ev)) {
            if (!st->element->is("state", kNsIsComposing)) continue;
            std::string v = st->element->text();
            const auto b = v.find_first_not_of(" \t\r\n");
            const auto e = v.find_last_not_of(" \t\r\n");
            v = b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
            if (v == "active")
                state = ComposingState::Active;
            else if (v == "idle")
                state = ComposingState::Idle;
        }
    }
    return root_ok ? state : std::nullopt;
}

}  // namespace fedgw::gateway
