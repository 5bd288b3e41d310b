// fedgwctl diag's checklist: one function per troubleshooting step, each returning the step's
// outcome with what was found and what to do (diag.hpp has the report they fill).
//
// Edge (tool): the DNS and certificate steps read DNS and PEM files.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/registry/policy.hpp"
#include "tools/fedgwctl/diag.hpp"
#include "tools/fedgwctl/dns_check.hpp"

namespace fedgw::ctl {

// What the configuration says about one service.
struct ServiceConfig {
    std::string name;     // "fedgw-proxy"
    std::string section;  // "proxy"
    std::string socket;
    std::vector<HostPort> listen;
};

// True when a socket's local address is the configured listen address (or either is a
// wildcard) on the same port.
bool listen_matches(const HostPort& configured, const TcpSocket& s);
// This host's interface addresses, as inet_ntop writes them.
std::set<std::string> local_addresses();
// Whether `ip` (text form) is one of `here` (local_addresses()); any 127.0.0.0/8 address
// counts as local when the host has a 127.x address, as Linux routes that /8 to lo.
bool is_local_address(const std::string& ip, const std::set<std::string>& here);

// "NAME running": the control socket answers; otherwise why not, and what to do.
Check running_check(const ServiceConfig& c, const ServiceReport& r, const std::string& config);
// "NAME listens on ADDR": something listens there, and it is the service.
Check listen_check(const ServiceConfig& c, const ServiceReport& r, const HostPort& addr,
                   const std::vector<SocketRow>& all, int unreadable);
// The proxy's link to the gateway is up / the gateway has a proxy linked.
Check proxy_link_check(const ServiceReport& r, const ProxyConfig& pc);
Check gateway_link_check(const ServiceReport& r, const GatewayConfig& gc);
// "DNS _xmpp-server._tcp.DOMAIN points here".
Check dns_check(const std::string& domain, const ProxyConfig& pc, BlockingResolver& resolver,
                const std::set<std::string>& here);
// "certificate for DOMAIN": covers it, serverAuth, not close to expiry.
Check cert_check(const LocalDomain& dom, const ServiceReport& proxy, int warn_days);
// "NAME enforces the registry": no live stream with a partner the registry now refuses, and
// (gateway) the revision it runs on is the file's.
Check policy_check(const ServiceReport& r, const registry::Policy& policy);

}  // namespace fedgw::ctl
