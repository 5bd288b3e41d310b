#include "tools/fedgwctl/dns_check.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "common/config/config.hpp"
#include "common/jid/jid_prep.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;

// Runs the loop until `got` is filled.
template <class R>
R wait(uv_loop_t* loop, std::optional<R>& got) {
    while (!got) {
        if (uv_run(loop, UV_RUN_ONCE) == 0 && !got)
            return Unexpected(
                dns::DnsError{dns::DnsErrorKind::Internal, "the lookup ended without an answer"});
    }
    return std::move(*got);
}

CtlResult<std::string> server_text(const std::string& s) {
    if (auto ip = parse_ip_address(s)) return HostPort{ip->to_string(), 53, *ip}.to_string();
    auto hp = parse_host_port(s);
    if (!hp || !hp->is_ip())
        return ctl_fail(Exit::Usage, "--dns-server '" + s +
                                         "' is not IP or IP:PORT (e.g. 127.0.0.1:5353, [::1])");
    return hp->to_string();
}

std::string srv_status(const Result<std::vector<dns::SrvRecord>, dns::DnsError>& r) {
    if (r) return dns::is_no_service(*r) ? "no-service" : "found";
    return std::string(dns::dns_error_name(r.error().kind));
}

}  // namespace

Exit exit_for(const dns::DnsError& e) {
    switch (e.kind) {
        case dns::DnsErrorKind::Timeout:
        case dns::DnsErrorKind::Refused:
        case dns::DnsErrorKind::ServerFailure:
            return Exit::Unreachable;
        case dns::DnsErrorKind::BadName:
        case dns::DnsErrorKind::BadConfig:
            return Exit::Usage;
        default:
            return Exit::Refused;
    }
}

CtlResult<std::unique_ptr<BlockingResolver>> BlockingResolver::create(
    const std::vector<std::string>& servers, int timeout_ms) {
    std::unique_ptr<BlockingResolver> r(new BlockingResolver());
    dns::ResolverOptions options;
    for (const auto& s : servers) {
        auto t = server_text(s);
        if (!t) return Unexpected(t.error());
        if (!options.servers.empty()) options.servers += ",";
        options.servers += *t;
    }
    r->servers_text_ = options.servers.empty() ? "system resolver" : options.servers;
    options.timeout_ms = static_cast<std::uint32_t>(timeout_ms > 0 ? timeout_ms : 1);
    options.tries = 2;
    if (uv_loop_init(&r->loop_) != 0) return ctl_fail(Exit::Environment, "cannot start libuv");
    r->loop_open_ = true;
    auto res = dns::Resolver::create(&r->loop_, options);
    if (!res) return ctl_fail(Exit::Environment, "DNS: " + res.error().describe());
    r->resolver_ = std::move(*res);
    return r;
}

BlockingResolver::~BlockingResolver() {
    if (resolver_) resolver_->close();
    resolver_.reset();
    if (loop_open_) {
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }
}

Result<std::vector<dns::SrvRecord>, dns::DnsError> BlockingResolver::srv(const std::string& name) {
    std::optional<Result<std::vector<dns::SrvRecord>, dns::DnsError>> got;
    auto req = resolver_->resolve_srv(name, [&](auto r) { got.emplace(std::move(r)); });
    return wait(&loop_, got);
}

Result<std::vector<dns::IpAddress>, dns::DnsError> BlockingResolver::addresses(
    const std::string& host) {
    std::optional<Result<std::vector<dns::IpAddress>, dns::DnsError>> got;
    auto req = resolver_->resolve_addresses(host, [&](auto r) { got.emplace(std::move(r)); });
    return wait(&loop_, got);
}

Result<std::vector<dns::Endpoint>, dns::DnsError> BlockingResolver::xmpp_server(
    const std::string& domain, const std::string& route) {
    std::optional<Result<std::vector<dns::Endpoint>, dns::DnsError>> got;
    auto req =
        resolver_->find_xmpp_server(domain, route, [&](auto r) { got.emplace(std::move(r)); });
    return wait(&loop_, got);
}

std::vector<std::string> dns_servers_for(const GlobalOptions& g,
                                         const std::vector<std::string>& overrides) {
    if (!overrides.empty()) return overrides;
    std::vector<std::string> servers;
    struct stat st {};
    if (!g.config_given && ::stat(g.config_path.c_str(), &st) != 0) return servers;
    auto config = load_config(g.config_path);
    if (!config || !config->proxy) return servers;
    for (const auto& s : config->proxy->dns_servers)
        servers.push_back(s.to_string());
    return servers;
}

