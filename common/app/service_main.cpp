// run_service: the shared main() of fedgw-proxy and fedgw-gateway. See service_main.hpp.
//
// Loop-bound.
#include "common/app/service_main.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <utility>

#include "common/log/log.hpp"

namespace fedgw::app {

int run_service(int argc, char** argv, const ServiceInfo& info, const StartFn& start) {
    CLI::App app{info.description};
    std::string config_path(default_config_path());
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_flag("--check-config", check_only,
                 "validate the configuration and its files, print the result, and exit");
    app.set_version_flag("--version", info.name + " " + FEDGW_VERSION);
    app.footer(
        "Exit status: 0 clean stop or valid configuration, 1 configuration or start-up "
        "error, 2 usage error.\nSignals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the " +
        info.on_sighup);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    auto config = load_config_for(info.role, config_path);
    if (!config) {
        std::fprintf(stderr, "%s: %s\n", info.name.c_str(), config.error().describe().c_str());
        return 1;
    }
    if (check_only) {
        std::printf("%s: configuration is valid for %s\n", config_path.c_str(), info.name.c_str());
        return 0;
    }
    log::set_level(config->log.level);
    // libuv writes with write(2): a peer or control client that vanishes mid-write must cost
    // an EPIPE on that connection, not the whole process.
    std::signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc = 0;
    {
        auto server = start(&loop, std::move(*config), config_path);
        if (!server) {
            log::error(info.log_prefix + ".start_failed", {{"reason", server.error()}});
            std::fprintf(stderr, "%s: %s\n", info.name.c_str(), server.error().c_str());
            rc = 1;
        } else {
            uv_run(&loop, UV_RUN_DEFAULT);
        }
    }
    // Handles closed by destructors need one more turn.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) log::warn(info.log_prefix + ".loop_not_clean", {});
    return rc;
}

}  // namespace fedgw::app
