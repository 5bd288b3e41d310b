#include "proxy/server/router.hpp"

#include <openssl/rand.h>

#include "common/jid/jid.hpp"
#include "common/log/log.hpp"
#include "common/xml/fragment.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "proxy/s2s/outbound_bounce.hpp"

namespace fedgw::proxy {
namespace {

std::string domain_of(std::string_view jid) {
    auto j = Jid::parse(jid);
    return j ? std::string(j->domainpart()) : std::string();
}

const char* state_name(int s) {
    static const char* kNames[] = {"idle", "resolving", "connecting", "ready"};
    return kNames[s];
}

}  // namespace

Router::Router(uv_loop_t* loop, RouterOptions options, registry::Policy policy)
    : loop_(loop),
      options_(std::move(options)),
      policy_(std::move(policy)),
      keys_(policy_.settings.dialback_secret),
      reap_(new uv_timer_t) {
    uv_timer_init(loop_, reap_);
    reap_->data = this;
}

Router::~Router() {
    // shutdown() ran and every connection finished; only the reap timer is left.
    reap_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(reap_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

bool Router::is_local_domain(std::string_view domain) const {
    return options_.local_domains.count(std::string(domain)) != 0;
}

registry::Admission Router::admit(std::string_view remote_domain) const {
    return policy_.admit(remote_domain);
}

const TlsContext* Router::server_tls(std::string_view local_domain) const {
    auto it = options_.server_tls.find(std::string(local_domain));
    if (it != options_.server_tls.end()) return it->second;
    // The core checked the header's 'to' before asking for TLS; any context still has SNI.
    return options_.server_tls.empty() ? nullptr : options_.server_tls.begin()->second;
}

const TlsContext* Router::client_tls(std::string_view local_domain) const {
    auto it = options_.client_tls.find(std::string(local_domain));
    return it == options_.client_tls.end() ? nullptr : it->second;
}

S2sConnection* Router::find(std::uint64_t id) const {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
}

std::string Router::new_stream_id() {
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        // Unpredictability matters for dialback; without randomness refuse to make ids that
        // look random. The counter keeps ids unique; log loudly.
        log::error("proxy.random_failed", {});
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char c : raw) {
        id += kHex[c >> 4];
        id += kHex[c & 0xf];
    }
    id += '-' + std::to_string(++stream_counter_);
    return id;
}

StreamTimers Router::timers_for(const registry::Partner* p) const {
    const auto& s = policy_.settings;
    StreamTimers t;
    t.establishment_ms = std::uint64_t{s.stream_establishment_timeout_s} * 1000;
    t.inactivity_ms = std::uint64_t{s.stream_inactivity_timeout_s} * 1000;
    t.keepalive_ms = (p && !p->keepalive) ? 0 : std::uint64_t{s.keepalive_interval_s} * 1000;
    t.dialback_ms = options_.dialback_timeout_ms;
    return t;
}

// ---- inbound ------------------------------------------------------------------------------

void Router::accept(uv_stream_t* listener) {
    std::uint64_t id = next_id_++;
    auto conn = std::make_unique<S2sConnection>(loop_, *this, id, Direction::Inbound);
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(conn->tcp())) != 0) {
        conns_.emplace(id, std::move(conn));
        conns_[id]->shutdown();
        return;
    }
    S2sConnection* c = conn.get();
    conns_.emplace(id, std::move(conn));
    if (shutting_down_ || conns_.size() > policy_.settings.total_connection_limit) {
        log::warn("s2s.limit", {{"conn", id}, {"rule", shutting_down_ ? "shutting-down"
                                                                      : "total-connection-limit"},
                                {"limit", policy_.settings.total_connection_limit}});
        c->shutdown();
        return;
    }
    InboundStream::Options o;
    o.rate.per_second = policy_.settings.stanza_rate_per_s;
    auto core = std::make_unique<InboundStream>(*this, keys_, timers_for(nullptr), options_.limits,
                                                [this] { return new_stream_id(); }, o);
    c->start_inbound(std::move(core));
    if (inbound_paused_) c->pause_reading();
}

