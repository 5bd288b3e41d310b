// Router, inbound half and lifecycle: accepting partner connections, stanzas from partners to
// the gateway link (with credit backpressure and service-unavailable bounces), the actions of
// the stream cores, registry changes and shutdown. The outbound half is router_routes.cpp.
// See router.hpp.
//
// Loop-bound.
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

const TlsContext* Router::client_tls(std::string_view local_domain, bool direct_tls) const {
    if (direct_tls) {
        auto d = options_.client_direct_tls.find(std::string(local_domain));
        if (d != options_.client_direct_tls.end()) return d->second;
    }
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
    t.keepalive_ms = std::uint64_t{s.keepalive_interval_s} * 1000;
    t.dialback_ms = options_.dialback_timeout_ms;
    if (options_.stream_timers) t = *options_.stream_timers;
    if (p && !p->keepalive) t.keepalive_ms = 0;
    return t;
}

// ---- inbound ------------------------------------------------------------------------------

void Router::accept(uv_stream_t* listener, bool direct_tls) {
    std::uint64_t id = next_id_++;
    auto conn = std::make_unique<S2sConnection>(loop_, *this, id, Direction::Inbound);
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(conn->tcp())) != 0) {
        conns_.emplace(id, std::move(conn));
        conns_[id]->shutdown();
        return;
    }
    S2sConnection* c = conn.get();
    conns_.emplace(id, std::move(conn));
    const TlsContext* tls = direct_tls ? server_tls("") : nullptr;
    std::size_t live = 0;
    for (const auto& [other_id, other] : conns_)
        if (!other->is_closing()) ++live;
    const bool over_limit = live > policy_.settings.total_connection_limit;
    if (shutting_down_ || (direct_tls && !tls)) {
        log::warn("s2s.refused_connection",
                  {{"conn", id}, {"why", shutting_down_ ? "shutting down" : "no TLS context"}});
        c->shutdown();
        return;
    }
    InboundStream::Options o;
    o.rate.per_second = policy_.settings.stanza_rate_per_s;
    o.direct_tls = direct_tls;
    auto core = std::make_unique<InboundStream>(
        *this, keys_, timers_for(nullptr), options_.limits, [this] { return new_stream_id(); }, o);
    if (over_limit) {
        log::warn("s2s.limit", {{"conn", id},
                                {"rule", "total-connection-limit"},
                                {"limit", policy_.settings.total_connection_limit},
                                {"remote_address", c->stats().remote_address}});
        if (direct_tls) {
            // No XML can be spoken before the TLS handshake: just close.
            c->shutdown();
            return;
        }
        // RFC 6120 §4.9.3.17: our header, the stream error, our close; nothing is read.
        InboundStream* in = core.get();
        c->start_inbound(std::move(core));
        c->pause_reading();
        in->close(StreamError{StreamCondition::ResourceConstraint,
                              "too many server-to-server connections; try again later"});
        c->pump();
        return;
    }
    c->start_inbound(std::move(core), tls);
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
    const bool full = sent == GatewaySend::Full;
    if (full && waiting_.size() < options_.max_waiting_for_credit) {
        // Backpressure: hold this one, stop reading partners until the gateway grants credit.
        waiting_.emplace_back(std::move(f), std::move(d.stanza));
        if (!inbound_paused_)
            log::debug("proxy.gateway_backpressure",
                       {{"held", waiting_.size()}, {"action", "pause partners"}});
        pause_inbound(true);
        return;
    }
    // RFC 6120 §8.3: the sender learns why; nothing is dropped silently. A busy gateway is a
    // temporary resource-constraint (type wait); a link that is down is service-unavailable.
    log::warn("proxy.gateway_unavailable",
              {{"conn", conn_id},
               {"from", d.from_domain},
               {"to", d.to_domain},
               {"why", full ? "no credit and the hold queue is full" : "link down"},
               {"held", waiting_.size()}});
    bounce_to_partner(d.to_domain, d.from_domain, *d.stanza,
                      full ? StanzaError::of(StanzaCondition::ResourceConstraint,
                                             "the gateway to the SIP service is busy")
                           : StanzaError::of(StanzaCondition::ServiceUnavailable,
                                             "the gateway to the SIP service is not reachable"));
}

