// fedgw-gateway: the XMPP <-> SIP front end. See README.md and `fedgw-gateway --help`; the
// command line, exit status and loop are common/app's run_service.
#include "common/app/service_main.hpp"
#include "gateway/server/gateway_server.hpp"

int main(int argc, char** argv) {
    using namespace fedgw;
    const app::ServiceInfo info{
        .name = "fedgw-gateway",
        .log_prefix = "gateway",
        .role = Role::Gateway,
        .description =
            "fedgw-gateway: the XMPP <-> SIP front end of fedgw.\n"
            "Takes the link from fedgw-proxy (mutual TLS, port 23456), translates messages and\n"
            "presence to SIP SIMPLE toward the SIP platform and back, and keeps the registry that\n"
            "the proxy enforces.",
        .on_sighup = "configuration (log level, domains, registry; certificates are checked).",
    };
    return app::run_service(argc, argv, info, app::start_server<gateway::GatewayServer>());
}