CtlResult<Exit> check_dns(const GlobalOptions& g, const std::string& raw_domain,
                          const std::vector<std::string>& dns_servers, const std::string& route_opt,
                          int timeout_ms) {
    auto domain = prepare_domain_ascii(raw_domain);
    if (!domain)
        return ctl_fail(Exit::Usage,
                        "'" + raw_domain + "' is not a domain: " + domain.error().describe());
    std::string route = route_opt;
    std::string route_source = route.empty() ? "" : "--route";
    if (route.empty()) {
        // The partner's static route wins over DNS in the proxy; show the same.
        if (auto path = registry_path(g); path && !path->empty()) {
            struct stat st {};
            if (::stat(path->c_str(), &st) == 0)
                if (auto store = open_registry(g, OpenMode::Read))
                    if (auto policy = store->load_policy())
                        if (auto d = prepare_domain(raw_domain))
                            if (const auto* p = policy->find_partner(*d))
                                if (!p->static_route.empty()) {
                                    route = p->static_route;
                                    route_source = "registry partner " + p->domain;
                                }
        }
    }
    auto resolver = BlockingResolver::create(dns_servers_for(g, dns_servers), timeout_ms);
    if (!resolver) return Unexpected(resolver.error());
    auto& r = **resolver;

    json srv_json = json::object();
    std::string text = "DNS servers: " + r.servers_text() + "\n";
    for (std::string_view service : {dns::kXmppsServerService, dns::kXmppServerService}) {
        const std::string name = std::string(service) + *domain;
        auto records = r.srv(name);
        json entry{{"status", srv_status(records)}};
        if (!records) {
            entry["error"] = records.error().describe();
            text += "SRV " + name + ": none (" +
                    std::string(dns::dns_error_name(records.error().kind)) + ")\n";
        } else if (dns::is_no_service(*records)) {
            text += "SRV " + name + ": \".\" (the service is decidedly not offered)\n";
            entry["records"] = json::array();
        } else {
            text += "SRV " + name + ":\n";
            Table t({"PRIORITY", "WEIGHT", "PORT", "TARGET", "ADDRESSES"});
            json recs = json::array();
            for (const auto& rec : *records) {
                auto addrs = r.addresses(rec.target);
                std::string addr_text;
                json addr_json = json::array();
                if (addrs) {
                    for (const auto& a : *addrs) {
                        if (!addr_text.empty()) addr_text += ", ";
                        addr_text += a.text;
                        addr_json.push_back(a.text);
                    }
                } else {
                    addr_text = "(" + std::string(dns::dns_error_name(addrs.error().kind)) + ")";
                }
                t.add({std::to_string(rec.priority), std::to_string(rec.weight),
                       std::to_string(rec.port), rec.target, addr_text});
                recs.push_back({{"priority", rec.priority},
                                {"weight", rec.weight},
                                {"port", rec.port},
                                {"target", rec.target},
                                {"addresses", addr_json}});
            }
            entry["records"] = recs;
            text += t.render("  ");
        }
        srv_json[name] = entry;
    }

    auto endpoints = r.xmpp_server(*domain, route);
    json ep_json = json::array();
    if (!route.empty())
        text += "static route: " + route + " (from " + route_source + "; SRV is not used)\n";
    if (endpoints) {
        text += "endpoints, in the order the proxy tries them:\n";
        Table t({"#", "ADDRESS", "PORT", "TLS", "TARGET"});
        int i = 0;
        for (const auto& e : *endpoints) {
            t.add({std::to_string(++i), e.address.text, std::to_string(e.port),
                   e.direct_tls ? "direct (XEP-0368)" : "starttls", e.target_host});
            ep_json.push_back({{"address", e.address.text},
                               {"port", e.port},
                               {"direct_tls", e.direct_tls},
                               {"target", e.target_host}});
        }
        text += t.render("  ");
    } else {
        text += "no endpoint: " + endpoints.error().describe() + "\n";
    }
    if (g.json) {
        out(json{{"domain", *domain},
                 {"dns_servers", r.servers_text()},
                 {"route", route.empty() ? json(nullptr) : json(route)},
                 {"srv", srv_json},
                 {"endpoints", ep_json},
                 {"error", endpoints ? json(nullptr) : json(endpoints.error().describe())},
                 {"ok", endpoints.has_value()}}
                .dump(2) +
            "\n");
    } else {
        out(text);
    }
    return endpoints ? Exit::Ok : exit_for(endpoints.error());
}

}  // namespace fedgw::ctl
