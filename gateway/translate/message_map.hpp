// One-to-one page-mode messages between XMPP <message/> (RFC 6121 §5) and SIP MESSAGE
// (RFC 3428), as RFC 7572 maps them (§4 XMPP to SIP, §5 SIP to XMPP, §6 content types, §7
// internationalisation), with message/cpim unwrapped (RFC 3862, cpim.hpp).
//
// Pure: a stanza or the fields of a SIP request in, a plan or a stanza out. The loop-bound
// gateway builds the SIP request with gateway/sip's builders (to_request_spec() fills the
// spec) and sends the XMPP stanza over the link.
//
// Provenance: the RFC 7572 rows and section numbers here are as recalled; its text could not
// be fetched with the tools available when they were checked (issue 4). The unit tests tag
// every expected value [RFC text], [recalled] or [ours] (tests/unit/translate/
// translate_test_support.hpp).
//
// XMPP -> SIP (plan_sip_message), the RFC 7572 §4 table:
//   <body/> -> MESSAGE body, text/plain;charset=UTF-8 | to -> Request-URI and To | from -> From
//   <subject/> -> Subject header | <thread/> -> Call-ID | xml:lang -> Content-Language
//   id, type -> no SIP equivalent (the id is kept to address an error bounce).
//   - Several <body/> (or <subject/>) elements in different languages (RFC 6121 §5.2.3): the
//     one in the stanza's language (its xml:lang, else the stream's) is sent, else the first;
//     its language becomes Content-Language; the others are dropped and listed in `notes`.
//     (A multipart/alternative MESSAGE would carry them all but few SIP clients render one.)
//   - <thread/> becomes the Call-ID when it is a usable one (RFC 3261 §25.1 word characters,
//     at most 128): then every MESSAGE of the thread shares a Call-ID and the sender must
//     raise the CSeq for each (RFC 3261 §8.1.1.5). Otherwise `call_id` is empty (fresh one).
//   - The Subject is made one line (controls replaced by spaces) and cut at
//     max_subject_bytes on a character boundary: a header cannot carry line breaks.
//   - type: chat, normal, absent or unknown (RFC 6121 §5.2.2: unknown counts as normal) are
//     sent; groupchat and headline are refused with feature-not-implemented (one-to-one only,
//     no multi-user chat on the SIP side; headlines are not conversation messages).
//     type=error is never translated (NothingToSend): a SIP MESSAGE was answered long before,
//     there is nothing left to answer.
//   - No <body/> (XEP-0085 chat states, XEP-0184 receipts, XEP-0333 markers, empty bodies):
//     NothingToSend, never an empty MESSAGE. For a chat state the caller may send the RFC 3994
//     isComposing MESSAGE plan_is_composing() gives; everything else it drops on purpose and
//     logs at debug level (XEP-0184 receipts have no page-mode equivalent: a SIP 2xx is not a
//     delivery receipt).
// SIP -> XMPP (translate_sip_message), the RFC 7572 §5 table in reverse; the result is a
// SipReply refusal or a message to send (build_message_stanza):
//   - text/plain: charset UTF-8 or US-ASCII, or none (read as UTF-8: US-ASCII, the MIME
//     default, is a subset, and clients that leave it out send UTF-8); other charsets -> 415 with
//     an Accept listing what we take; bytes that are not UTF-8 -> 400; characters XML cannot carry
//     (C0 controls other than tab/LF/CR) -> 400: refused, never altered.
//   - message/cpim: unwrapped; the payload must be text/plain as above; CPIM Subject and
//     DateTime are used (DateTime -> XEP-0203 <delay/>, when asked); CPIM From/To are returned
//     for the caller's logs but the SIP From/To (checked by the trust layer) stay
//     authoritative.
//   - anything else (or a Content-Encoding) -> 415 with Accept (and Accept-Encoding: identity).
//   - application/im-iscomposing+xml (RFC 3994) -> a bodyless message with the XEP-0085 chat
//     state (is_composing.hpp); a document that is not isComposing -> 400.
//   - no body -> 400: an empty MESSAGE carries nothing for an XMPP user.
//   - To: the Request-URI when it names a user, else the To URI.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/base/result.hpp"
#include "common/base/stanza_error.hpp"
#include "common/jid/jid.hpp"
#include "common/xml/element.hpp"
#include "gateway/sip/sip_builder.hpp"
#include "gateway/translate/error_map.hpp"
#include "gateway/translate/is_composing.hpp"