void Router::pause_inbound(bool pause) {
    if (inbound_paused_ == pause) return;
    inbound_paused_ = pause;
    for (auto& [id, c] : conns_) {
        if (c->direction() != Direction::Inbound) continue;
        if (pause)
            c->pause_reading();
        else
            c->resume_reading();
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
            if (auto* oc = find(*r.conn); oc && oc->outbound())
                flush_verifies(r, *oc->outbound(), key);
        } else {
            open_route(key);
        }
    } else if (auto* a = std::get_if<DomainAuthenticated>(&action)) {
        log::info("s2s.authenticated", {{"conn", conn_id},
                                        {"direction", name(c->direction())},
                                        {"local", a->local},
                                        {"remote", a->remote},
                                        {"method", link::auth_method_name(a->method)}});
        if (c->direction() == Direction::Inbound) check_partner_limit(*c, a->remote);
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
        log::info("s2s.stream_closed", {{"conn", conn_id},
                                        {"direction", name(c->direction())},
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

// The per-partner limit counts the partner's inbound connections together, whichever of its
// domains (primary or additional) each one authenticated.
void Router::check_partner_limit(S2sConnection& c, const std::string& remote) {
    const auto* p = policy_.find_partner(remote);
    std::uint32_t limit = (p && p->connection_limit) ? p->connection_limit
                                                     : policy_.settings.partner_connection_limit;
    std::uint32_t n = 0;
    for (const auto& [id, other] : conns_) {
        if (other->direction() != Direction::Inbound || other->is_closing() ||
            other->remote_domain().empty())
            continue;
        bool same = p ? policy_.find_partner(other->remote_domain()) == p
                      : other->remote_domain() == remote;
        if (same) ++n;
    }
    if (n <= limit) return;
    std::string partner = p ? p->domain : remote;
    log::warn("s2s.limit", {{"conn", c.id()},
                            {"remote", remote},
                            {"partner", partner},
                            {"rule", "partner-connection-limit"},
                            {"limit", limit}});
    c.inbound()->close(StreamError{
        StreamCondition::PolicyViolation,
        "too many connections from " + partner + " (limit " + std::to_string(limit) + ")"});
    c.pump();
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
    std::vector<S2sConnection*> live;
    for (auto& [id, c] : conns_)
        if (!c->is_closing()) live.push_back(c.get());
    for (S2sConnection* c : live) {
        auto why = no_longer_allowed(*c);
        if (!why) continue;
        StreamError e{StreamCondition::PolicyViolation, *why};
        if (auto* in = c->inbound()) in->close(e);
        if (auto* out = c->outbound()) out->close(e);
        c->pump();
    }
}

// Why the current policy no longer allows this stream (logged as s2s.refused), if it does not.
// Every remote domain the stream speaks for is checked: the dialled or authenticated one, the
// stream header's 'from', and each authenticated pair (XEP-0220 §2.6 multiplexing).
std::optional<std::string> Router::no_longer_allowed(S2sConnection& c) const {
    struct Speaks {
        std::string domain;
        AuthMethod method = AuthMethod::None;
    };
    std::vector<Speaks> domains;
    bool tls = false;
    if (!c.remote_domain().empty()) domains.push_back({c.remote_domain()});
    if (auto* in = c.inbound()) {
        tls = in->is_tls();
        if (!in->partner_domain().empty()) domains.push_back({std::string(in->partner_domain())});
        for (const auto& pair : in->authenticated_pairs())
            domains.push_back({pair.remote, pair.method});
    }
    if (auto* out = c.outbound()) {
        tls = out->is_tls();
        if (out->is_ready()) domains.push_back({out->remote_domain(), out->auth_method()});
    }
    for (const auto& d : domains) {
        auto adm = policy_.admit(d.domain);
        std::string rule, detail;
        if (!adm.admitted()) {
            rule = registry::name(*adm.refusal);
            detail = adm.detail;
        } else if (adm.partner->requires_tls() && !tls && d.method != AuthMethod::None) {
            rule = "tls-required";
        } else if (d.method == AuthMethod::Dialback && !adm.partner->allows_dialback()) {
            rule = "dialback-not-allowed";
        } else {
            continue;
        }
        log::warn("s2s.refused", {{"conn", c.id()},
                                  {"domain", d.domain},
                                  {"rule", rule},
                                  {"detail", detail},
                                  {"when", "registry change"},
                                  {"direction", name(c.direction())}});
        if (!detail.empty()) rule += ": " + detail;
        return d.domain + " is no longer admitted (" + rule + ")";
    }
    return std::nullopt;
}

void Router::shutdown(std::function<void()> done) {
    // Stanzas held for link credit go back to their senders while the streams still stand;
    // where no stream to the sender's domain is up, the loss is logged.
    for (auto& [frame, stanza] : waiting_) {
        std::string remote = domain_of(stanza->attr_or("from", ""));
        auto it = routes_.find({frame.local, remote});
        if (it != routes_.end() && it->second.state == RouteState::Ready && it->second.conn)
            bounce_to_partner(
                frame.local, remote, *stanza,
                StanzaError::of(StanzaCondition::ServiceUnavailable, "the proxy is shutting down"));
        else
            log::warn("proxy.bounce_lost", {{"to", stanza->attr_or("from", "")},
                                            {"reason", "the proxy is shutting down"}});
    }
    waiting_.clear();
    shutting_down_ = true;
    shutdown_done_ = std::move(done);
    for (auto& [key, r] : routes_) {
        r.lookup.reset();
        if (!r.queue.empty() || !r.verifies.empty())
            route_failed(key, StanzaCondition::ServiceUnavailable, "the proxy is shutting down");
    }
    std::vector<S2sConnection*> live;
    for (auto& [id, c] : conns_)
        live.push_back(c.get());
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
    for (const auto& [id, c] : conns_) {
        v.push_back(c->stats());
        for (const auto& [key, r] : routes_)
            if (r.conn == id) v.back().queue = r.queue.size();
    }
    return v;
}

std::vector<RouteStats> Router::routes() const {
    std::vector<RouteStats> v;
    for (const auto& [key, r] : routes_)
        v.push_back(
            {key.first, key.second, state_name(static_cast<int>(r.state)), r.queue.size(), r.conn});
    return v;
}

}  // namespace fedgw::proxy
