// GatewayServer: assembly from fedgw.toml, the registry (snapshot, access, contacts), signals,
// reload and graceful stop. See gateway_server.hpp.
//
// Loop-bound.
#include "gateway/server/gateway_server.hpp"

#include <algorithm>
#include <csignal>

#include "common/log/log.hpp"
#include "gateway/sip/random_source.hpp"

namespace fedgw::gateway {
namespace {

template <class H>
void close_and_delete(H* h) {
    if (!h) return;
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* x) { delete reinterpret_cast<H*>(x); });
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The SIP next hops given by name need the resolver; IP literals do not.
bool needs_resolver(const SipConfig& sip) {
    return std::any_of(sip.next_hops.begin(), sip.next_hops.end(),
                       [](const SipTransportAddr& a) { return !a.address.is_ip(); });
}

}  // namespace

GatewayServer::GatewayServer(uv_loop_t* loop, Config config, std::string path,
                             GatewayServerOptions options)
    : loop_(loop),
      config_(std::move(config)),
      config_path_(std::move(path)),
      options_(std::move(options)),
      started_(std::chrono::steady_clock::now()) {
    random_ = options_.random ? options_.random : sip::system_random_source();
    info_.version = FEDGW_VERSION;
    // A CSeq that grows across restarts: MESSAGEs of one XMPP thread share a Call-ID and must
    // raise it each time (RFC 3261 §8.1.1.5); below 2**31, with room to count upward.
    cseq_ = static_cast<std::uint32_t>(random_() % (1u << 30)) + 1;
}

GatewayServer::~GatewayServer() {
    dying_ = true;
    if (engine_) engine_->close();
    engine_.reset();
    if (sip_) sip_->close();  // pending callbacks run now and only log (dying_)
    sip_.reset();
    if (resolver_) resolver_->close();
    link_.reset();  // closed (stop) or never had a connection (failed start)
    for (auto* s : signals_)
        close_and_delete(s);
    close_and_delete(registry_timer_);
    close_and_delete(grace_timer_);
}

Result<std::unique_ptr<GatewayServer>, std::string> GatewayServer::start(
    uv_loop_t* loop, Config config, std::string config_path, GatewayServerOptions options) {
    if (!config.gateway) return Unexpected(std::string("the configuration has no [gateway]"));
    std::unique_ptr<GatewayServer> s(
        new GatewayServer(loop, std::move(config), std::move(config_path), std::move(options)));
    if (auto r = s->init(); !r) return Unexpected(r.error());
    return s;
}

Result<void, std::string> GatewayServer::init() {
    const GatewayConfig& gc = *config_.gateway;
    if (gc.domains.empty()) return Unexpected(std::string("[gateway] domains is empty"));
    if (gc.sip.next_hops.empty()) return Unexpected(std::string("[gateway.sip] has no next hop"));
    for (const auto& d : gc.domains)
        domains_.push_back(lower(d));

    auto store = registry::RegistryStore::open(config_.registry.path);
    if (!store)
        return Unexpected("registry " + config_.registry.path + ": " + store.error().describe());
    store_.emplace(std::move(*store));
    auto policy = store_->load_policy();
    if (!policy) return Unexpected("registry: " + policy.error().describe());
    policy_ = std::move(*policy);
    if (auto dv = store_->data_version()) data_version_ = *dv;
    apply_settings();

    // The control socket first: a second fedgw-gateway learns that one is already running
    // before it touches the SIP and link ports.
    if (auto r = open_control(); !r) return r;
    if (auto r = start_sip(); !r) return r;
    if (auto r = start_presence(); !r) return r;
    if (auto r = start_link(); !r) return r;
    if (options_.install_signals) start_signals();

    registry_timer_ = new uv_timer_t;
    uv_timer_init(loop_, registry_timer_);
    registry_timer_->data = this;
    uv_timer_start(
        registry_timer_,
        [](uv_timer_t* t) { static_cast<GatewayServer*>(t->data)->poll_registry(); },
        options_.registry_poll_ms, options_.registry_poll_ms);

    std::string link_list, sip_list, domain_list;
    for (const auto& a : link_->local_addresses())
        link_list += (link_list.empty() ? "" : ",") + a.to_string();
    for (const auto& a : sip_->local_addresses())
        sip_list += (sip_list.empty() ? "" : ",") + a.to_string();
    for (const auto& d : domains_)
        domain_list += (domain_list.empty() ? "" : ",") + d;
    log::info("gateway.ready", {{"config", config_path_},
                                {"link", link_list},
                                {"sip", sip_list},
                                {"next_hop", gc.sip.next_hops.front().to_string()},
                                {"domains", domain_list},
                                {"registry", config_.registry.path},
                                {"registry_version", policy_.version}});
    return {};
}