void Router::deliver(std::uint64_t conn_id, DeliverStanza& d) {
    link::StanzaFrame f;
    f.seq = next_seq_++;
    f.partner = d.partner;
    f.partner_type = std::string(registry::name(d.partner_type));
    f.auth = d.auth;
    f.local = d.to_domain;
    f.xml = serialize(*d.stanza, kNsServer);
    GatewaySend sent = options_.to_gateway ? options_.to_gateway(f) : GatewaySend::Down;
    if (sent == GatewaySend::Sent) return;
    if (sent == GatewaySend::Full && waiting_.size() < options_.max_waiting_for_credit) {
        // Backpressure: hold this one, stop reading partners until the gateway grants credit.
        waiting_.emplace_back(std::move(f), std::move(d.stanza));
        if (!inbound_paused_)
            log::debug("proxy.gateway_backpressure", {{"held", waiting_.size()},
                                                      {"action", "pause partners"}});
        pause_inbound(true);
        return;
    }
    // RFC 6120 §8.3: the sender learns why; nothing is dropped silently.
    log::warn("proxy.gateway_unavailable", {{"conn", conn_id}, {"from", d.from_domain},
                                            {"to", d.to_domain},
                                            {"why", sent == GatewaySend::Full ? "no credit" : "link down"}});
    bounce_to_partner(d.to_domain, d.from_domain, *d.stanza,
                      StanzaError::of(StanzaCondition::ServiceUnavailable,
                                      "the gateway to the SIP service is not reachable"));
}

void Router::pause_inbound(bool pause) {
    if (inbound_paused_ == pause) return;
    inbound_paused_ = pause;
    for (auto& [id, c] : conns_) {
        if (c->direction() != Direction::Inbound) continue;
        if (pause) c->pause_reading();
        else c->resume_reading();
    }
}

void Router::gateway_writable() {
    while (!waiting_.empty()) {
        auto& [frame, stanza] = waiting_.front();
        GatewaySend sent = options_.to_gateway ? options_.to_gateway(frame) : GatewaySend::Down;
        if (sent == GatewaySend::Full) return;  // still no credit: stay paused
        if (sent == GatewaySend::Down) {
            std::string local = frame.local, remote = domain_of(stanza->attr_or("from", ""));
            bounce_to_partner(local, remote, *stanza,
                              StanzaError::of(StanzaCondition::ServiceUnavailable,
                                              "the gateway to the SIP service is not reachable"));
        }
        waiting_.pop_front();
    }
    if (inbound_paused_)
        log::debug("proxy.gateway_backpressure", {{"held", 0}, {"action", "resume partners"}});
    pause_inbound(false);
}

// ---- actions from the streams --------------------------------------------------------------

