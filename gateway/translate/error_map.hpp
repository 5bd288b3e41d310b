// Error mapping between SIP responses and XMPP stanza errors (RFC 7247 §7: §7.1 XMPP to SIP,
// §7.2 SIP to XMPP), plus the two ways a SIP client transaction ends without a response
// (RFC 3261 §8.1.3.1).
//
// Pure: values in, values out.
//
// Provenance: the RFC 7247 rows below are as recalled. The RFC 7247 text could not be fetched
// with the tools available when they were checked (issue 4), so tests/unit/translate/
// error_map_test.cpp marks every one [recalled], and the doubtful ones (380, 405, 407, 413,
// 414, 484, 513; feature-not-implemented) as such. The RFC 3261 and RFC 6120 rules cited here
// were checked against their text.
//
// SIP -> XMPP: the RFC 7247 §7.2 rows for the codes it lists. A code it does not list is
// treated as the x00 code of its class (RFC 3261 §8.1.3.2: "A UAC MUST treat any final
// response it does not recognize as being equivalent to the x00 response code of that
// class"), so 487 reads as 400 and 599 as 500. The error type is the one RFC 6120 §8.3.3
// gives for the condition. A transaction timeout is 408 (§8.1.3.1) and so remote-server-timeout;
// a transport failure is 503 (§8.1.3.1) and so service-unavailable. (A transport failure here
// is our own SIP next hop being unreachable: the gateway's service is unavailable, which is not
// remote-server-not-found, RFC 6120 §8.3.3.16, a domain that cannot be resolved or reached.)
//
// XMPP -> SIP: the RFC 7247 §7.1 rows, with two deviations where the RFC's code would make an
// invalid SIP response (both documented at the row):
//   - not-authorized: RFC 3261 §22.2: "The WWW-Authenticate response-header field MUST be
//     included in 401 (Unauthorized) response messages", a challenge a gateway cannot issue on
//     behalf of an XMPP server: 403 Forbidden instead.
//   - not-allowed: 405 "MUST include an Allow header field" (RFC 3261 §21.4.6): the reply
//     carries one listing the methods the gateway takes (kGatewayAllow).
// Privacy (RFC 6120 §8.3.3.13, checked against its text): "An application MUST NOT return
// this error [recipient-unavailable] if doing so would provide information about the intended
// recipient's network availability to an entity that is not authorized to know such
// information ...; instead it MUST return a <service-unavailable/> stanza error" (§8.3.3.7
// says the same of item-not-found, and RFC 6121 §8.5.1 has a message to a non-existent account
// answered with service-unavailable or ignored). The table maps 480 and 486 to
// recipient-unavailable and 404 to item-not-found as RFC 7247 §7.2 (recalled) does; this
// function cannot know whether the XMPP sender may see the SIP user's presence, so a caller
// answering a sender who may not must send service-unavailable instead, without the SIP text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/base/stanza_error.hpp"
#include "gateway/sip/sip_error.hpp"

namespace fedgw::gateway {

// The methods the gateway accepts from the SIP platform (for Allow headers).
inline constexpr std::string_view kGatewayAllow = "MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS";

struct SipHeaderValue {
    std::string name;
    std::string value;
    bool operator==(const SipHeaderValue&) const = default;
};

// A SIP final response to send: status, reason phrase ("" = the standard one), the headers
// the status requires (Allow on 405, Accept on 415, ...) and a human-readable cause for logs.
struct SipReply {
    int status = 500;
    std::string reason;
    std::vector<SipHeaderValue> headers;
    std::string text;
};

// RFC 7247 §7.2. Precondition: 300 <= status <= 699. `reason` (the peer's reason phrase) goes
// into the error text: "SIP 486 Busy Here".
StanzaError stanza_error_for_sip_status(int status, std::string_view reason = {});

// RFC 7247 §7.1: the status code alone.
int sip_status_for_condition(StanzaCondition c);

// The full reply for an XMPP error: status, the headers the status needs, and the error's
// text as the cause.
SipReply sip_reply_for_stanza_error(const StanzaError& e);

// A SIP client transaction that ended without a final response (gateway/sip RequestFailure):
// Timeout -> remote-server-timeout, TransportError and Shutdown -> service-unavailable,
// Overloaded -> resource-constraint, InvalidRequest -> internal-server-error.
StanzaError stanza_error_for_request_failure(sip::RequestFailure f);

}  // namespace fedgw::gateway