Result<void, std::string> GatewayServer::start_sip() {
    const GatewayConfig& gc = *config_.gateway;
    if (needs_resolver(gc.sip)) {
        auto r = dns::Resolver::create(loop_, dns::ResolverOptions{});
        if (!r) return Unexpected("DNS for the SIP next hops: " + r.error().describe());
        resolver_ = std::move(*r);
    }
    auto tls = sip::make_tls_contexts(gc.sip);
    if (!tls) return Unexpected("SIP TLS: " + tls.error().describe());
    sip_tls_ = std::move(*tls);
    sip::SipStackOptions so = sip::stack_options_from_config(gc.sip, gc.timers);
    sip::use_tls_contexts(so, sip_tls_);
    so.random = random_;
    so.resolver = resolver_.get();
    auto stack = sip::SipStack::create(loop_, std::move(so));
    if (!stack) return Unexpected("SIP: " + stack.error().text);
    sip_ = std::move(*stack);
    sip_->on_request([this](const sip::SipMessage& request, const sip::ServerTransaction& tx) {
        on_sip_request(request, tx);
    });
    return {};
}

Result<void, std::string> GatewayServer::start_presence() {
    const GatewayConfig& gc = *config_.gateway;
    PresenceOptions po;
    po.registry_path = config_.registry.path;
    po.sip_domains = domains_;
    po.next_hop = gc.sip.next_hops.front();
    po.requested_expires = policy_.settings.sip_subscription_refresh_s;
    po.refresh_fraction = gc.timers.refresh_fraction;
    PresenceHooks hooks;
    hooks.send_xmpp = [this](std::unique_ptr<Element> stanza) {
        send_to_xmpp(std::move(stanza), "presence");
    };
    hooks.authorize = [this](const std::string& sip_aor, const std::string& bare_jid,
                             registry::PartnerType type) {
        return authorize(sip_aor, bare_jid, type);
    };
    auto engine = PresenceEngine::create(loop_, *sip_, std::move(po), std::move(hooks));
    if (!engine) return Unexpected("presence: " + engine.error().text);
    engine_ = std::move(*engine);
    return {};
}

Result<void, std::string> GatewayServer::start_link() {
    link::LinkServerOptions lo = link::server_options(*config_.gateway);
    if (options_.link_session) lo.session = *options_.link_session;
    if (options_.link_timers) lo.timers = *options_.link_timers;
    link::LinkServerCallbacks cb;
    cb.on_up = [this](link::ConnId id, const link::Hello&) { link_up(id); };
    cb.on_down = [this](link::ConnId id, const link::CloseReason& r) { link_down(id, r); };
    cb.on_stanza = [this](link::ConnId id, link::StanzaFrame f) {
        on_link_stanza(id, std::move(f));
    };
    cb.on_writable = [this](link::ConnId) { flush_queue(); };
    cb.on_refused = [](const link::CloseReason& r) {
        log::warn("gateway.link_refused", {{"reason", r.describe()}});
    };
    cb.on_closed = [this] {
        link_closed_ = true;
        maybe_stopped();
    };
    auto server = link::LinkServer::create(loop_, std::move(lo), std::move(cb));
    if (!server) return Unexpected("proxy link: " + server.error().describe());
    link_ = std::move(*server);
    return {};
}

void GatewayServer::start_signals() {
    for (int signum : {SIGTERM, SIGINT, SIGHUP}) {
        auto* s = new uv_signal_t;
        uv_signal_init(loop_, s);
        s->data = this;
        uv_signal_start(s, on_signal, signum);
        signals_.push_back(s);
    }
}

