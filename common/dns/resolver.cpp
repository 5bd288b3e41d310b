// Loop-bound: the Resolver's lookups — SRV, addresses, and the find_xmpp_server() sequence
// (both SRV queries, select_targets(), then the addresses of every target). See resolver.hpp for
// the lifetime rules and target_selection.hpp for the ordering rules.
#include "common/dns/resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>
#include <utility>

#include "common/dns/resolver_internal.hpp"
#include "common/log/log.hpp"

namespace fedgw::dns {

namespace {

constexpr int kClassIn = 1;   // RFC 1035 §3.2.4
constexpr int kTypeSrv = 33;  // RFC 2782
constexpr int kSlotXmpps = 0;
constexpr int kSlotXmpp = 1;
constexpr int kSlotFirstHost = 2;

std::string strip_dot(std::string_view s) {
    if (s.size() > 1 && s.back() == '.') s.remove_suffix(1);
    return std::string(s);
}

// DNS names compare case-insensitively (RFC 4343), in ASCII only.
bool same_host(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

Result<std::vector<SrvRecord>, DnsError> parse_srv(int status, const unsigned char* buf, int len,
                                                   const std::string& name, std::size_t max) {
    if (status != ARES_SUCCESS) return Unexpected(from_ares(status, name));
    ares_srv_reply* srv = nullptr;
    int rc = ares_parse_srv_reply(buf, len, &srv);
    if (rc != ARES_SUCCESS) return Unexpected(from_ares(rc, name));
    std::vector<SrvRecord> out;
    for (auto* p = srv; p && out.size() < max; p = p->next)
        out.push_back(SrvRecord{p->host ? p->host : "", p->port, p->priority, p->weight});
    ares_free_data(srv);
    if (out.empty()) return dns_fail(DnsErrorKind::NotFound, name + ": no SRV records");
    return out;
}

Result<std::vector<IpAddress>, DnsError> convert_addresses(int status, ares_addrinfo* res,
                                                           const std::string& host,
                                                           std::size_t max) {
    std::unique_ptr<ares_addrinfo, void (*)(ares_addrinfo*)> guard(res, ares_freeaddrinfo);
    if (status != ARES_SUCCESS) return Unexpected(from_ares(status, host));
    std::vector<IpAddress> all;
    for (auto* n = res ? res->nodes : nullptr; n; n = n->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        if (n->ai_family == AF_INET && n->ai_addr) {
            const auto* sin = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
            if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text))
                all.push_back(IpAddress{AddressFamily::V4, text});
        } else if (n->ai_family == AF_INET6 && n->ai_addr) {
            const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
            if (inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text))
                all.push_back(IpAddress{AddressFamily::V6, text});
        }
    }
    auto ordered = order_addresses(all, max);
    if (ordered.empty()) return dns_fail(DnsErrorKind::NotFound, host + ": no A or AAAA records");
    return ordered;
}

}  // namespace

// ---- public lookups -------------------------------------------------------------------------

Request Resolver::resolve_srv(std::string_view name, SrvCallback callback) {
    assert(!closed_);
    if (closed_) return Request();
    auto op = std::make_unique<Op>();
    op->kind = Op::Kind::Srv;
    op->name = strip_dot(name);
    op->srv_cb = std::move(callback);
    bool busy = ops_.size() >= options_.max_pending;
    bool bad = !is_plausible_host(op->name);
    std::string n = op->name;
    std::uint64_t id = add_op(std::move(op));
    Request req = make_request(id);
    if (busy || bad) {
        auto& cb = find_op(id)->srv_cb;
        DnsError e = busy ? DnsError{DnsErrorKind::Busy, n + ": too many DNS lookups in flight"}
                          : DnsError{DnsErrorKind::BadName, "'" + n + "' is not a DNS name"};
        complete(id, [cb = std::move(cb), e]() { cb(Unexpected(e)); });
        return req;
    }
    start_srv(id, 0, n);
    return req;
}

