// Pure: SRV ordering (RFC 2782), XMPP target selection (RFC 6120 §3.2, XEP-0368) and address
// ordering. See target_selection.hpp for the rules and the decision table.
#include "common/dns/target_selection.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace fedgw::dns {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view strip_trailing_dot(std::string_view s) {
    if (s.size() > 1 && s.back() == '.') s.remove_suffix(1);
    return s;
}

bool names_nothing(std::string_view target) {
    return target.empty() || target == ".";
}

// RFC 2782 weighted order of records that all share one priority.
void append_weighted(std::vector<SrvRecord> group, const RandomSource& random,
                     std::vector<SrvRecord>& out) {
    // "all those with weight 0 are placed at the beginning of the list"
    std::stable_partition(group.begin(), group.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!group.empty()) {
        std::uint32_t sum = 0;
        for (const auto& r : group)
            sum += r.weight;
        // "choose a uniform random number between 0 and the sum computed (inclusive)"
        std::uint32_t pick = random ? random(sum + 1) : 0;
        if (pick > sum) pick = sum;  // a misbehaving source must not run off the end
        std::uint32_t running = 0;
        std::size_t chosen = group.size() - 1;
        for (std::size_t i = 0; i < group.size(); ++i) {
            running += group[i].weight;
            if (running >= pick) {
                chosen = i;
                break;
            }
        }
        out.push_back(std::move(group[chosen]));
        group.erase(group.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
}

Unexpected<SelectionError> fail(SelectionErrorKind k, std::string text) {
    return Unexpected(SelectionError{k, std::move(text)});
}

bool has_records(const SrvAnswer& a) {
    return a.status == SrvStatus::Found && !a.records.empty();
}

bool is_plausible_v6(std::string_view h) {
    if (h.size() < 2 || h.size() > 45) return false;
    return h.find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos &&
           h.find(':') != std::string_view::npos;
}

}  // namespace

std::string_view selection_error_name(SelectionErrorKind k) {
    switch (k) {
        case SelectionErrorKind::NoService:
            return "no-service";
        case SelectionErrorKind::LookupFailed:
            return "lookup-failed";
        case SelectionErrorKind::BadStaticRoute:
            return "bad-static-route";
    }
    return "unknown";
}

std::string SelectionError::describe() const {
    std::string s(selection_error_name(kind));
    if (!text.empty()) {
        s += ": ";
        s += text;
    }
    return s;
}

bool is_plausible_host(std::string_view h) {
    if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-') return false;
    std::size_t label = 0;
    for (char c : h) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (!ok) return false;
        if (c == '.') {
            if (label == 0) return false;  // empty label
            label = 0;
        } else if (++label > 63) {
            return false;
        }
    }
    return label > 0;
}

bool is_no_service(const std::vector<SrvRecord>& records) {
    return records.size() == 1 && names_nothing(records.front().target);
}

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, const RandomSource& random,
                                 std::size_t max_records) {
    // A DNS message carries at most 65535 records; the cap keeps the weight sum in 32 bits.
    max_records = std::min<std::size_t>(max_records, 65535);
    std::vector<SrvRecord> usable;
    usable.reserve(std::min(records.size(), max_records));
    for (auto& r : records) {
        if (usable.size() >= max_records) break;
        std::string_view t = strip_trailing_dot(r.target);
        if (names_nothing(t) || r.port == 0 || !is_plausible_host(t)) continue;
        r.target = std::string(t);
        usable.push_back(std::move(r));
    }
    std::stable_sort(usable.begin(), usable.end(), [](const SrvRecord& a, const SrvRecord& b) {
        return a.priority < b.priority;
    });
    std::vector<SrvRecord> out;
    out.reserve(usable.size());
    for (std::size_t i = 0; i < usable.size();) {
        std::size_t j = i;
        while (j < usable.size() && usable[j].priority == usable[i].priority)
            ++j;
        append_weighted(std::vector<SrvRecord>(std::make_move_iterator(usable.begin() + i),
                                               std::make_move_iterator(usable.begin() + j)),
                        random, out);
        i = j;
    }
    return out;
}

