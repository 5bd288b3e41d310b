// [proxy]: what fedgw-proxy, the XMPP s2s edge, reads from the per-host configuration.
// Required keys are checked by validate(); this file reads, converts and applies defaults.
//
// Pure.
#include <string>

#include "common/config/sections.hpp"

namespace fedgw::config_detail {
namespace {

std::string indexed(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

void read_domains(TableReader& r, std::vector<LocalDomain>& domains) {
    const toml::array* arr = r.table_array("domain");
    if (arr == nullptr) return;
    const std::string path = r.key_path("domain");
    for (std::size_t i = 0; i < arr->size(); ++i) {
        TableReader d(*arr->get(i)->as_table(), indexed(path, i), r.errors());
        LocalDomain domain;
        d.value("name", domain.name, parse_name);
        d.value("cert", domain.cert, parse_path);
        d.value("key", domain.key, parse_path);
        d.finish();
        for (std::size_t j = 0; j < domains.size(); ++j) {
            if (!domain.name.empty() && domains[j].name == domain.name) {
                d.invalid("name",
                          "\"" + domain.name + "\" is already configured in " + indexed(path, j));
            }
        }
        domains.push_back(std::move(domain));
    }
}

void read_gateway_link(TableReader r, GatewayLink& link) {
    r.value("address", link.address, parse_host_port);
    r.value("name", link.name, parse_name);
    r.value("cert", link.cert, parse_path);
    r.value("key", link.key, parse_path);
    r.value("ca", link.ca, parse_path);
    r.finish();
    // The gateway's certificate carries the name we dial, unless we dial an IP address.
    if (link.name.empty() && link.address && !link.address->is_ip()) {
        link.name = link.address->host;
    }
}

void read_timers(TableReader r, ProxyTimers& t) {
    const Duration min = Duration::millis(1);
    r.duration("dialback", t.dialback, min, kMaxTimer);
    r.duration("dns", t.dns, min, kMaxTimer);
    r.duration("connect", t.connect, min, kMaxTimer);
    r.duration("reconnect_min", t.reconnect_min, min, kMaxTimer);
    r.duration("reconnect_max", t.reconnect_max, min, kMaxTimer);
    r.duration("shutdown_grace", t.shutdown_grace, Duration{}, kMaxTimer);
    r.finish();
    if (t.reconnect_max < t.reconnect_min) {
        r.invalid("reconnect_max",
                  "must not be less than reconnect_min (" + format_duration(t.reconnect_min) + ")");
    }
}

// The IPv4 or IPv6 wildcard ("0.0.0.0", "::"): binds every address of its family, and on a
// dual-stack host "[::]" takes the IPv4 port too.
bool is_wildcard(const HostPort& hp) {
    return hp.ip && *hp.ip == (hp.ip->is_v4() ? IpAddress::any_v4() : IpAddress::any_v6());
}

// Two listen addresses that cannot both be bound: the same port on the same address, or on
// a wildcard that covers the other.
bool same_socket(const HostPort& a, const HostPort& b) {
    return a.port == b.port && (a.host == b.host || is_wildcard(a) || is_wildcard(b));
}

// XEP-0368: the direct TLS ports speak TLS from the first byte, so none may be a STARTTLS
// port as well.
void check_direct_tls_listen(TableReader& r, const ProxyConfig& p) {
    for (std::size_t i = 0; i < p.direct_tls_listen.size(); ++i) {
        for (std::size_t j = 0; j < p.listen.size(); ++j) {
            if (!same_socket(p.direct_tls_listen[i], p.listen[j])) continue;
            r.invalid("direct_tls_listen",
                      "\"" + p.direct_tls_listen[i].to_string() + "\" shares its port with " +
                          indexed(r.key_path("listen"), j) + " \"" + p.listen[j].to_string() +
                          "\"; direct TLS (XEP-0368) needs a port of its own, like "
                          "\"[::]:5270\"");
            return;
        }
    }
}

}  // namespace

ProxyConfig read_proxy(TableReader& r) {
    ProxyConfig p;
    r.list("listen", p.listen, parse_listen_address, false);
    r.list("direct_tls_listen", p.direct_tls_listen, parse_listen_address, true);
    check_direct_tls_listen(r, p);
    r.value("control_socket", p.control_socket, parse_socket_path);
    r.value("trust_file", p.trust_file, parse_path);
    r.list("dns_servers", p.dns_servers, parse_dns_server, true);
    read_domains(r, p.domains);
    if (const toml::table* t = r.table("gateway_link")) {
        p.gateway_link.emplace();
        read_gateway_link(TableReader(*t, r.key_path("gateway_link"), r.errors()), *p.gateway_link);
    }
    if (const toml::table* t = r.table("timers")) {
        read_timers(TableReader(*t, r.key_path("timers"), r.errors()), p.timers);
    }
    r.finish();
    return p;
}

}  // namespace fedgw::config_detail
