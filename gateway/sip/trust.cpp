// The SIP trust check; see trust.hpp. Pure.
#include "gateway/sip/trust.hpp"

#include <algorithm>

namespace fedgw::gateway::sip {

IpAddress canonical_address(const IpAddress& a) {
    if (!a.is_v4_mapped()) return a;
    IpAddress v4 = IpAddress::any_v4();
    std::copy(a.bytes.begin() + 12, a.bytes.begin() + 16, v4.bytes.begin());
    return v4;
}

bool is_trusted_source(const TrustPolicy& policy, const IpAddress& source) {
    const IpAddress s = canonical_address(source);
    for (const auto& hop : policy.next_hops) {
        if (canonical_address(hop) == s) return true;
    }
    for (const auto& block : policy.trusted) {
        if (block.contains(s) || block.contains(source)) return true;
    }
    return false;
}

}  // namespace fedgw::gateway::sip
