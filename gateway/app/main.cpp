// fedgw-gateway: the XMPP <-> SIP front end. See README.md and `fedgw-gateway --help`.
#include <uv.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "gateway/server/gateway_server.hpp"

int main(int argc, char** argv) {
    using namespace fedgw;
    CLI::App app{
        "fedgw-gateway: the XMPP <-> SIP front end of fedgw.\n"
        "Takes the link from fedgw-proxy (mutual TLS, port 23456), translates messages and\n"
        "presence to SIP SIMPLE toward the SIP platform and back, and keeps the registry that\n"
        "the proxy enforces."};
    std::string config_path(default_config_path());
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_flag("--check-config", check_only,
                 "validate the configuration and its files, print the result, and exit");
    app.set_version_flag("--version", std::string("fedgw-gateway ") + FEDGW_VERSION);
    app.footer(
        "Exit status: 0 clean stop or valid configuration, 1 configuration or start-up "
        "error, 2 usage error.\nSignals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the "
        "configuration (log level, domains, registry; certificates are checked).");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    auto config = load_config_for(Role::Gateway, config_path);
    if (!config) {
        std::fprintf(stderr, "fedgw-gateway: %s\n", config.error().describe().c_str());
        return 1;
    }
    if (check_only) {
        std::printf("%s: configuration is valid for fedgw-gateway\n", config_path.c_str());
        return 0;
    }
    log::set_level(config->log.level);
    // libuv writes with write(2): a proxy, SIP peer or control client that vanishes mid-write
    // must cost an EPIPE on that connection, not the whole process.
    std::signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc = 0;
    {
        auto server = gateway::GatewayServer::start(&loop, std::move(*config), config_path);
        if (!server) {
            log::error("gateway.start_failed", {{"reason", server.error()}});
            std::fprintf(stderr, "fedgw-gateway: %s\n", server.error().c_str());
            rc = 1;
        } else {
            uv_run(&loop, UV_RUN_DEFAULT);
        }
    }
    // Handles closed by destructors need one more turn.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) log::warn("gateway.loop_not_clean", {});
    return rc;
}