Result<std::vector<Target>, SelectionError> select_targets(std::string_view domain,
                                                           const SrvAnswer& xmpps,
                                                           const SrvAnswer& xmpp,
                                                           const RandomSource& random,
                                                           const SelectionLimits& limits) {
    const std::string dom(strip_trailing_dot(domain));
    const bool xmpps_has = has_records(xmpps);
    const bool xmpp_has = has_records(xmpp);

    if (xmpp.status == SrvStatus::Failed && !xmpps_has)
        return fail(SelectionErrorKind::LookupFailed,
                    "the " + std::string(kXmppServerService) + dom + " lookup failed");

    // RFC 6120 §3.2.2: no SRV at all (an xmpps failure counts as absent).
    if (!xmpps_has && !xmpp_has && xmpp.status != SrvStatus::Failed) {
        if (dom.empty() || dom == ".") return fail(SelectionErrorKind::NoService, "empty domain");
        return std::vector<Target>{Target{dom, kXmppServerPort, false}};
    }

    std::vector<SrvRecord> tls, plain;
    if (xmpps_has && !is_no_service(xmpps.records))
        tls = order_srv(xmpps.records, random, limits.max_records_per_service);
    if (xmpp_has && !is_no_service(xmpp.records))
        plain = order_srv(xmpp.records, random, limits.max_records_per_service);

    // Merge by priority; at equal priority the direct-TLS records go first (see the header).
    std::vector<Target> out;
    auto add = [&](const SrvRecord& r, bool direct_tls) {
        if (out.size() >= limits.max_targets) return;
        for (const auto& t : out)
            if (t.port == r.port && t.direct_tls == direct_tls && iequals(t.host, r.target)) return;
        out.push_back(Target{r.target, r.port, direct_tls});
    };
    std::size_t i = 0, j = 0;
    while (i < tls.size() || j < plain.size()) {
        if (j == plain.size() || (i < tls.size() && tls[i].priority <= plain[j].priority))
            add(tls[i++], true);
        else
            add(plain[j++], false);
    }
    if (out.empty() && xmpp.status == SrvStatus::Failed)
        return fail(SelectionErrorKind::LookupFailed,
                    "the " + std::string(kXmppServerService) + dom + " lookup failed");
    if (out.empty())
        return fail(SelectionErrorKind::NoService,
                    dom + " publishes SRV records but none names a server (service not offered)");
    return out;
}

Result<Target, SelectionError> parse_static_route(std::string_view route) {
    auto bad = [&](std::string_view why) {
        return fail(SelectionErrorKind::BadStaticRoute,
                    "static route '" + std::string(route) + "': " + std::string(why));
    };
    std::string_view host, port;
    if (!route.empty() && route.front() == '[') {
        auto close = route.find(']');
        if (close == std::string_view::npos) return bad("missing ']'");
        host = route.substr(1, close - 1);
        std::string_view rest = route.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return bad("expected ':' after ']'");
            port = rest.substr(1);
            if (port.empty()) return bad("empty port");
        }
        if (!is_plausible_v6(host)) return bad("not an IPv6 address inside brackets");
    } else {
        auto colon = route.find(':');
        if (colon != std::string_view::npos && route.find(':', colon + 1) != std::string_view::npos)
            return bad("write an IPv6 address in brackets, e.g. [2001:db8::1]:5269");
        host = route.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = route.substr(colon + 1);
            if (port.empty()) return bad("empty port");
        }
        host = strip_trailing_dot(host);
        if (!is_plausible_host(host)) return bad("not a host name or IPv4 address");
    }
    Target t{std::string(host), kXmppServerPort, false};
    if (!port.empty()) {
        unsigned n = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc() || p != port.data() + port.size() || n < 1 || n > 65535)
            return bad("port must be 1-65535");
        t.port = static_cast<std::uint16_t>(n);
    }
    return t;
}

std::vector<IpAddress> order_addresses(const std::vector<IpAddress>& addresses, std::size_t max) {
    std::vector<const IpAddress*> v6, v4;
    auto seen = [](const std::vector<const IpAddress*>& list, const IpAddress& a) {
        return std::any_of(list.begin(), list.end(), [&](const IpAddress* p) { return *p == a; });
    };
    for (const auto& a : addresses) {
        auto& list = a.family == AddressFamily::V6 ? v6 : v4;
        if (!seen(list, a)) list.push_back(&a);
    }
    std::vector<IpAddress> out;
    for (std::size_t i = 0; out.size() < max && (i < v6.size() || i < v4.size()); ++i) {
        if (i < v6.size()) out.push_back(*v6[i]);
        if (i < v4.size() && out.size() < max) out.push_back(*v4[i]);
    }
    return out;
}

}  // namespace fedgw::dns
