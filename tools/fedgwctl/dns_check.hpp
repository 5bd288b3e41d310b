// fedgwctl check-dns, and the DNS step of fedgwctl diag: the SRV records
// (_xmpps-server._tcp, XEP-0368, and _xmpp-server._tcp, RFC 6120 §3.2.1) and addresses of a
// domain, resolved by common/dns exactly as the proxy resolves a partner (find_xmpp_server,
// with the configuration's dns_servers or --dns-server).
//
// Edge (tool): a private libuv loop runs the c-ares resolver until each answer is in.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "common/dns/resolver.hpp"
#include "tools/fedgwctl/ctl_common.hpp"

namespace fedgw::ctl {

// One blocking lookup at a time over dns::Resolver on its own loop.
class BlockingResolver {
  public:
    // servers: IP[:port] entries (port 53 when left out); empty: /etc/resolv.conf.
    static CtlResult<std::unique_ptr<BlockingResolver>> create(
        const std::vector<std::string>& servers, int timeout_ms);
    ~BlockingResolver();
    BlockingResolver(const BlockingResolver&) = delete;
    BlockingResolver& operator=(const BlockingResolver&) = delete;

    Result<std::vector<dns::SrvRecord>, dns::DnsError> srv(const std::string& name);
    Result<std::vector<dns::IpAddress>, dns::DnsError> addresses(const std::string& host);
    Result<std::vector<dns::Endpoint>, dns::DnsError> xmpp_server(const std::string& domain,
                                                                  const std::string& route);
    // "127.0.0.1:5353,[::1]:53", or "system resolver".
    const std::string& servers_text() const { return servers_text_; }

  private:
    BlockingResolver() = default;
    uv_loop_t loop_{};
    bool loop_open_ = false;
    std::unique_ptr<dns::Resolver> resolver_;
    std::string servers_text_;
};

// The DNS servers for a lookup: --dns-server when given, else [proxy] dns_servers of the
// configuration when it loads, else none (the system resolver).
std::vector<std::string> dns_servers_for(const GlobalOptions& g,
                                         const std::vector<std::string>& overrides);

// check-dns DOMAIN [--dns-server IP[:PORT]]... [--route HOST[:PORT]]. When --route is not
// given and the registry names a static route for the domain's partner, that route is used,
// as the proxy would.
CtlResult<Exit> check_dns(const GlobalOptions& g, const std::string& domain,
                          const std::vector<std::string>& dns_servers, const std::string& route,
                          int timeout_ms);

// The exit code a DNS failure maps to: Unreachable for timeouts and refusals, else Refused.
Exit exit_for(const dns::DnsError& e);

}  // namespace fedgw::ctl
