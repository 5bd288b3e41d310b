// Via handling for the transport layer, RFC 3261 §18 and RFC 3581:
// - set_top_via(): the Via a request we send carries (transport, sent-by, branch, rport);
// - stamp_received(): on a request we receive, "received" when the sent-by host is not the
//   packet's source address (§18.2.1) and the rport value (RFC 3581 §4);
// - response_target(): where a response goes over an unreliable transport (§18.2.2:
//   "received" address, else sent-by; the rport value, else the sent-by port, else 5060/5061).
//
// Pure.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "gateway/sip/sip_builder.hpp"
#include "gateway/sip/sip_error.hpp"
#include "gateway/sip/sip_message.hpp"

namespace fedgw::gateway::sip {

// Replaces the top Via of `request` (or adds one): transport and sent-by from `via`, the
// branch from `via.branch`, else the replaced Via's branch when it carries the magic cookie,
// else a new one. Returns the branch used.
Result<std::string, SipError> set_top_via(SipMessage& request, const ViaSpec& via,
                                          const RandomSource& random);

// Adds received= and fills rport on the top Via of a request that arrived from
// source:source_port. Responses are left alone.
Result<void, SipError> stamp_received(SipMessage& request, const IpAddress& source,
                                      std::uint16_t source_port);

struct ResponseTarget {
    std::string host;  // an IP literal after stamp_received(); sent-by otherwise
    std::uint16_t port = 5060;
};

// Where a response to a request whose top Via is `top` goes (§18.2.2, RFC 3581 §4). maddr is
// not honoured (no multicast).
ResponseTarget response_target(const ViaHeader& top, SipTransport transport);

// 5061 for TLS, 5060 otherwise (RFC 3261 §19.1.2).
std::uint16_t default_port(SipTransport t);

}  // namespace fedgw::gateway::sip
