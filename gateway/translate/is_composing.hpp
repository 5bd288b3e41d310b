// Typing notifications between XMPP chat states (XEP-0085) and SIP isComposing documents
// (RFC 3994: application/im-iscomposing+xml carried in a MESSAGE).
//
// Pure.
//
// XMPP -> SIP (plan_is_composing), for a bodyless chat-state message (plan_sip_message says
// NothingToSend/ChatStateOnly):
//   <composing/>                              -> <state>active</state> with a <refresh/>
//   <paused/>, <active/>, <inactive/>, <gone/> -> <state>idle</state>
//   RFC 3994 expects idle only after active; the gateway, which knows what it sent last per
//   pair, skips an idle that follows no active (the plan says which state it is).
// SIP -> XMPP (parse_is_composing; translate_sip_message uses it): active -> <composing/>,
//   idle -> <paused/> (the user stopped typing; XEP-0085 §5.3). The document is parsed with
//   XmlStreamParser (restricted XML, bounded), matched by namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/xml/element.hpp"

namespace fedgw::gateway {

inline constexpr std::string_view kNsIsComposing = "urn:ietf:params:xml:ns:im-iscomposing";
inline constexpr std::string_view kIsComposingMediaType = "application/im-iscomposing+xml";

// XEP-0085 §2 states.
enum class ChatState { Active, Composing, Paused, Inactive, Gone };
std::string_view wire_name(ChatState s);
std::optional<ChatState> chat_state_from_name(std::string_view name);

// The chat state of a message (the first child in the chatstates namespace), if any.
std::optional<ChatState> chat_state_of(const Element& message);

// RFC 3994 §3 states.
enum class ComposingState { Active, Idle };

// The isComposing document for a chat state (refresh in seconds, used with Active only).
ComposingState composing_state_for(ChatState s);
std::string write_is_composing(ComposingState s, std::uint32_t refresh_s = 60);

// Reads an isComposing document's <state/>; nullopt for anything that is not one.
std::optional<ComposingState> parse_is_composing(std::string_view xml);

// active -> composing, idle -> paused.
ChatState chat_state_for(ComposingState s);

}  // namespace fedgw::gateway
