// ProxyServer: fedgw-proxy assembled from fedgw.toml — TLS contexts per local domain, DNS,
// the local registry copy, the Router, listeners, the link client, signals. See
// proxy_server.hpp.
//
// Loop-bound.
#include "proxy/server/proxy_server.hpp"

#include <csignal>

#include "common/log/log.hpp"
#include "proxy/server/status_helpers.hpp"

namespace fedgw::proxy {
namespace {

constexpr std::uint64_t kRegistryPollMs = 1000;

template <class H>
void close_and_delete(H* h) {
    if (!h) return;
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* x) { delete reinterpret_cast<H*>(x); });
}

}  // namespace

ProxyServer::ProxyServer(uv_loop_t* loop, Config config, std::string path)
    : loop_(loop), config_(std::move(config)), config_path_(std::move(path)) {}

ProxyServer::~ProxyServer() = default;

Result<std::unique_ptr<ProxyServer>, std::string> ProxyServer::start(uv_loop_t* loop, Config config,
                                                                     std::string config_path) {
    std::unique_ptr<ProxyServer> s(
        new ProxyServer(loop, std::move(config), std::move(config_path)));
    if (auto r = s->init(); !r) return Unexpected(r.error());
    return s;
}

Result<void, std::string> ProxyServer::build_tls(const ProxyConfig& pc) {
    // One server context per domain, presenting that domain's certificate unless the peer's
    // SNI names another of ours: peers that send no SNI (Prosody 0.12 on s2s STARTTLS) get the
    // certificate of the domain their stream header asked for.
    // The server contexts accept ALPN "xmpp-server" for XEP-0368 direct TLS; a client that
    // offers none (STARTTLS) is not affected.
    std::map<std::string, std::unique_ptr<TlsContext>> servers;
    std::map<std::string, std::int64_t> not_after;
    for (const auto& d : pc.domains) {
        TlsContextOptions so;
        so.role = TlsRole::Server;
        for (const auto& other : pc.domains)
            so.domains.push_back({other.name, {other.cert, other.key}});
        so.credentials = {d.cert, d.key};
        so.ca_file = pc.trust_file;
        so.alpn = {kXmppServerAlpn};
        auto server = TlsContext::create(so);
        if (!server) return Unexpected("TLS for " + d.name + ": " + server.error().describe());
        servers[d.name] = std::make_unique<TlsContext>(std::move(*server));
        if (auto t = certificate_expiry(d.cert)) not_after[d.name] = *t;
    }
    std::map<std::string, std::unique_ptr<TlsContext>> clients, direct;
    for (const auto& d : pc.domains) {
        TlsContextOptions co;
        co.role = TlsRole::Client;
        co.credentials = {d.cert, d.key};
        co.ca_file = pc.trust_file;
        auto c = TlsContext::create(co);
        if (!c) return Unexpected("TLS client for " + d.name + ": " + c.error().describe());
        clients[d.name] = std::make_unique<TlsContext>(std::move(*c));
        co.alpn = {kXmppServerAlpn};
        auto dc = TlsContext::create(co);
        if (!dc) return Unexpected("TLS client for " + d.name + ": " + dc.error().describe());
        direct[d.name] = std::make_unique<TlsContext>(std::move(*dc));
    }
    server_tls_ = std::move(servers);
    client_tls_ = std::move(clients);
    client_direct_tls_ = std::move(direct);
    cert_not_after_ = std::move(not_after);
    return {};
}

