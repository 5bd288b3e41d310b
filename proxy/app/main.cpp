// fedgw-proxy: the XMPP server-to-server edge. See README.md and `fedgw-proxy --help`; the
// command line, exit status and loop are common/app's run_service.
#include "common/app/service_main.hpp"
#include "proxy/server/proxy_server.hpp"

int main(int argc, char** argv) {
    using namespace fedgw;
    const app::ServiceInfo info{
        .name = "fedgw-proxy",
        .log_prefix = "proxy",
        .role = Role::Proxy,
        .description =
            "fedgw-proxy: the XMPP server-to-server edge of fedgw (port 5269).\n"
            "Authenticates partner domains (STARTTLS, SASL EXTERNAL, dialback), enforces the\n"
            "partner registry, and relays stanzas to fedgw-gateway over mutual TLS.",
        .on_sighup = "configuration and certificates.",
    };
    return app::run_service(argc, argv, info, app::start_server<proxy::ProxyServer>());
}
