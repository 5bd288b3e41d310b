// Error mapping between SIP responses and XMPP stanza errors (RFC 7247 §7: §7.1 XMPP to SIP,
// §7.2 SIP to XMPP), plus the two ways a SIP client transaction ends without a response
// (RFC 3261 §8.1.3.1).
//
// Pure: values in, values out.
//
// SIP -> XMPP: the RFC 7247 §7.2 rows for the codes it lists. A code it does not list is
// treated as the x00 code of its class (RFC 3261 §8.1.3.2: "a UAC MUST treat any final
// response it does not recognize as being equivalent to the x00 response code of that
// class"), so 487 reads as 400 and 599 as 500. The error type is the one RFC 6120 §8.3.3
// gives for the condition. A transaction timeout is 408 (§8.1.3.1) and so remote-server-timeout;
// a transport failure is 503 (§8.1.3.1) and so service-unavailable. (A transport failure here
// is our own SIP next hop being unreachable: the gateway's service is unavailable, which is not
// remote-server-not-found, RFC 6120 §8.3.3.16, a domain that cannot be resolved or reached.)
//
// XMPP -> SIP: the RFC 7247 §7.1 rows, with two deviations where the RFC's code would make an
// invalid SIP response (both documented at the row):
//   - not-authorized: 401 MUST carry a WWW-Authenticate challenge (RFC 3261 §21.4.2) that a
//     gateway cannot issue on behalf of an XMPP server: 403 Forbidden instead.
//   - not-allowed: 405 MUST carry an Allow header (§21.4.6): the reply carries one listing the
//     methods the gateway takes (kGatewayAllow).
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
