// Fuzz target for SRV answers: the input is a raw DNS answer packet, parsed with c-ares'
// ares_parse_srv_reply exactly as the resolver does; whatever parses goes through the XMPP
// target selection (RFC 2782 order, RFC 6120 §3.2, XEP-0368 merge) with a random source fed
// from the input. The input is also tried as a static route. Invariants abort on violation.
#include <ares.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/dns/target_selection.hpp"

namespace {

using namespace fedgw::dns;
using fedgw::Result;

void check_targets(const Result<std::vector<Target>, SelectionError>& r,
                   const SelectionLimits& limits) {
    if (!r) {
        if (r.error().describe().empty()) std::abort();
        return;
    }
    if (r->empty() || r->size() > limits.max_targets) std::abort();
    for (const auto& t : *r)
        if (t.port == 0 || !is_plausible_host(t.host)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<SrvRecord> records;
    ares_srv_reply* srv = nullptr;
    int len = size > INT_MAX ? INT_MAX : static_cast<int>(size);
    if (ares_parse_srv_reply(data, len, &srv) == ARES_SUCCESS) {
        for (auto* p = srv; p; p = p->next)
            records.push_back(SrvRecord{p->host ? p->host : "", p->port, p->priority, p->weight});
        ares_free_data(srv);
    }

    std::size_t pos = 0;
    RandomSource random = [&](std::uint32_t bound) {
        std::uint32_t v = 0;
        for (int i = 0; i < 4 && size > 0; ++i)
            v = (v << 8) | data[pos++ % size];
        return v % bound;
    };

    // order_srv keeps the usable records, each once, in non-decreasing priority.
    auto ordered = order_srv(records, random);
    if (ordered.size() > records.size()) std::abort();
    for (std::size_t i = 1; i < ordered.size(); ++i)
        if (ordered[i - 1].priority > ordered[i].priority) std::abort();

    SelectionLimits limits;
    limits.max_targets = 8;
    const auto found = SrvAnswer::found(records);
    const SrvAnswer others[] = {SrvAnswer::not_found(), SrvAnswer::failed(), found};
    for (const auto& other : others) {
        check_targets(select_targets("example.org", found, other, random, limits), limits);
        check_targets(select_targets("example.org", other, found, random, limits), limits);
    }

    auto route = parse_static_route(
        std::string_view(reinterpret_cast<const char*>(data), size > 300 ? 300 : size));
    if (route && route->port == 0) std::abort();
    return 0;
}