void GatewayServer::on_signal(uv_signal_t* s, int signum) {
    auto* self = static_cast<GatewayServer*>(s->data);
    if (signum == SIGHUP)
        self->reload();
    else
        self->stop();
}

bool GatewayServer::is_our_domain(std::string_view ascii_domain) const {
    return std::find(domains_.begin(), domains_.end(), ascii_domain) != domains_.end();
}

// ---- registry -------------------------------------------------------------------------------

void GatewayServer::apply_settings() {
    log::set_log_bodies(policy_.settings.log_message_bodies);
}

void GatewayServer::send_snapshot(std::optional<link::ConnId> to) {
    std::string json = registry::to_json(policy_);
    if (to) {
        if (auto r = link_->send_registry(*to, policy_.version, std::move(json)); !r)
            log::warn("registry.snapshot_not_sent",
                      {{"conn", *to}, {"reason", link::describe(r.error())}});
        else
            log::info("registry.snapshot_sent", {{"conn", *to}, {"version", policy_.version}});
        return;
    }
    std::size_t n = link_->send_registry(policy_.version, json);
    log::info("registry.snapshot_sent", {{"proxies", n}, {"version", policy_.version}});
}

void GatewayServer::poll_registry() {
    auto dv = store_->data_version();
    if (!dv) {
        log::error("registry.poll_failed", {{"reason", dv.error().describe()}});
        return;
    }
    if (*dv == data_version_) return;
    data_version_ = *dv;
    // data_version also moves for writes that are not policy (subscriptions, contact pairs):
    // the revision says whether the policy itself changed.
    auto rev = store_->revision();
    if (!rev) {
        log::error("registry.poll_failed", {{"reason", rev.error().describe()}});
        return;
    }
    if (static_cast<std::uint64_t>(*rev) == policy_.version) return;
    auto p = store_->load_policy();
    if (!p) {
        log::error("registry.reload_failed",
                   {{"reason", p.error().describe()}, {"kept", policy_.version}});
        return;
    }
    log::info("registry.changed", {{"from", policy_.version}, {"to", p->version}});
    policy_ = std::move(*p);
    apply_settings();
    if (link_ && !stopping_) send_snapshot(std::nullopt);
}

bool GatewayServer::has_xmpp_access(const std::string& sip_user) {
    auto r = store_->user_access(sip_user);
    if (!r) {
        log::error("registry.access_unreadable",
                   {{"user", sip_user}, {"reason", r.error().describe()}});
        return false;
    }
    return *r;
}

void GatewayServer::remember_contact(const std::string& sip_user, const std::string& bare_jid,
                                     registry::ContactSource source) {
    if (auto r = store_->remember_contact(sip_user, bare_jid, source); !r)
        log::warn("registry.contact_not_stored",
                  {{"user", sip_user}, {"jid", bare_jid}, {"reason", r.error().describe()}});
}

WatcherAuthorization GatewayServer::authorize(const std::string& sip_aor,
                                              const std::string& bare_jid,
                                              registry::PartnerType type) {
    if (type == registry::PartnerType::Federated || type == registry::PartnerType::PublicVerified)
        return WatcherAuthorization::Allowed;
    // public-unverified: only once the SIP user added the contact (DESIGN.md).
    std::string user = sip_aor.rfind("sip:", 0) == 0    ? sip_aor.substr(4)
                       : sip_aor.rfind("sips:", 0) == 0 ? sip_aor.substr(5)
                                                        : sip_aor;
    auto r = store_->has_contact(user, bare_jid);
    if (!r) {
        log::error("registry.contact_unreadable",
                   {{"user", user}, {"jid", bare_jid}, {"reason", r.error().describe()}});
        return WatcherAuthorization::Pending;
    }
    return *r ? WatcherAuthorization::Allowed : WatcherAuthorization::Pending;
}

// ---- reload ---------------------------------------------------------------------------------