Request Resolver::resolve_addresses(std::string_view host, AddressCallback callback) {
    assert(!closed_);
    if (closed_) return Request();
    auto op = std::make_unique<Op>();
    op->kind = Op::Kind::Addresses;
    op->name = strip_dot(host);
    op->address_cb = std::move(callback);
    bool busy = ops_.size() >= options_.max_pending;
    IpAddress probe{op->name.find(':') == std::string::npos ? AddressFamily::V4 : AddressFamily::V6,
                    op->name};
    sockaddr_storage ss;
    bool bad = !is_plausible_host(op->name) && !to_sockaddr(probe, 0, &ss);
    std::string n = op->name;
    std::uint64_t id = add_op(std::move(op));
    Request req = make_request(id);
    if (busy || bad) {
        auto& cb = find_op(id)->address_cb;
        DnsError e = busy ? DnsError{DnsErrorKind::Busy, n + ": too many DNS lookups in flight"}
                          : DnsError{DnsErrorKind::BadName, "'" + n + "' is not a host name"};
        complete(id, [cb = std::move(cb), e]() { cb(Unexpected(e)); });
        return req;
    }
    start_addresses(id, 0, n);
    return req;
}

Request Resolver::find_xmpp_server(std::string_view domain, std::string_view static_route,
                                   ServerCallback callback) {
    assert(!closed_);
    if (closed_) return Request();
    auto owned = std::make_unique<Op>();
    owned->kind = Op::Kind::Server;
    owned->name = strip_dot(domain);
    owned->server_cb = std::move(callback);
    bool busy = ops_.size() >= options_.max_pending;
    std::uint64_t id = add_op(std::move(owned));
    Request req = make_request(id);
    Op& op = *find_op(id);
    auto fail_now = [&](DnsError e) {
        complete(id, [cb = std::move(op.server_cb), e = std::move(e)]() { cb(Unexpected(e)); });
    };
    if (busy) {
        fail_now(DnsError{DnsErrorKind::Busy, op.name + ": too many DNS lookups in flight"});
        return req;
    }
    if (!is_plausible_host(op.name)) {
        fail_now(DnsError{DnsErrorKind::BadName, "'" + op.name + "' is not a domain name"});
        return req;
    }
    if (!static_route.empty()) {
        auto t = parse_static_route(static_route);
        if (!t) {
            fail_now(DnsError{DnsErrorKind::BadName, t.error().text});
            return req;
        }
        start_address_phase(op, std::vector<Target>{std::move(*t)});
        return req;
    }
    op.waiting = 2;
    start_srv(id, kSlotXmpps, std::string(kXmppsServerService) + op.name);
    start_srv(id, kSlotXmpp, std::string(kXmppServerService) + op.name);
    return req;
}

// ---- c-ares queries and their results -------------------------------------------------------

void Resolver::start_srv(std::uint64_t op, int slot, const std::string& name) {
    auto* q = new Query{this, op, slot, name};
    ares_query(channel_, name.c_str(), kClassIn, kTypeSrv, &Resolver::srv_cb, q);
    arm_timer();
}

void Resolver::start_addresses(std::uint64_t op, int slot, const std::string& host) {
    auto* q = new Query{this, op, slot, host};
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;      // A and AAAA
    hints.ai_flags = ARES_AI_NOSORT;  // order_addresses() decides the order
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &Resolver::addrinfo_cb, q);
    arm_timer();
}

void Resolver::srv_cb(void* arg, int status, int, unsigned char* buf, int len) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    q->resolver->on_srv(q->op, q->slot, status, buf, len);
}

void Resolver::addrinfo_cb(void* arg, int status, int, ares_addrinfo* res) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        ares_freeaddrinfo(res);
        return;
    }
    q->resolver->on_addresses(q->op, q->slot, status, res);
}

void Resolver::on_srv(std::uint64_t id, int slot, int status, const unsigned char* buf, int len) {
    Op* op = find_op(id);
    if (!op || op->deliver) return;  // withdrawn
    std::string name =
        op->kind == Op::Kind::Srv
            ? op->name
            : std::string(slot == kSlotXmpps ? kXmppsServerService : kXmppServerService) + op->name;
    auto r = parse_srv(status, buf, len, name, options_.limits.max_records_per_service);
    if (op->kind == Op::Kind::Srv) {
        complete(id,
                 [cb = std::move(op->srv_cb), r = std::move(r)]() mutable { cb(std::move(r)); });
        return;
    }
    if (r)
        op->answers[slot] = SrvAnswer::found(std::move(*r));
    else if (r.error().kind == DnsErrorKind::NotFound)
        op->answers[slot] = SrvAnswer::not_found();
    else {
        op->answers[slot] = SrvAnswer::failed();
        op->srv_errors[slot] = r.error();
        log::debug("dns.srv_failed", {{"name", name}, {"error", r.error().describe()}});
    }
    if (--op->waiting == 0) server_srv_done(*op);
}

