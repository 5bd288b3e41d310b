// ProxyServer: fedgw-proxy assembled from its configuration: listeners on 5269 (STARTTLS)
// and on the XEP-0368 direct TLS ports ([proxy] direct_tls_listen), the TLS
// contexts of our domains, the DNS resolver, the local registry copy, the link client to the
// gateway and the Router between them; signals for shutdown (SIGTERM, SIGINT) and reload
// (SIGHUP); the control socket ([proxy] control_socket, CONTROL_SPEC) answering `status`.
//
// Loop-bound: one uv_loop_t, one thread.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config/config.hpp"
#include "common/control/control_server.hpp"
#include "common/dns/resolver.hpp"
#include "common/linkio/link_client.hpp"
#include "common/registry/registry_store.hpp"
#include "common/tls/tls_context.hpp"
#include "proxy/server/router.hpp"

namespace fedgw::proxy {

class ProxyServer {
  public:
    // Builds everything and starts listening; an error says what failed (file, address, …).
    static Result<std::unique_ptr<ProxyServer>, std::string> start(uv_loop_t* loop, Config config,
                                                                   std::string config_path);
    ~ProxyServer();

    // Graceful stop: refuse new streams, close live ones with system-shutdown, bounce what is
    // queued, say goodbye on the link; the loop then runs out of handles.
    void stop();
    // SIGHUP: re-read the configuration and certificates; keep the old ones when that fails.
    void reload();

    Router& router() { return *router_; }

    // The control socket's `status` object (CONTROL_SPEC): service, version, pid, uptime_s,
    // listeners, link, streams, routes, domains, registry.
    nlohmann::json status() const;

  private:
    ProxyServer(uv_loop_t* loop, Config config, std::string path);
    Result<void, std::string> init();
    Result<void, std::string> build_tls(const ProxyConfig& pc);
    Result<void, std::string> listen_all();
    Result<void, std::string> open_control();
    nlohmann::json link_status() const;
    void poll_registry();
    void apply_snapshot(std::uint64_t version, const std::string& json);
    void finish();
    static void on_signal(uv_signal_t* s, int signum);
    static void on_connection(uv_stream_t* server, int status);
    static void on_direct_tls_connection(uv_stream_t* server, int status);
    Result<void, std::string> listen_on(const HostPort& hp, bool direct_tls);

    uv_loop_t* loop_;
    Config config_;
    std::string config_path_;
    std::optional<registry::RegistryStore> store_;
    std::map<std::string, std::unique_ptr<TlsContext>> server_tls_;  // by local domain
    std::map<std::string, std::unique_ptr<TlsContext>> client_tls_;
    std::map<std::string, std::unique_ptr<TlsContext>> client_direct_tls_;  // ALPN xmpp-server
    std::map<std::string, std::int64_t> cert_not_after_;  // by local domain, Unix seconds
    std::unique_ptr<dns::Resolver> resolver_;
    std::unique_ptr<Router> router_;
    std::unique_ptr<link::LinkClient> link_;
    std::vector<uv_tcp_t*> listeners_;
    struct BoundListener {
        std::string address;  // as bound ("127.0.0.1:5269")
        bool direct_tls = false;
    };
    std::vector<BoundListener> listen_addresses_;
    std::unique_ptr<control::ControlServer> control_;
    std::uint64_t started_ms_ = 0;
    std::uint64_t link_since_ms_ = 0;  // loop time of the link's last up or down
    std::vector<uv_signal_t*> signals_;
    uv_timer_t* registry_timer_ = nullptr;
    uv_timer_t* grace_timer_ = nullptr;
    std::int64_t data_version_ = -1;
    bool stopping_ = false;
};

}  // namespace fedgw::proxy
