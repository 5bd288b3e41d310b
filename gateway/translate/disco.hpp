// The gateway's answers to IQs addressed to its own domain (and the error reply every other
// stanza kind needs): XEP-0030 service discovery (disco#info with identity gateway/sip,
// disco#items empty), XEP-0092 software version, XEP-0199 ping, and service-unavailable for
// every other get/set (RFC 6120 §8.2.3: an IQ get/set MUST be answered). Also error replies
// in general (RFC 6120 §8.3.1) for the message and presence translators' bounces.
//
// Pure: a stanza in, a stanza out.
//
// Rules (RFC 6120 §8.2.3): result and error IQs are never answered (nullptr); a get/set without
// an id, or without exactly one child, is answered bad-request (without an id when it had
// none). disco#info with a node the gateway does not have: item-not-found (XEP-0030 §3.1).
// IQs to a user's address (localpart@gateway-domain) are the SIP users', who take none:
// service-unavailable (RFC 6121 §8.5.3.1 for IQs to an account that cannot answer).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/stanza_error.hpp"
#include "common/xml/element.hpp"

namespace fedgw::gateway {

inline constexpr std::string_view kNsDiscoInfo = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view kNsDiscoItems = "http://jabber.org/protocol/disco#items";
inline constexpr std::string_view kNsVersion = "jabber:iq:version";
inline constexpr std::string_view kNsPing = "urn:xmpp:ping";

struct GatewayInfo {
    std::string name = "fedgw";  // XEP-0092 <name/>, identity name
    std::string version;         // XEP-0092 <version/> (FEDGW_VERSION from the caller)
    std::string identity_name = "SIP gateway";
    // disco#info features; the defaults are what this library answers.
    std::vector<std::string> features{std::string(kNsDiscoInfo), std::string(kNsDiscoItems),
                                      std::string(kNsVersion), std::string(kNsPing)};
};

// The reply to an <iq/> addressed to the gateway (its domain or a user at it), or nullptr when
// none may be sent (type result or error).
std::unique_ptr<Element> answer_iq(const Element& iq, const GatewayInfo& info);

// <stanza from=to to=from id type='error'><error type><condition/><text/></error></stanza>
// for any stanza (message, presence, iq) per RFC 6120 §8.3.1; the original payload is not
// echoed. nullptr for a stanza that is itself an error (§8.3.1: never answer one).
std::unique_ptr<Element> error_reply(const Element& stanza, const StanzaError& e);

// The <error/> element alone (RFC 6120 §8.3.2), in the namespace `ns` of its stanza.
std::unique_ptr<Element> error_element(const StanzaError& e, std::string_view ns);

}  // namespace fedgw::gateway