void Resolver::server_srv_done(Op& op) {
    auto sel = select_targets(op.name, op.answers[kSlotXmpps], op.answers[kSlotXmpp], random_,
                              options_.limits);
    if (sel) {
        start_address_phase(op, std::move(*sel));
        return;
    }
    DnsError e{DnsErrorKind::NoService, sel.error().text};
    if (sel.error().kind == SelectionErrorKind::LookupFailed && op.srv_errors[kSlotXmpp])
        e = *op.srv_errors[kSlotXmpp];
    else if (sel.error().kind == SelectionErrorKind::LookupFailed)
        e.kind = DnsErrorKind::Internal;
    complete(op.id, [cb = std::move(op.server_cb), e = std::move(e)]() { cb(Unexpected(e)); });
}

void Resolver::start_address_phase(Op& op, std::vector<Target> targets) {
    op.targets = std::move(targets);
    for (const auto& t : op.targets)
        if (std::none_of(op.hosts.begin(), op.hosts.end(),
                         [&](const std::string& h) { return same_host(h, t.host); }))
            op.hosts.push_back(t.host);
    op.host_results.assign(op.hosts.size(), std::nullopt);
    op.waiting = static_cast<int>(op.hosts.size());
    // Copy: a lookup that completes at once (numeric host) must not see the vector move.
    std::vector<std::string> hosts = op.hosts;
    std::uint64_t id = op.id;
    for (std::size_t k = 0; k < hosts.size(); ++k)
        start_addresses(id, kSlotFirstHost + static_cast<int>(k), hosts[k]);
}

void Resolver::on_addresses(std::uint64_t id, int slot, int status, ares_addrinfo* res) {
    Op* op = find_op(id);
    std::string host = !op                               ? std::string()
                       : op->kind == Op::Kind::Addresses ? op->name
                                                         : op->hosts.at(slot - kSlotFirstHost);
    auto r = convert_addresses(status, res, host, options_.limits.max_addresses_per_target);
    if (!op || op->deliver) return;
    if (op->kind == Op::Kind::Addresses) {
        complete(
            id, [cb = std::move(op->address_cb), r = std::move(r)]() mutable { cb(std::move(r)); });
        return;
    }
    if (!r) log::debug("dns.address_failed", {{"host", host}, {"error", r.error().describe()}});
    op->host_results[slot - kSlotFirstHost] = std::move(r);
    if (--op->waiting == 0) server_addresses_done(*op);
}

void Resolver::server_addresses_done(Op& op) {
    std::vector<Endpoint> out;
    std::optional<DnsError> hard, not_found;
    for (const auto& t : op.targets) {
        std::size_t k = 0;
        while (!same_host(op.hosts[k], t.host))
            ++k;
        const auto& r = *op.host_results[k];
        if (r) {
            for (const auto& a : *r)
                out.push_back(Endpoint{a, t.port, t.direct_tls, t.host, op.name});
        } else if (r.error().kind == DnsErrorKind::NotFound) {
            if (!not_found) not_found = r.error();
        } else if (!hard) {
            hard = r.error();
        }
    }
    if (!out.empty()) {
        log::debug("dns.server_found",
                   {{"domain", op.name}, {"endpoints", out.size()}, {"first", out[0].target_host}});
        complete(op.id, [cb = std::move(op.server_cb), out = std::move(out)]() mutable {
            cb(std::move(out));
        });
        return;
    }
    DnsError e = hard ? *hard : *not_found;
    if (!hard) {
        std::string list;
        for (const auto& h : op.hosts)
            list += (list.empty() ? "" : ", ") + h;
        e.text = op.name + ": no address for " + list;
    }
    complete(op.id, [cb = std::move(op.server_cb), e = std::move(e)]() { cb(Unexpected(e)); });
}

}  // namespace fedgw::dns
