// [gateway]: what fedgw-gateway, the XMPP<->SIP translator, reads from the per-host
// configuration. Required keys are checked by validate(); this file reads, converts and
// applies defaults. SIP timer names are RFC 3261 §17's (table 4).
//
// Pure.
#include <string>

#include "common/config/sections.hpp"

namespace fedgw::config_detail {
namespace {

void read_sip(TableReader r, SipConfig& sip) {
    r.list("listen", sip.listen, parse_sip_listen_address, false);
    r.list("next_hops", sip.next_hops, parse_sip_transport_addr, true);
    r.list("trusted", sip.trusted, parse_cidr, true);
    r.value("tls_cert", sip.tls_cert, parse_path);
    r.value("tls_key", sip.tls_key, parse_path);
    r.value("tls_ca", sip.tls_ca, parse_path);
    r.finish();
}

void read_timers(TableReader r, GatewayTimers& t) {
    const Duration min = Duration::millis(1);
    r.duration("t1", t.t1, min, Duration::minutes(1));
    r.duration("t2", t.t2, min, Duration::minutes(1));
    r.duration("t4", t.t4, min, Duration::minutes(1));
    // Refreshing earlier than a tenth of the expiry is churn; later than nine tenths risks
    // the subscription expiring while the refresh is in flight.
    r.number("refresh_fraction", t.refresh_fraction, 0.1, 0.9);
    r.duration("shutdown_grace", t.shutdown_grace, Duration{}, kMaxTimer);
    r.finish();
    if (t.t2 < t.t1) {
        r.invalid("t2", "must not be less than t1 (" + format_duration(t.t1) + ")");
    }
}

}  // namespace

GatewayConfig read_gateway(TableReader& r) {
    GatewayConfig g;
    r.list("listen", g.listen, parse_listen_address, false);
    r.value("control_socket", g.control_socket, parse_socket_path);
    r.list("domains", g.domains, parse_name, true);
    r.value("cert", g.cert, parse_path);
    r.value("key", g.key, parse_path);
    r.value("ca", g.ca, parse_path);
    r.value("proxy_name", g.proxy_name, parse_name);
    if (const toml::table* t = r.table("sip")) {
        read_sip(TableReader(*t, r.key_path("sip"), r.errors()), g.sip);
    }
    if (const toml::table* t = r.table("timers")) {
        read_timers(TableReader(*t, r.key_path("timers"), r.errors()), g.timers);
    }
    r.finish();
    return g;
}

}  // namespace fedgw::config_detail
