// fedgwctl diag: collecting the report and walking the checklist (diag.hpp).
#include "tools/fedgwctl/diag.hpp"

#include <sys/stat.h>

#include "tools/fedgwctl/diag_checks.hpp"
#include "tools/fedgwctl/dns_check.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;

std::vector<SocketRow> service_sockets(const std::vector<SocketRow>& all, const ServiceReport& r,
                                       const ServiceConfig& c,
                                       const std::optional<HostPort>& link_target) {
    const std::int64_t pid = r.status ? jint(*r.status, "pid") : 0;
    std::vector<SocketRow> rows;
    for (const auto& row : all) {
        const auto& s = row.socket;
        if (s.is(TcpState::TimeWait)) continue;
        bool mine = row.owner && pid && row.owner->pid == pid;
        for (const auto& l : c.listen)
            mine = mine || listen_matches(l, s);
        if (link_target && s.remote_port == link_target->port &&
            (!link_target->ip || *link_target->ip == s.remote))
            mine = true;
        if (mine) rows.push_back(row);
    }
    return rows;
}

}  // namespace

std::string jstr(const json& j, const char* key) {
    if (!j.is_object()) return "";
    auto it = j.find(key);
    if (it == j.end()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_null()) return "";
    return it->dump();
}

std::int64_t jint(const json& j, const char* key) {
    if (!j.is_object()) return 0;
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return 0;
    return it->get<std::int64_t>();
}

CtlResult<Exit> diag(const GlobalOptions& g, const DiagOptions& o) {
    auto config = load_config(g.config_path);
    if (!config)
        return ctl_fail(Exit::Environment,
                        config.error().describe() +
                            "\n  fix: diag needs the services' configuration: --config FILE");
    const bool want_proxy = o.service != "gateway" && config->proxy;
    const bool want_gateway = o.service != "proxy" && config->gateway;
    if (o.service == "proxy" && !config->proxy)
        return ctl_fail(Exit::Usage, g.config_path + " has no [proxy] section");
    if (o.service == "gateway" && !config->gateway)
        return ctl_fail(Exit::Usage, g.config_path + " has no [gateway] section");
    if (!want_proxy && !want_gateway)
        return ctl_fail(Exit::Environment,
                        g.config_path + " has neither [proxy] nor [gateway]: nothing to check");

    DiagReport report;
    report.config_path = g.config_path;
    std::vector<SocketRow> all;
    {
        auto sockets = read_tcp_sockets(report.proc_error);
        SocketOwners owners = find_socket_owners();
        report.unreadable_processes = owners.unreadable;
        for (const auto& s : sockets) {
            SocketRow row{s, std::nullopt};
            if (auto it = owners.by_inode.find(s.inode); it != owners.by_inode.end())
                row.owner = it->second;
            all.push_back(row);
        }
    }

    std::vector<ServiceConfig> services;
    if (want_proxy)
        services.push_back(
            {"fedgw-proxy", "proxy", config->proxy->control_socket, config->proxy->listen});
    if (want_gateway)
        services.push_back(
            {"fedgw-gateway", "gateway", config->gateway->control_socket, config->gateway->listen});

    for (const auto& c : services) {
        ServiceReport r;
        r.name = c.name;
        r.control_socket = c.socket;
        auto status = query_control(c.socket, "status", o.timeout_ms);
        if (status)
            r.status = std::move(*status);
        else
            r.error = status.error();
        std::optional<HostPort> link_target;
        if (c.section == "proxy" && config->proxy->gateway_link)
            link_target = config->proxy->gateway_link->address;
        r.sockets = service_sockets(all, r, c, link_target);

        report.checks.push_back(running_check(c, r, g.config_path));
        for (const auto& l : c.listen)
            report.checks.push_back(listen_check(c, r, l, all, report.unreadable_processes));
        if (r.status && c.section == "proxy")
            report.checks.push_back(proxy_link_check(r, *config->proxy));
        if (r.status && c.section == "gateway")
            report.checks.push_back(gateway_link_check(r, *config->gateway));
        report.services.push_back(std::move(r));
    }

    // The registry as this host has it: blocked or disabled partners with live streams, and
    // a service still running on an older revision. Opened read-only; skipped when absent.
    if (auto path = g.db_path.empty() ? config->registry.path : g.db_path; !path.empty()) {
        struct stat st {};
        DbOptions ro;
        ro.read_only = true;
        if (::stat(path.c_str(), &st) == 0)
            if (auto store = registry::RegistryStore::open(path, ro))
                if (auto policy = store->load_policy())
                    for (const auto& s : report.services)
                        if (s.status) report.checks.push_back(policy_check(s, *policy));
    }

    if (want_proxy) {
        const ProxyConfig& pc = *config->proxy;
        if (o.dns && !pc.domains.empty()) {
            auto resolver =
                BlockingResolver::create(dns_servers_for(g, o.dns_servers), o.timeout_ms);
            if (!resolver) return Unexpected(resolver.error());
            const auto here = local_addresses();
            for (const auto& d : pc.domains)
                report.checks.push_back(dns_check(d.name, pc, **resolver, here));
        }
        for (const auto& d : pc.domains)
            report.checks.push_back(cert_check(d, report.services.front(), o.warn_days));
    }

    if (g.json)
        out(render_json(report).dump(2) + "\n");
    else
        render_text(report);

    bool failed = false, unreachable = false;
    for (const auto& c : report.checks) {
        if (c.severity != Severity::Fail) continue;
        failed = true;
        unreachable = unreachable || c.unreachable;
    }
    return unreachable ? Exit::Unreachable : failed ? Exit::Refused : Exit::Ok;
}

}  // namespace fedgw::ctl
