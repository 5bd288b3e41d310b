// Router, outbound half: routes per (local, remote) domain pair — DNS (RFC 6120 §3.2), the
// connection attempts in order, the bounded queue, dialback verifications riding the route's
// stream (XEP-0220 §2.1.2) — and bounces (RFC 6120 §8.3). See router.hpp.
//
// Loop-bound.
#include "common/jid/jid.hpp"
#include "common/log/log.hpp"
#include "common/xml/fragment.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "proxy/s2s/outbound_bounce.hpp"
#include "proxy/server/router.hpp"

namespace fedgw::proxy {
namespace {

std::string domain_of(std::string_view jid) {
    auto j = Jid::parse(jid);
    return j ? std::string(j->domainpart()) : std::string();
}

}  // namespace

Router::Route& Router::route(const std::string& local, const std::string& remote) {
    auto it = routes_.find({local, remote});
    if (it == routes_.end())
        it = routes_.emplace(PairKey{local, remote}, Route(options_.queue_limits)).first;
    return it->second;
}

std::optional<Router::PairKey> Router::route_of(std::uint64_t conn_id) const {
    for (const auto& [key, r] : routes_)
        if (r.conn == conn_id) return key;
    return std::nullopt;
}

void Router::from_gateway(link::StanzaFrame frame) {
    auto el = parse_fragment(frame.xml, kNsServer, options_.limits);
    if (!el) {
        log::warn("proxy.bad_gateway_stanza", {{"reason", el.error().describe()}});
        return;  // nothing to bounce to: the gateway sent garbage
    }
    std::unique_ptr<Element> stanza = std::move(*el);
    std::string from = domain_of(stanza->attr_or("from", ""));
    std::string to = domain_of(stanza->attr_or("to", ""));
    if (!is_local_domain(from)) {
        log::warn("proxy.bad_gateway_stanza",
                  {{"reason", "from is not one of our domains"}, {"from", from}});
        bounce_to_gateway(*stanza, StanzaError::of(StanzaCondition::NotAllowed,
                                                   "the sender's domain is not served here"));
        return;
    }
    if (to.empty()) {
        bounce_to_gateway(*stanza, StanzaError::of(StanzaCondition::JidMalformed, "bad 'to'"));
        return;
    }
    auto adm = admit(to);
    if (!adm.admitted()) {
        log::info("s2s.refused_outbound", {{"domain", to}, {"rule", registry::name(*adm.refusal)}});
        bounce_to_gateway(*stanza,
                          StanzaError::of(StanzaCondition::NotAllowed,
                                          to + " is not a federation partner (" +
                                              std::string(registry::name(*adm.refusal)) + ")"));
        return;
    }
    route_to_partner(from, to, std::move(stanza));
}

void Router::route_to_partner(const std::string& local, const std::string& remote,
                              std::unique_ptr<Element> stanza) {
    Route& r = route(local, remote);
    if (r.state == RouteState::Ready && r.conn) {
        if (auto* c = find(*r.conn); c && c->outbound()) {
            if (c->is_congested()) {
                // The partner reads slower than the gateway sends: our write queue is above
                // its high watermark. Refuse rather than buffer without bound (RFC 6120 §8.3).
                log::warn("s2s.partner_congested",
                          {{"conn", *r.conn},
                           {"remote", remote},
                           {"write_queue_bytes", c->stats().write_queue_bytes}});
                bounce_to_gateway(
                    *stanza, StanzaError::of(StanzaCondition::ResourceConstraint,
                                             remote + " is not accepting stanzas fast enough"));
                return;
            }
            if (auto sent = c->outbound()->send(*stanza); !sent) {
                log::warn(
                    "s2s.send_refused",
                    {{"remote", remote}, {"conn", *r.conn}, {"reason", describe(sent.error())}});
                bounce_to_gateway(*stanza,
                                  StanzaError::of(sent.error() == SendError::TooLarge
                                                      ? StanzaCondition::PolicyViolation
                                                      : StanzaCondition::ServiceUnavailable,
                                                  "the stream to " + remote + " refused it: " +
                                                      std::string(describe(sent.error()))));
            }
            c->pump();
            return;
        }
    }
    if (!r.queue.push(stanza)) {
        // The queue for this partner is full: the sender learns it now (RFC 6120 §8.3).
        if (stanza) {
            log::warn("s2s.queue_full",
                      {{"local", local}, {"remote", remote}, {"queued", r.queue.size()}});
            bounce_to_gateway(*stanza, StanzaError::of(StanzaCondition::ResourceConstraint,
                                                       "too many stanzas waiting for " + remote));
        }
        return;
    }
    if (r.state == RouteState::Idle) open_route({local, remote});
}

void Router::open_route(const PairKey& key) {
    Route& r = routes_.at(key);
    if (r.state != RouteState::Idle || shutting_down_) return;
    const auto* p = policy_.find_partner(key.second);
    std::string static_route = p ? p->static_route : std::string();
    r.state = RouteState::Resolving;
    r.endpoints.clear();
    r.next_endpoint = 0;
    log::info("s2s.resolving",
              {{"local", key.first}, {"remote", key.second}, {"static_route", static_route}});
    r.lookup = options_.resolver->find_xmpp_server(
        key.second, static_route,
        [this, key](Result<std::vector<dns::Endpoint>, dns::DnsError> res) {
            resolved(key, std::move(res));
        });
}

void Router::resolved(const PairKey& key, Result<std::vector<dns::Endpoint>, dns::DnsError> res) {
    auto it = routes_.find(key);
    if (it == routes_.end()) return;
    Route& r = it->second;
    r.lookup.reset();
    if (!res || res->empty()) {
        std::string why = res ? "no address" : res.error().describe();
        log::warn("s2s.resolve_failed", {{"remote", key.second}, {"reason", why}});
        r.state = RouteState::Idle;
        route_failed(key,
                     (!res && res.error().kind == dns::DnsErrorKind::Timeout)
                         ? StanzaCondition::RemoteServerTimeout
                         : StanzaCondition::RemoteServerNotFound,
                     why);
        return;
    }
    r.endpoints = std::move(*res);
    r.next_endpoint = 0;
    connect_next(key);
}

void Router::connect_next(const PairKey& key) {
    Route& r = routes_.at(key);
    // XEP-0368 direct TLS endpoints are for partners that may use TLS at all.
    const auto* known = policy_.find_partner(key.second);
    if (known && !known->offers_tls())
        while (r.next_endpoint < r.endpoints.size() && r.endpoints[r.next_endpoint].direct_tls)
            ++r.next_endpoint;
    if (r.next_endpoint >= r.endpoints.size()) {
        r.state = RouteState::Idle;
        route_failed(key, StanzaCondition::RemoteServerNotFound,
                     "no endpoint accepted a connection");
        return;
    }
    const dns::Endpoint& ep = r.endpoints[r.next_endpoint++];
    sockaddr_storage ss{};
    if (!dns::to_sockaddr(ep.address, ep.port, &ss)) {
        connect_next(key);
        return;
    }
    const auto* p = policy_.find_partner(key.second);
    registry::Partner partner = p ? *p : registry::discovered_partner(key.second);
    std::uint64_t id = next_id_++;
    auto conn = std::make_unique<S2sConnection>(loop_, *this, id, Direction::Outbound);
    S2sConnection* c = conn.get();
    conns_.emplace(id, std::move(conn));
    r.conn = id;
    r.state = RouteState::Connecting;
    log::info("s2s.connecting", {{"conn", id},
                                 {"local", key.first},
                                 {"remote", key.second},
                                 {"address", ep.address.text},
                                 {"port", ep.port},
                                 {"direct_tls", ep.direct_tls}});
    OutboundOptions o;
    o.local_domain = key.first;
    o.remote_domain = key.second;
    o.partner = partner;
    o.have_certificate = client_tls(key.first, false) != nullptr;
    // XEP-0368: TLS from the first byte, SNI the partner's domain, ALPN "xmpp-server" (the
    // direct client context offers it).
    o.direct_tls = ep.direct_tls;
    auto core = std::make_unique<OutboundStream>(o, keys_, timers_for(&partner), options_.limits);
    flush_verifies(r, *core, key);
    c->start_outbound(std::move(core), reinterpret_cast<const sockaddr*>(&ss), key.first,
                      key.second, options_.connect_timeout_ms, o.direct_tls);
}

void Router::flush_verifies(Route& r, OutboundStream& out, const PairKey& key) {
    for (auto& v : r.verifies) {
        if (v.sent) continue;
        out.send_verify(key.first, key.second, v.stream_id, v.key, uv_now(loop_));
        v.sent = true;
    }
    if (r.conn)
        if (auto* c = find(*r.conn)) c->pump();
}

void Router::route_ready(const PairKey& key) {
    Route& r = routes_.at(key);
    r.state = RouteState::Ready;
    S2sConnection* c = r.conn ? find(*r.conn) : nullptr;
    if (!c || !c->outbound()) return;
    for (auto& stanza : r.queue.drain())
        if (auto sent = c->outbound()->send(*stanza); !sent)
            bounce_to_gateway(*stanza, StanzaError::of(StanzaCondition::PolicyViolation,
                                                       "the partner's stream refused the stanza"));
    c->pump();
}

void Router::route_failed(const PairKey& key, StanzaCondition condition, std::string_view why) {
    Route& r = routes_.at(key);
    auto failed = r.queue.fail();
    log::warn("s2s.route_failed", {{"local", key.first},
                                   {"remote", key.second},
                                   {"condition", wire_name(condition)},
                                   {"reason", why},
                                   {"bounced", failed.size()}});
    for (auto& stanza : failed)
        bounce_to_gateway(*stanza, StanzaError::of(condition, std::string(why)));
    for (auto& v : r.verifies) {
        if (auto* in = find(v.inbound_conn); in && in->inbound()) {
            in->inbound()->on_key_unverifiable(key.first, key.second, condition);
            in->pump();
        }
    }
    r.verifies.clear();
}

void Router::bounce_to_gateway(const Element& stanza, StanzaError error) {
    std::string by = domain_of(stanza.attr_or("from", ""));
    auto b = make_bounce(stanza, std::move(error), by);
    if (!b) return;  // an error or a result is never bounced (no loops)
    link::StanzaFrame f;
    f.seq = next_seq_++;
    f.partner = domain_of(stanza.attr_or("to", ""));
    if (const auto* p = policy_.find_partner(f.partner))
        f.partner_type = std::string(registry::name(p->type));
    f.local = by;
    f.xml = serialize(**b, kNsServer);
    if (!options_.to_gateway || options_.to_gateway(f) != GatewaySend::Sent)
        log::warn("proxy.bounce_lost",
                  {{"to", stanza.attr_or("from", "")}, {"reason", "gateway link down"}});
}

void Router::bounce_to_partner(const std::string& local, const std::string& remote,
                               const Element& stanza, StanzaError error) {
    auto b = make_bounce(stanza, std::move(error), local);
    if (!b) return;
    if (shutting_down_) {
        // No stream can be opened any more to carry it.
        log::warn("proxy.bounce_lost",
                  {{"to", stanza.attr_or("from", "")}, {"reason", "the proxy is shutting down"}});
        return;
    }
    route_to_partner(local, remote, std::move(*b));
}

}  // namespace fedgw::proxy
