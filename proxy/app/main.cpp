// fedgw-proxy: the XMPP server-to-server edge. See README.md and `fedgw-proxy --help`.
#include <uv.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "proxy/server/proxy_server.hpp"

int main(int argc, char** argv) {
    using namespace fedgw;
    CLI::App app{
        "fedgw-proxy: the XMPP server-to-server edge of fedgw (port 5269).\n"
        "Authenticates partner domains (STARTTLS, SASL EXTERNAL, dialback), enforces the\n"
        "partner registry, and relays stanzas to fedgw-gateway over mutual TLS."};
    std::string config_path(default_config_path());
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_flag("--check-config", check_only,
                 "validate the configuration and its files, print the result, and exit");
    app.set_version_flag("--version", std::string("fedgw-proxy ") + FEDGW_VERSION);
    app.footer(
        "Exit status: 0 clean stop or valid configuration, 1 configuration or start-up "
        "error, 2 usage error.\nSignals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the "
        "configuration and certificates.");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    auto config = load_config_for(Role::Proxy, config_path);
    if (!config) {
        std::fprintf(stderr, "fedgw-proxy: %s\n", config.error().describe().c_str());
        return 1;
    }
    if (check_only) {
        std::printf("%s: configuration is valid for fedgw-proxy\n", config_path.c_str());
        return 0;
    }
    log::set_level(config->log.level);
    // libuv writes with write(2): a partner or control client that vanishes mid-write must
    // cost an EPIPE on that connection, not the whole process.
    std::signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc = 0;
    {
        auto server = proxy::ProxyServer::start(&loop, std::move(*config), config_path);
        if (!server) {
            log::error("proxy.start_failed", {{"reason", server.error()}});
            std::fprintf(stderr, "fedgw-proxy: %s\n", server.error().c_str());
            rc = 1;
        } else {
            uv_run(&loop, UV_RUN_DEFAULT);
        }
    }
    // Handles closed by destructors need one more turn.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) log::warn("proxy.loop_not_clean", {});
    return rc;
}