void Router::on_stream_action(std::uint64_t conn_id, StreamAction& action) {
    S2sConnection* c = find(conn_id);
    if (!c) return;
    if (auto* d = std::get_if<DeliverStanza>(&action)) {
        deliver(conn_id, *d);
    } else if (auto* v = std::get_if<VerifyDialbackKey>(&action)) {
        Route& r = route(v->local, v->remote);
        r.verifies.push_back({v->stream_id, v->key, conn_id, false});
        PairKey key{v->local, v->remote};
        if (r.conn) {
            if (auto* oc = find(*r.conn); oc && oc->outbound()) flush_verifies(r, *oc->outbound(), key);
        } else {
            open_route(key);
        }
    } else if (auto* a = std::get_if<DomainAuthenticated>(&action)) {
        log::info("s2s.authenticated", {{"conn", conn_id}, {"direction", name(c->direction())},
                                        {"local", a->local}, {"remote", a->remote},
                                        {"method", link::auth_method_name(a->method)}});
        if (c->direction() == Direction::Inbound) {
            const auto* p = policy_.find_partner(a->remote);
            std::uint32_t limit = (p && p->connection_limit) ? p->connection_limit
                                                             : policy_.settings.partner_connection_limit;
            std::uint32_t n = 0;
            for (const auto& [id, other] : conns_)
                if (other->direction() == Direction::Inbound && other->remote_domain() == a->remote &&
                    !other->is_closing())
                    ++n;
            if (n > limit) {
                log::warn("s2s.limit", {{"conn", conn_id}, {"remote", a->remote},
                                        {"rule", "partner-connection-limit"}, {"limit", limit}});
                c->inbound()->close(StreamError{StreamCondition::PolicyViolation,
                                                "too many connections from " + a->remote});
                c->pump();
            }
        }
    } else if (auto* ans = std::get_if<DialbackVerifyAnswer>(&action)) {
        auto it = routes_.find({ans->local, ans->remote});
        if (it == routes_.end()) return;
        auto& vs = it->second.verifies;
        for (auto v = vs.begin(); v != vs.end(); ++v) {
            if (v->stream_id != ans->stream_id || !v->sent) continue;
            if (auto* in = find(v->inbound_conn); in && in->inbound()) {
                // No answer is not a 'no': a key we could not check gets a dialback error and
                // the partner's stream lives on (XEP-0220 §2.5).
                if (ans->unverifiable)
                    in->inbound()->on_key_unverifiable(ans->local, ans->remote, *ans->unverifiable);
                else
                    in->inbound()->on_key_verified(ans->local, ans->remote, ans->valid);
                in->pump();
            }
            vs.erase(v);
            break;
        }
    } else if (std::holds_alternative<StreamReady>(action)) {
        if (auto key = route_of(conn_id)) route_ready(*key);
    } else if (auto* cl = std::get_if<CloseStream>(&action)) {
        log::info("s2s.stream_closed", {{"conn", conn_id}, {"direction", name(c->direction())},
                                        {"remote", c->remote_domain()},
                                        {"error", cl->error ? cl->error->describe() : ""},
                                        {"reason", cl->reason}});
        if (auto key = route_of(conn_id)) {
            Route& r = routes_.at(*key);
            r.conn.reset();
            bool was_ready = r.state == RouteState::Ready;
            r.state = RouteState::Idle;
            if (!was_ready && r.next_endpoint < r.endpoints.size() && !shutting_down_) {
                connect_next(*key);  // try the next address or SRV target
            } else if (!r.queue.empty() || !r.verifies.empty()) {
                route_failed(*key, cl->bounce.value_or(StanzaCondition::RemoteServerNotFound),
                             cl->reason);
            }
        }
    }
}