void GatewayServer::reload() {
    if (stopping_) return;
    auto c = load_config_for(Role::Gateway, config_path_);
    if (!c) {
        log::error("gateway.reload_failed",
                   {{"reason", c.error().describe()}, {"kept", "the running configuration"}});
        return;
    }
    const GatewayConfig& now = *config_.gateway;
    const GatewayConfig& next = *c->gateway;
    // The certificates must at least load, or the next restart would fail.
    TlsContextOptions lo;
    lo.role = TlsRole::Server;
    lo.credentials = {next.cert, next.key};
    lo.ca_file = next.ca;
    if (auto t = TlsContext::create(lo); !t) {
        log::error("gateway.reload_failed", {{"reason", "link TLS: " + t.error().describe()},
                                             {"kept", "the running configuration"}});
        return;
    }
    if (auto t = sip::make_tls_contexts(next.sip); !t) {
        log::error("gateway.reload_failed", {{"reason", "SIP TLS: " + t.error().describe()},
                                             {"kept", "the running configuration"}});
        return;
    }
    std::vector<std::string> restart;
    if (next.listen != now.listen) restart.push_back("gateway.listen");
    if (next.proxy_name != now.proxy_name) restart.push_back("gateway.proxy_name");
    if (next.sip.listen != now.sip.listen) restart.push_back("gateway.sip.listen");
    if (next.sip.next_hops != now.sip.next_hops) restart.push_back("gateway.sip.next_hops");
    if (next.sip.trusted != now.sip.trusted) restart.push_back("gateway.sip.trusted");
    if (next.timers != now.timers) restart.push_back("gateway.timers");
    if (c->registry.path != config_.registry.path) restart.push_back("registry.path");
    std::string restart_list;
    for (const auto& k : restart)
        restart_list += (restart_list.empty() ? "" : ",") + k;

    log::set_level(c->log.level);
    std::vector<std::string> domains;
    for (const auto& d : next.domains)
        domains.push_back(lower(d));
    domains_ = std::move(domains);
    // Keep what the running parts were built with; take the rest.
    GatewayConfig kept = now;
    kept.domains = next.domains;
    kept.control_socket = next.control_socket;
    config_.log = c->log;
    config_.gateway = std::move(kept);
    poll_registry();
    log::info("gateway.reloaded",
              {{"config", config_path_},
               {"applied", "log level, domains, registry"},
               {"restart_needed", restart_list.empty() ? "nothing" : restart_list},
               {"note",
                "link and SIP certificates are loaded at start: a new certificate needs a "
                "restart (the files were checked and load)"}});
}

// ---- stop -----------------------------------------------------------------------------------

void GatewayServer::stop(std::function<void()> on_stopped) {
    if (stopping_) return;
    stopping_ = true;
    on_stopped_ = std::move(on_stopped);
    log::info("gateway.stopping", {{"sip_transactions", sip_->stats().client_transactions}});
    close_and_delete(registry_timer_);
    registry_timer_ = nullptr;
    for (auto* s : signals_)
        close_and_delete(s);
    signals_.clear();
    // The engine's timers stop; its dialogs stay in the store for the next start.
    engine_->close();
    if (control_) control_->close();
    const auto grace = static_cast<std::uint64_t>(config_.gateway->timers.shutdown_grace.ms);
    grace_deadline_ = uv_now(loop_) + grace;
    grace_timer_ = new uv_timer_t;
    uv_timer_init(loop_, grace_timer_);
    grace_timer_->data = this;
    uv_timer_start(
        grace_timer_, [](uv_timer_t* t) { static_cast<GatewayServer*>(t->data)->grace_tick(); }, 0,
        20);
}

void GatewayServer::grace_tick() {
    // Let MESSAGEs in flight get their answers (and their errors reach the XMPP senders) while
    // the link is still up.
    if (sip_->stats().client_transactions > 0 && uv_now(loop_) < grace_deadline_) return;
    finish();
}

void GatewayServer::finish() {
    if (!grace_timer_) return;
    close_and_delete(grace_timer_);
    grace_timer_ = nullptr;
    // Pending MESSAGE callbacks run now with Shutdown: their senders get errors over the link,
    // which closes after them.
    sip_->close();
    if (resolver_) resolver_->close();
    drop_queue("the gateway is shutting down");
    link_->close("the gateway is shutting down");
}

void GatewayServer::maybe_stopped() {
    if (stopped_ || !stopping_ || !link_closed_) return;
    stopped_ = true;
    log::info("gateway.stopped", {});
    if (on_stopped_) {
        auto cb = std::move(on_stopped_);
        cb();
    }
}

}  // namespace fedgw::gateway
