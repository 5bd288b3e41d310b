// run_service: the whole main() of a fedgw service (fedgw-proxy, fedgw-gateway) — the command
// line (-c/--config, --check-config, --version, --help), loading the configuration for the
// service's role, SIGPIPE ignored, the libuv loop run until the service stops, and the exit
// status: 0 clean stop or valid configuration, 1 configuration or start-up error, 2 usage
// error. SIGTERM/SIGINT/SIGHUP are the service's own (its server installs them on the loop).
//
// Loop-bound (owns the process's libuv loop).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/base/result.hpp"
#include "common/config/config.hpp"

namespace fedgw::app {

// What differs between the services' mains.
struct ServiceInfo {
    std::string name;         // "fedgw-proxy": messages, --version
    std::string log_prefix;   // "proxy": events proxy.start_failed, proxy.loop_not_clean
    Role role = Role::Proxy;  // the configuration section it reads
    std::string description;  // the --help text above the options
    std::string on_sighup;    // the --help footer's "SIGHUP reloads the ..." tail
};

// Starts the service on the loop with the loaded configuration and its path (for reloads).
// What it returns is the running service: kept until the loop has stopped, then destroyed
// before the loop's last turn closes its handles.
using StartFn = std::function<Result<std::shared_ptr<void>, std::string>(
    uv_loop_t* loop, Config config, std::string config_path)>;

// Returns the process's exit status.
int run_service(int argc, char** argv, const ServiceInfo& info, const StartFn& start);

// The StartFn of a server class with `static Result<std::unique_ptr<Server>, std::string>
// start(uv_loop_t*, Config, std::string config_path)`.
template <class Server>
StartFn start_server() {
    return [](uv_loop_t* loop, Config config,
              std::string config_path) -> Result<std::shared_ptr<void>, std::string> {
        auto s = Server::start(loop, std::move(config), std::move(config_path));
        if (!s) return Unexpected(std::move(s.error()));
        return std::shared_ptr<void>(std::move(*s));
    };
}

}  // namespace fedgw::app
