// The SIP trust check: requests are accepted only from the configured next hops' addresses or
// from the trusted CIDR blocks of [gateway.sip] (DESIGN.md "SIP trust"); anyone else gets
// 403 Forbidden and a log line (the check itself is here, its use in SipStack).
//
// Pure.
#pragma once

#include <vector>

#include "common/config/address.hpp"

namespace fedgw::gateway::sip {

struct TrustPolicy {
    std::vector<IpAddress> next_hops;  // addresses of the next hops (literals and resolved)
    std::vector<Cidr> trusted;         // extra sources accepted
};

// The address as the trust check compares it: an IPv4-mapped IPv6 address (what a dual-stack
// socket reports for IPv4 peers, RFC 4291 §2.5.5.2) becomes plain IPv4.
IpAddress canonical_address(const IpAddress& a);

// True when `source` is one of the next hops or inside a trusted block.
bool is_trusted_source(const TrustPolicy& policy, const IpAddress& source);

}  // namespace fedgw::gateway::sip
