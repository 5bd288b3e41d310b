// validate(): the section a role needs is present and has every required key. Value formats,
// ranges and unknown keys were already checked by parse_config.
//
// Pure.
#include <optional>
#include <string>

#include "common/config/config.hpp"

namespace fedgw {
namespace {

// Keeps the first missing key; later checks are no-ops once one is found.
class Requirements {
  public:
    explicit Requirements(const Config& c) : config_(c) {}

    void require(bool present, std::string key, std::string why) {
        if (present || error_) return;
        error_ = ConfigError{ConfigErrorCode::Missing,    config_.source, std::move(key), 0, 0,
                             "missing; " + std::move(why)};
    }

    Result<void, ConfigError> result() const {
        if (error_) return Unexpected(*error_);
        return {};
    }

  private:
    const Config& config_;
    std::optional<ConfigError> error_;
};

void require_proxy(const ProxyConfig& p, Requirements& req) {
    req.require(!p.domains.empty(), "proxy.domain",
                "add a [[proxy.domain]] table for each local XMPP domain, with its name, cert "
                "and key");
    for (std::size_t i = 0; i < p.domains.size(); ++i) {
        const LocalDomain& d = p.domains[i];
        const std::string at = "proxy.domain[" + std::to_string(i) + "].";
        const std::string of = d.name.empty() ? "this domain" : d.name;
        req.require(!d.name.empty(), at + "name", "the local XMPP domain this entry serves");
        req.require(!d.cert.empty(), at + "cert", "the certificate chain (PEM) for " + of);
        req.require(!d.key.empty(), at + "key", "the private key (PEM) for " + of);
    }
    req.require(p.gateway_link.has_value(), "proxy.gateway_link",
                "add [proxy.gateway_link] with the gateway's address and the internal CA "
                "certificates");
    if (!p.gateway_link) return;
    const GatewayLink& l = *p.gateway_link;
    req.require(l.address.has_value(), "proxy.gateway_link.address",
                "the gateway's host:port, like \"frontend.example.internal:23456\"");
    req.require(!l.name.empty(), "proxy.gateway_link.name",
                "the address is an IP address, so give the name the gateway's certificate "
                "carries");
    req.require(!l.cert.empty(), "proxy.gateway_link.cert",
                "the proxy's client certificate (PEM) from the internal CA");
    req.require(!l.key.empty(), "proxy.gateway_link.key", "the private key (PEM) for cert");
    req.require(!l.ca.empty(), "proxy.gateway_link.ca",
                "the internal CA certificate (PEM) that signed the gateway's certificate");
}

void require_gateway(const GatewayConfig& g, Requirements& req) {
    req.require(!g.domains.empty(), "gateway.domains",
                "list the SIP/XMPP domains the gateway fronts, like [\"example.com\"]");
    req.require(!g.cert.empty(), "gateway.cert",
                "the gateway's server certificate (PEM) from the internal CA");
    req.require(!g.key.empty(), "gateway.key", "the private key (PEM) for cert");
    req.require(!g.ca.empty(), "gateway.ca",
                "the internal CA certificate (PEM) that signed the proxy's certificate");
    req.require(!g.proxy_name.empty(), "gateway.proxy_name",
                "the name the proxy's certificate must carry");
    req.require(!g.sip.next_hops.empty(), "gateway.sip.next_hops",
                "where SIP requests go, like [\"udp:127.0.0.1:5060\"]");
    if (g.sip.uses_tls()) {
        const std::string why = " (a tls transport is used in gateway.sip)";
        req.require(!g.sip.tls_cert.empty(), "gateway.sip.tls_cert",
                    "the SIP TLS certificate (PEM)" + why);
        req.require(!g.sip.tls_key.empty(), "gateway.sip.tls_key",
                    "the private key (PEM) for tls_cert" + why);
        req.require(!g.sip.tls_ca.empty(), "gateway.sip.tls_ca",
                    "the CA certificates (PEM) for the SIP platform's certificates" + why);
    }
}

}  // namespace

bool SipConfig::uses_tls() const {
    for (const auto& a : listen) {
        if (a.transport == SipTransport::Tls) return true;
    }
    for (const auto& a : next_hops) {
        if (a.transport == SipTransport::Tls) return true;
    }
    return false;
}

Result<void, ConfigError> validate(const Config& config, Role role) {
    Requirements req(config);
    switch (role) {
        case Role::Proxy:
            req.require(config.proxy.has_value(), "proxy", "fedgw-proxy needs a [proxy] section");
            if (config.proxy) require_proxy(*config.proxy, req);
            break;
        case Role::Gateway:
            req.require(config.gateway.has_value(), "gateway",
                        "fedgw-gateway needs a [gateway] section");
            if (config.gateway) require_gateway(*config.gateway, req);
            break;
    }
    return req.result();
}

}  // namespace fedgw