Result<void, std::string> ProxyServer::init() {
    const ProxyConfig& pc = *config_.proxy;
    started_ms_ = link_since_ms_ = uv_now(loop_);

    auto store = registry::RegistryStore::open(config_.registry.path);
    if (!store)
        return Unexpected("registry " + config_.registry.path + ": " + store.error().describe());
    store_.emplace(std::move(*store));
    if (auto s = store_->ensure_dialback_secret(); !s)
        return Unexpected("registry: " + s.error().describe());
    auto policy = store_->load_policy();
    if (!policy) return Unexpected("registry: " + policy.error().describe());
    if (auto dv = store_->data_version()) data_version_ = *dv;

    if (auto r = build_tls(pc); !r) return r;

    dns::ResolverOptions ro;
    for (const auto& s : pc.dns_servers) {
        if (!ro.servers.empty()) ro.servers += ',';
        ro.servers += s.to_string();
    }
    ro.timeout_ms = static_cast<std::uint32_t>(pc.timers.dns.ms);
    auto resolver = dns::Resolver::create(loop_, ro);
    if (!resolver) return Unexpected("DNS: " + resolver.error().describe());
    resolver_ = std::move(*resolver);

    RouterOptions opts;
    for (const auto& d : pc.domains)
        opts.local_domains.insert(d.name);
    for (const auto& [name, ctx] : server_tls_)
        opts.server_tls[name] = ctx.get();
    for (const auto& [name, ctx] : client_tls_)
        opts.client_tls[name] = ctx.get();
    for (const auto& [name, ctx] : client_direct_tls_)
        opts.client_direct_tls[name] = ctx.get();
    opts.resolver = resolver_.get();
    opts.connect_timeout_ms = static_cast<std::uint64_t>(pc.timers.connect.ms);
    opts.dialback_timeout_ms = static_cast<std::uint64_t>(pc.timers.dialback.ms);
    opts.to_gateway = [this](link::StanzaFrame& f) {
        if (!link_ || !link_->is_up()) return GatewaySend::Down;
        if (!link_->can_send()) return GatewaySend::Full;
        return link_->send_stanza(f) ? GatewaySend::Sent : GatewaySend::Full;
    };
    router_ = std::make_unique<Router>(loop_, std::move(opts), std::move(*policy));

    const GatewayLink& gl = *pc.gateway_link;
    link::LinkClientOptions lo = link::client_options(gl, pc.timers);
    link::LinkClientCallbacks cb;
    // LinkClient logs link.up and link.down itself.
    cb.on_up = [this](const link::Hello&) {
        link_since_ms_ = uv_now(loop_);
        router_->gateway_writable();
    };
    // Stanzas held for credit cannot go now: bounce them and read from partners again.
    cb.on_down = [this](const link::CloseReason&) {
        link_since_ms_ = uv_now(loop_);
        router_->gateway_writable();
    };
    cb.on_stanza = [this](link::StanzaFrame f) {
        router_->from_gateway(std::move(f));
        link_->stanza_done(1);
    };
    cb.on_registry = [this](std::uint64_t version, std::string json) {
        apply_snapshot(version, json);
    };
    cb.on_writable = [this] { router_->gateway_writable(); };
    auto client = link::LinkClient::create(loop_, std::move(lo), std::move(cb));
    if (!client) return Unexpected("gateway link: " + client.error().describe());
    link_ = std::move(*client);

    // The control socket before the listeners: a second fedgw-proxy learns that one is
    // running from it ("another fedgw-proxy is running on ...") rather than from a busy port.
    if (auto r = open_control(); !r) return r;
    if (auto r = listen_all(); !r) return r;
    link_->start();

    for (int signum : {SIGTERM, SIGINT, SIGHUP}) {
        auto* s = new uv_signal_t;
        uv_signal_init(loop_, s);
        s->data = this;
        uv_signal_start(s, on_signal, signum);
        signals_.push_back(s);
    }
    registry_timer_ = new uv_timer_t;
    uv_timer_init(loop_, registry_timer_);
    registry_timer_->data = this;
    uv_timer_start(
        registry_timer_, [](uv_timer_t* t) { static_cast<ProxyServer*>(t->data)->poll_registry(); },
        kRegistryPollMs, kRegistryPollMs);
    log::info("proxy.started", {{"config", config_path_},
                                {"domains", pc.domains.size()},
                                {"listen", pc.listen.front().to_string()},
                                {"gateway", gl.address->to_string()}});
    return {};
}

Result<void, std::string> ProxyServer::listen_all() {
    for (const auto& hp : config_.proxy->listen)
        if (auto r = listen_on(hp, false); !r) return r;
    for (const auto& hp : config_.proxy->direct_tls_listen)
        if (auto r = listen_on(hp, true); !r) return r;
    return {};
}

Result<void, std::string> ProxyServer::listen_on(const HostPort& hp, bool direct_tls) {
    sockaddr_storage ss{};
    std::string ip = hp.host;
    int rc = hp.ip && ip.find(':') != std::string::npos
                 ? uv_ip6_addr(ip.c_str(), hp.port, reinterpret_cast<sockaddr_in6*>(&ss))
                 : uv_ip4_addr(ip.c_str(), hp.port, reinterpret_cast<sockaddr_in*>(&ss));
    const std::string what = direct_tls ? "direct TLS listen address " : "listen address ";
    if (rc != 0) return Unexpected(what + hp.to_string() + ": " + uv_strerror(rc));
    auto* t = new uv_tcp_t;
    uv_tcp_init(loop_, t);
    t->data = this;
    listeners_.push_back(t);
    rc = uv_tcp_bind(t, reinterpret_cast<sockaddr*>(&ss), 0);
    if (rc == 0)
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(t), 128,
                       direct_tls ? on_direct_tls_connection : on_connection);
    if (rc != 0)
        return Unexpected("cannot listen on " + hp.to_string() +
                          (direct_tls ? " (direct_tls_listen)" : "") + ": " + uv_strerror(rc) +
                          (rc == UV_EADDRINUSE ? " (another process holds the port)" : ""));
    listen_addresses_.push_back({bound_address(t, hp.to_string()), direct_tls});
    log::info("proxy.listening",
              {{"address", listen_addresses_.back().address}, {"direct_tls", direct_tls}});
    return {};
}