// ---- outbound -----------------------------------------------------------------------------

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
        log::warn("proxy.bad_gateway_stanza", {{"reason", "from is not one of our domains"},
                                               {"from", from}});
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
        bounce_to_gateway(*stanza, StanzaError::of(StanzaCondition::NotAllowed,
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
            if (auto sent = c->outbound()->send(*stanza); !sent)
                log::warn("s2s.send_refused", {{"remote", remote}, {"conn", *r.conn}});
            c->pump();
            return;
        }
    }
    if (!r.queue.push(stanza)) {
        // The queue for this partner is full: the sender learns it now (RFC 6120 §8.3).
        if (stanza) {
            log::warn("s2s.queue_full", {{"local", local}, {"remote", remote},
                                         {"queued", r.queue.size()}});
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
    log::info("s2s.resolving", {{"local", key.first}, {"remote", key.second},
                                {"static_route", static_route}});
    r.lookup = options_.resolver->find_xmpp_server(
        key.second, static_route,
        [this, key](Result<std::vector<dns::Endpoint>, dns::DnsError> res) { resolved(key, std::move(res)); });
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
    // XEP-0368 direct TLS targets need TLS before the stream header; this version connects
    // with STARTTLS only and skips them.
    while (r.next_endpoint < r.endpoints.size() && r.endpoints[r.next_endpoint].direct_tls)
        ++r.next_endpoint;
    if (r.next_endpoint >= r.endpoints.size()) {
        r.state = RouteState::Idle;
        route_failed(key, StanzaCondition::RemoteServerNotFound, "no endpoint accepted a connection");
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
    log::info("s2s.connecting", {{"conn", id}, {"local", key.first}, {"remote", key.second},
                                 {"address", ep.address.text}, {"port", ep.port}});
    OutboundOptions o;
    o.local_domain = key.first;
    o.remote_domain = key.second;
    o.partner = partner;
    o.have_certificate = client_tls(key.first) != nullptr;
    auto core = std::make_unique<OutboundStream>(o, keys_, timers_for(&partner), options_.limits);
    flush_verifies(r, *core, key);
    c->start_outbound(std::move(core), reinterpret_cast<const sockaddr*>(&ss), key.first,
                      key.second, options_.connect_timeout_ms);
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
    log::warn("s2s.route_failed", {{"local", key.first}, {"remote", key.second},
                                   {"condition", wire_name(condition)}, {"reason", why},
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
        log::warn("proxy.bounce_lost", {{"to", stanza.attr_or("from", "")},
                                        {"reason", "gateway link down"}});
}

void Router::bounce_to_partner(const std::string& local, const std::string& remote,
                               const Element& stanza, StanzaError error) {
    auto b = make_bounce(stanza, std::move(error), local);
    if (!b) return;
    if (shutting_down_) {
        // No stream can be opened any more to carry it.
        log::warn("proxy.bounce_lost", {{"to", stanza.attr_or("from", "")},
                                        {"reason", "the proxy is shutting down"}});
        return;
    }
    route_to_partner(local, remote, std::move(*b));
}

// ---- lifecycle ----------------------------------------------------------------------------

void Router::on_backpressure(std::uint64_t conn_id, bool high) {
    log::debug("s2s.backpressure", {{"conn", conn_id}, {"high", high}});
}

void Router::on_connection_finished(std::uint64_t conn_id) {
    graveyard_.push_back(conn_id);
    uv_timer_start(reap_, on_reap, 0, 0);
}

void Router::on_reap(uv_timer_t* t) {
    auto* self = static_cast<Router*>(t->data);
    if (!self) return;
    auto ids = std::move(self->graveyard_);
    self->graveyard_.clear();
    for (auto id : ids) {
        if (auto key = self->route_of(id)) self->routes_.at(*key).conn.reset();
        self->conns_.erase(id);
    }
    if (self->shutting_down_ && self->conns_.empty() && self->shutdown_done_) {
        auto done = std::move(self->shutdown_done_);
        self->shutdown_done_ = nullptr;
        done();
    }
}

void Router::update_policy(registry::Policy policy) {
    bool new_secret = policy.settings.dialback_secret != policy_.settings.dialback_secret;
    policy_ = std::move(policy);
    if (new_secret) keys_ = DialbackKeys(policy_.settings.dialback_secret);
    log::info("registry.applied", {{"version", policy_.version},
                                   {"partners", policy_.partners.size()},
                                   {"blocked", policy_.blocked.size()}});
    for (auto& [id, c] : conns_) {
        if (c->is_closing() || c->remote_domain().empty()) continue;
        auto adm = policy_.admit(c->remote_domain());
        if (adm.admitted()) continue;
        std::string rule(registry::name(*adm.refusal));
        log::warn("s2s.refused", {{"conn", id}, {"domain", c->remote_domain()}, {"rule", rule},
                                  {"detail", adm.detail}, {"when", "registry change"}});
        if (!adm.detail.empty()) rule += ": " + adm.detail;
        StreamError e{StreamCondition::PolicyViolation,
                      c->remote_domain() + " is no longer admitted (" + rule + ")"};
        if (auto* in = c->inbound()) in->close(e);
        if (auto* out = c->outbound()) out->close(e);
        c->pump();
    }
}

void Router::shutdown(std::function<void()> done) {
    shutting_down_ = true;
    shutdown_done_ = std::move(done);
    for (auto& [key, r] : routes_) {
        r.lookup.reset();
        if (!r.queue.empty() || !r.verifies.empty())
            route_failed(key, StanzaCondition::ServiceUnavailable, "the proxy is shutting down");
    }
    std::vector<S2sConnection*> live;
    for (auto& [id, c] : conns_) live.push_back(c.get());
    for (auto* c : live) {
        StreamError e{StreamCondition::SystemShutdown, "the proxy is shutting down"};
        if (auto* in = c->inbound()) in->close(e);
        if (auto* out = c->outbound()) out->close(e);
        c->pump();
        c->shutdown();
    }
    if (conns_.empty()) uv_timer_start(reap_, on_reap, 0, 0);
}

std::vector<ConnectionStats> Router::connections() const {
    std::vector<ConnectionStats> v;
    for (const auto& [id, c] : conns_) v.push_back(c->stats());
    return v;
}

std::vector<RouteStats> Router::routes() const {
    std::vector<RouteStats> v;
    for (const auto& [key, r] : routes_)
        v.push_back({key.first, key.second, state_name(static_cast<int>(r.state)), r.queue.size(), r.conn});
    return v;
}

}  // namespace fedgw::proxy