namespace fedgw::gateway {

inline constexpr std::string_view kNsChatStates = "http://jabber.org/protocol/chatstates";
inline constexpr std::string_view kNsReceipts = "urn:xmpp:receipts";
inline constexpr std::string_view kNsChatMarkers = "urn:xmpp:chat-markers:0";
inline constexpr std::string_view kNsDelay = "urn:xmpp:delay";
// What the gateway sends and takes as a MESSAGE body.
inline constexpr std::string_view kTextPlainUtf8 = "text/plain;charset=UTF-8";
// The Accept value of a 415 (RFC 3261 §21.4.13).
inline constexpr std::string_view kMessageAccept =
    "text/plain;charset=UTF-8, message/cpim, application/im-iscomposing+xml";

// --- XMPP -> SIP -----------------------------------------------------------------------------

struct OutboundMessageOptions {
    std::size_t max_body_bytes = 60 * 1024;  // under gateway/sip's 64 KiB message limit
    std::size_t max_subject_bytes = 256;
    std::string default_lang;  // the stream's xml:lang, for a stanza without one
};

struct OutboundMessage {
    std::string id;           // the stanza's id, for an error bounce
    std::string request_uri;  // the recipient's SIP URI: Request-URI and To
    std::string from_uri;     // the sender's SIP URI: From
    std::string from_gruu;    // the sender's GRUU if it had a resource (RFC 7247 §6.3), or ""
    std::string content_type{kTextPlainUtf8};
    std::string body;
    std::string subject;             // Subject header value, or "" for none
    std::string content_language;    // Content-Language value, or ""
    std::string thread;              // the XMPP thread, or ""
    std::string call_id;             // the thread as a Call-ID, or "" for a fresh one
    std::vector<std::string> notes;  // what was left out, for debug logs
};

enum class NothingToSendReason {
    ChatStateOnly,  // XEP-0085 notification without a body
    ReceiptOnly,    // XEP-0184 receipt or request, XEP-0333 marker, without a body
    NoBody,         // no body (or an empty one) and nothing we know
    ErrorStanza,    // type=error: nothing to answer on the SIP side
};
std::string_view describe(NothingToSendReason r);

struct NothingToSend {
    NothingToSendReason reason = NothingToSendReason::NoBody;
    std::string detail;
};

// Send this MESSAGE, or send nothing (and log why), or bounce this error to the sender.
using OutboundDecision = std::variant<OutboundMessage, NothingToSend, StanzaError>;

OutboundDecision plan_sip_message(const Element& message,
                                  const OutboundMessageOptions& options = {});

// For a bodyless chat-state message (plan_sip_message: NothingToSend/ChatStateOnly): the
// RFC 3994 isComposing MESSAGE to send instead, and which state it carries. nullopt when the
// message has no chat state or its addresses do not map (typing notifications are best
// effort: nothing is bounced for them).
struct ComposingMessage {
    OutboundMessage message;  // content_type application/im-iscomposing+xml
    ComposingState state = ComposingState::Idle;
};
std::optional<ComposingMessage> plan_is_composing(const Element& message,
                                                  std::uint32_t refresh_s = 60);

// The RequestSpec for gateway/sip's build_message(spec, m.content_type, m.body, random):
// Request-URI, From (tag left to the builder), To, Call-ID, Subject and Content-Language.
sip::RequestSpec to_request_spec(const OutboundMessage& m);

// --- SIP -> XMPP -----------------------------------------------------------------------------

// What the gateway read from a SIP MESSAGE request.
struct InboundMessageRequest {
    std::string request_uri;
    std::string from_uri;
    std::string to_uri;
    std::string call_id;
    std::string content_type;      // the Content-Type header value, "" when absent
    std::string content_encoding;  // "" when absent
    std::string content_language;  // "" when absent
    std::string subject;           // "" when absent
    std::string body;
};

struct InboundMessageOptions {
    std::size_t max_body_bytes = 64 * 1024;
    std::string type = "chat";        // XMPP message type to send ("chat" or "normal")
    bool thread_from_call_id = true;  // RFC 7572 §5: Call-ID -> <thread/>
    bool delay_from_cpim = true;      // CPIM DateTime -> XEP-0203 <delay/>
};

struct InboundMessage {
    Jid from;
    Jid to;
    std::string type{};
    std::string body{};
    std::string subject{};
    std::string lang{};         // xml:lang of the stanza, from Content-Language; or ""
    std::string thread{};       // or ""
    std::string delay_stamp{};  // XEP-0203 stamp, or ""
    std::string cpim_from{};    // the CPIM From URI when the body was message/cpim, for logs
    std::string cpim_to{};
    std::optional<ChatState> chat_state{};  // an isComposing MESSAGE: no body, this state
};

Result<InboundMessage, SipReply> translate_sip_message(const InboundMessageRequest& request,
                                                       const InboundMessageOptions& options = {});

// <message xmlns=ns from=... to=... type=... id=... [xml:lang]><body/>[<subject/>][<thread/>]
// [<delay/>][chat state]</message>; <body/> only when there is text. `id` comes from the caller (no
// randomness here).
std::unique_ptr<Element> build_message_stanza(const InboundMessage& m, std::string_view id,
                                              std::string_view ns = "jabber:server");

}  // namespace fedgw::gateway
