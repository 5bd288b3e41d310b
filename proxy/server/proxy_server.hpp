// ProxyServer: fedgw-proxy assembled from its configuration: listeners on 5269, the TLS
// contexts of our domains, the DNS resolver, the local registry copy, the link client to the
// gateway and the Router between them; signals for shutdown (SIGTERM, SIGINT) and reload
// (SIGHUP).
//
// Loop-bound: one uv_loop_t, one thread.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
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

  private:
    ProxyServer(uv_loop_t* loop, Config config, std::string path);
    Result<void, std::string> init();
    Result<void, std::string> build_tls(const ProxyConfig& pc);
    Result<void, std::string> listen_all();
    void poll_registry();
    void apply_snapshot(std::uint64_t version, const std::string& json);
    void finish();
    static void on_signal(uv_signal_t* s, int signum);
    static void on_connection(uv_stream_t* server, int status);

    uv_loop_t* loop_;
    Config config_;
    std::string config_path_;
    std::optional<registry::RegistryStore> store_;
    std::map<std::string, std::unique_ptr<TlsContext>> server_tls_;  // by local domain
    std::map<std::string, std::unique_ptr<TlsContext>> client_tls_;
    std::unique_ptr<dns::Resolver> resolver_;
    std::unique_ptr<Router> router_;
    std::unique_ptr<link::LinkClient> link_;
    std::vector<uv_tcp_t*> listeners_;
    std::vector<uv_signal_t*> signals_;
    uv_timer_t* registry_timer_ = nullptr;
    uv_timer_t* grace_timer_ = nullptr;
    std::int64_t data_version_ = -1;
    bool stopping_ = false;
};

}  // namespace fedgw::proxy