void ProxyServer::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<ProxyServer*>(server->data);
    if (status != 0) {
        log::warn("proxy.accept_failed", {{"reason", uv_strerror(status)}});
        return;
    }
    self->router_->accept(server);
}

// XEP-0368: the same Router::accept, with the TLS handshake first; the connection counts in
// the same limits and timers as a STARTTLS one.
void ProxyServer::on_direct_tls_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<ProxyServer*>(server->data);
    if (status != 0) {
        log::warn("proxy.accept_failed", {{"reason", uv_strerror(status)}, {"direct_tls", true}});
        return;
    }
    self->router_->accept(server, true);
}

void ProxyServer::on_signal(uv_signal_t* s, int signum) {
    auto* self = static_cast<ProxyServer*>(s->data);
    if (signum == SIGHUP)
        self->reload();
    else
        self->stop();
}

void ProxyServer::poll_registry() {
    auto dv = store_->data_version();
    if (!dv || *dv == data_version_) return;
    data_version_ = *dv;
    auto rev = store_->revision();
    if (!rev || static_cast<std::uint64_t>(*rev) == router_->policy().version) return;
    auto p = store_->load_policy();
    if (!p) {
        log::error("registry.reload_failed", {{"reason", p.error().describe()}});
        return;
    }
    router_->update_policy(std::move(*p));
}

void ProxyServer::apply_snapshot(std::uint64_t version, const std::string& json) {
    auto p = registry::policy_from_json(json);
    if (!p) {
        log::error("registry.snapshot_refused", {{"version", version}, {"reason", p.error()}});
        return;
    }
    // Keep the front end's policy locally, so it is enforced while the link is down.
    // Nothing is written when the file already holds it (one host, one shared file).
    if (auto r = store_->replace_policy(*p); !r)
        log::error("registry.snapshot_not_stored", {{"reason", r.error().describe()}});
    p->version = version;
    router_->update_policy(std::move(*p));
    if (auto dv = store_->data_version()) data_version_ = *dv;
}

void ProxyServer::reload() {
    auto c = load_config_for(Role::Proxy, config_path_);
    if (!c) {
        log::error("proxy.reload_failed",
                   {{"reason", c.error().describe()}, {"kept", "the running configuration"}});
        return;
    }
    if (auto r = build_tls(*c->proxy); !r) {
        log::error("proxy.reload_failed",
                   {{"reason", r.error()}, {"kept", "the running certificates"}});
        return;
    }
    log::set_level(c->log.level);
    auto views = [](const std::map<std::string, std::unique_ptr<TlsContext>>& owned) {
        std::map<std::string, const TlsContext*> m;
        for (const auto& [name, ctx] : owned)
            m[name] = ctx.get();
        return m;
    };
    router_->set_tls(views(server_tls_), views(client_tls_), views(client_direct_tls_));
    log::info("proxy.reloaded", {{"config", config_path_},
                                 {"note",
                                  "certificates apply to new streams; listen addresses "
                                  "and the gateway link need a restart"}});
}

void ProxyServer::stop() {
    if (stopping_) return;
    stopping_ = true;
    log::info("proxy.stopping", {});
    for (auto* t : listeners_)
        close_and_delete(t);
    listeners_.clear();
    grace_timer_ = new uv_timer_t;
    uv_timer_init(loop_, grace_timer_);
    grace_timer_->data = this;
    uv_timer_start(
        grace_timer_,
        [](uv_timer_t* t) {
            log::warn("proxy.grace_expired", {});
            static_cast<ProxyServer*>(t->data)->finish();
        },
        static_cast<std::uint64_t>(config_.proxy->timers.shutdown_grace.ms), 0);
    router_->shutdown([this] { finish(); });
}

void ProxyServer::finish() {
    if (!grace_timer_) return;  // already finished
    close_and_delete(grace_timer_);
    grace_timer_ = nullptr;
    if (link_) link_->close("the proxy is shutting down");
    if (control_) control_->close();
    for (auto* s : signals_)
        close_and_delete(s);
    signals_.clear();
    close_and_delete(registry_timer_);
    registry_timer_ = nullptr;
    if (resolver_) resolver_->close();
    log::info("proxy.stopped", {});
}

}  // namespace fedgw::proxy
