// fedgwctl diag's checklist (diag_checks.hpp).
#include "tools/fedgwctl/diag_checks.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "common/jid/jid_prep.hpp"
#include "common/tls/identity.hpp"
#include "tools/fedgwctl/cert_check.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;

constexpr const char* kSystemCas = "/etc/ssl/certs/ca-certificates.crt";

std::string listen_list(const std::vector<HostPort>& l) {
    std::string s;
    for (const auto& h : l)
        s += (s.empty() ? "" : ", ") + h.to_string();
    return s;
}

}  // namespace

bool listen_matches(const HostPort& configured, const TcpSocket& s) {
    if (s.local_port != configured.port) return false;
    if (!configured.ip || is_unspecified(*configured.ip) || is_unspecified(s.local)) return true;
    return *configured.ip == s.local;
}

bool is_local_address(const std::string& ip, const std::set<std::string>& here) {
    if (here.count(ip)) return true;
    // Linux answers the whole of 127.0.0.0/8 on lo, though lo lists only 127.0.0.1.
    auto loopback_v4 = [](const std::string& a) { return a.rfind("127.", 0) == 0; };
    return loopback_v4(ip) && std::any_of(here.begin(), here.end(), loopback_v4);
}

std::set<std::string> local_addresses() {
    std::set<std::string> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET)
            ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf,
                        sizeof buf);
        else if (i->ifa_addr->sa_family == AF_INET6)
            ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                        sizeof buf);
        else
            continue;
        out.insert(buf);
    }
    ::freeifaddrs(list);
    return out;
}

// Step "NAME running": the control socket answers.
Check running_check(const ServiceConfig& c, const ServiceReport& r, const std::string& config) {
    Check k{c.name + " running", Severity::Ok, "", "", false};
    if (r.status) {
        const json& s = *r.status;
        k.detail = "pid " + std::to_string(jint(s, "pid")) + ", up " +
                   format_age(jint(s, "uptime_s")) + ", version " + jstr(s, "version");
        // The control socket tells anyone who can connect about every stream: owner-only.
        struct stat st {};
        if (::stat(c.socket.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            k.severity = Severity::Warn;
            k.detail += "; its control socket " + c.socket + " is open to group or others (mode " +
                        mode + ")";
            k.fix = "chmod 600 " + c.socket + "; " + c.name +
                    " should create it owner-only (report a bug)";
        }
        return k;
    }
    k.severity = Severity::Fail;
    k.unreachable = true;
    const auto& e = *r.error;
    const std::string unit = "systemctl start " + c.name;
    const std::string logs = "journalctl -u " + c.name + " -n 50";
    switch (e.kind) {
        case ControlErrorKind::NoSocket: {
            auto procs = find_processes(c.name);
            if (!procs.empty()) {
                k.detail = c.name + " runs (pid " + std::to_string(procs.front().pid) +
                           ") but there is no control socket at " + c.socket;
                k.fix = "[" + c.section + "] control_socket in " + config +
                        " must be the one the running process uses; restart " + c.name +
                        " to recreate its socket";
            } else {
                k.detail = c.name + " is not running (no control socket at " + c.socket + ")";
                k.fix = "start it (" + unit + "); if it exits at once, see " + logs + " or run " +
                        c.name + " --check-config --config " + config;
            }
            break;
        }
        case ControlErrorKind::Refused:
            k.detail = c.name + " is not running: " + c.socket +
                       " is a stale socket (the process is gone)";
            k.fix = "see why it stopped (" + logs + "), then start it (" + unit + ")";
            break;
        case ControlErrorKind::PermissionDenied:
            k.detail = "cannot ask " + c.name + ": " + e.text;
            k.fix = "run fedgwctl as root or as the user " + c.name + " runs as";
            break;
        case ControlErrorKind::Timeout:
            k.detail = c.name + " does not answer: " + e.text;
            k.fix =
                "it may be stuck: see " + logs + "; restart it (systemctl restart " + c.name + ")";
            break;
        case ControlErrorKind::NotASocket:
            k.detail = e.text;
            k.fix = "[" + c.section + "] control_socket must name the service's socket, not a file";
            break;
        default:
            k.detail = c.name + " answered unexpectedly: " + e.text;
            k.fix = "check that fedgwctl and " + c.name + " come from the same version";
            break;
    }
    return k;
}

// Step "NAME listens on ADDR", one per configured listen address.
Check listen_check(const ServiceConfig& c, const ServiceReport& r, const HostPort& addr,
                   const std::vector<SocketRow>& all, int unreadable) {
    Check k{c.name + " listens on " + addr.to_string(), Severity::Ok, "", "", false};
    const std::int64_t pid = r.status ? jint(*r.status, "pid") : 0;
    std::vector<const SocketRow*> found;
    for (const auto& row : all)
        if (row.socket.is(TcpState::Listen) && listen_matches(addr, row.socket))
            found.push_back(&row);
    if (found.empty()) {
        k.severity = Severity::Fail;
        k.detail = "nothing listens on port " + std::to_string(addr.port);
        k.fix = r.status ? c.name + " runs but did not bind " + addr.to_string() +
                               ": see journalctl -u " + c.name +
                               " (address in use, or the running configuration differs)"
                         : "start " + c.name + " (systemctl start " + c.name + ")";
        return k;
    }
    for (const auto* row : found) {
        if (row->owner && pid && row->owner->pid == pid) {
            k.detail = endpoint_text(row->socket.local, row->socket.local_port) + " LISTEN, pid " +
                       std::to_string(pid) + " (" + row->owner->name + ")";
            return k;
        }
    }
    for (const auto* row : found) {
        if (row->owner && (pid || row->owner->name != c.name)) {
            k.severity = Severity::Fail;
            k.detail = "port " + std::to_string(addr.port) + " is held by pid " +
                       std::to_string(row->owner->pid) + " (" + row->owner->name + "), not " +
                       c.name;
            k.fix = "stop that process, or give " + c.name + " another [" + c.section +
                    "] listen address";
            return k;
        }
    }
    if (found.front()->owner) {
        k.detail = endpoint_text(found.front()->socket.local, found.front()->socket.local_port) +
                   " LISTEN, pid " + std::to_string(found.front()->owner->pid) + " (" +
                   found.front()->owner->name + ")";
        return k;
    }
    k.detail = endpoint_text(found.front()->socket.local, found.front()->socket.local_port) +
               " LISTEN, owner not visible" +
               (unreadable ? " (run as root to see other users' processes)" : "");
    return k;
}

Check proxy_link_check(const ServiceReport& r, const ProxyConfig& pc) {
    Check k{"fedgw-proxy link to fedgw-gateway up", Severity::Ok, "", "", false};
    const json link = r.status->contains("link") ? (*r.status)["link"] : json::object();
    const std::string state = jstr(link, "state");
    const std::string to = pc.gateway_link && pc.gateway_link->address
                               ? pc.gateway_link->address->to_string()
                               : jstr(link, "remote");
    if (state == "up") {
        k.detail = "up to " + jstr(link, "remote") + " for " + format_age(jint(link, "since_s")) +
                   ", " + jstr(link, "tls_version") + " " + jstr(link, "cipher");
        return k;
    }
    k.severity = Severity::Fail;
    k.detail = "the link to " + to + " is " + (state.empty() ? "not reported" : state);
    if (!jstr(link, "last_error").empty()) k.detail += " (" + jstr(link, "last_error") + ")";
    k.fix = "check that fedgw-gateway runs on " + to +
            " (fedgwctl diag there), that the firewall lets the edge reach TCP " + to +
            ", that the gateway's certificate carries [proxy.gateway_link] name and the "
            "proxy's carries [gateway] proxy_name, both from the internal CA";
    return k;
}

Check gateway_link_check(const ServiceReport& r, const GatewayConfig& gc) {
    Check k{"a fedgw-proxy is linked to fedgw-gateway", Severity::Ok, "", "", false};
    json links = json::array();
    if (r.status->contains("links") && (*r.status)["links"].is_array())
        links = (*r.status)["links"];
    else if (r.status->contains("link") && (*r.status)["link"].is_object())
        links.push_back((*r.status)["link"]);
    std::string up;
    for (const auto& l : links)
        if (jstr(l, "state") == "up" || jstr(l, "state").empty())
            up += (up.empty() ? "" : ", ") + jstr(l, "remote");
    if (!up.empty()) {
        k.detail = "linked from " + up;
        return k;
    }
    k.severity = Severity::Fail;
    k.detail = "no proxy is connected";
    k.fix =
        "the proxy dials the gateway: check fedgw-proxy on the edge (fedgwctl diag there), "
        "that the firewall lets it reach " +
        listen_list(gc.listen) +
        ", and the link certificates ([gateway] proxy_name, [proxy.gateway_link] name)";
    return k;
}

// Step "DNS _xmpp-server._tcp.DOMAIN points here".
Check dns_check(const std::string& domain, const ProxyConfig& pc, BlockingResolver& resolver,
                const std::set<std::string>& here) {
    auto ascii = prepare_domain_ascii(domain);
    const std::string d = ascii ? *ascii : domain;
    const std::string name = "_xmpp-server._tcp." + d;
    Check k{"DNS " + name + " points here", Severity::Ok, "", "", false};
    std::set<std::uint16_t> ports;
    for (const auto& l : pc.listen)
        ports.insert(l.port);
    const std::uint16_t port = pc.listen.empty() ? 5269 : pc.listen.front().port;
    const std::string publish = "publish `" + name + ". 3600 IN SRV 5 0 " + std::to_string(port) +
                                " <this edge's host name>.` with A/AAAA records for that name";
    auto records = resolver.srv(name);
    if (!records) {
        k.severity = Severity::Fail;
        if (records.error().kind == dns::DnsErrorKind::NotFound) {
            k.detail = "no SRV record: partners fall back to " + d +
                       "'s own A/AAAA on 5269, which usually is a web server";
            k.fix = publish;
        } else {
            k.unreachable = records.error().is_transient();
            k.detail = "lookup failed: " + records.error().describe() + " (DNS " +
                       resolver.servers_text() + ")";
            k.fix = "check the DNS servers ([proxy] dns_servers or --dns-server) and that " + name +
                    " resolves from the internet";
        }
        return k;
    }
    if (dns::is_no_service(*records)) {
        k.severity = Severity::Fail;
        k.detail = "the SRV record is \".\": it says " + d + " offers no XMPP federation";
        k.fix = "replace it: " + publish;
        return k;
    }
    std::string targets;
    bool port_ok = false, addr_ok = false;
    for (const auto& rec : *records) {
        targets += (targets.empty() ? "" : ", ") + rec.target + ":" + std::to_string(rec.port);
        if (ports.count(rec.port)) port_ok = true;
        if (auto a = resolver.addresses(rec.target))
            for (const auto& ip : *a)
                if (is_local_address(ip.text, here)) addr_ok = true;
    }
    k.detail = "-> " + targets;
    if (!port_ok) {
        k.severity = Severity::Fail;
        k.detail += ": none on a port fedgw-proxy listens on (" + listen_list(pc.listen) + ")";
        k.fix = "make the SRV port match [proxy] listen (or forward that port here): " + publish;
    } else if (!addr_ok) {
        k.severity = Severity::Warn;
        k.detail += ": no target resolves to an address of this host";
        k.fix =
            "fine behind NAT or a load balancer that forwards to this host; otherwise the "
            "record points at another server";
    }
    return k;
}

// Step "certificate for DOMAIN".
Check cert_check(const LocalDomain& dom, const ServiceReport& proxy, int warn_days) {
    Check k{"certificate for " + dom.name, Severity::Ok, "", "", false};
    auto chain = CertChain::load(dom.cert);
    if (!chain) {
        // Without read access the proxy's own view (status "domains") still has the expiry.
        std::int64_t days = -1;
        bool known = false;
        if (proxy.status && proxy.status->contains("domains"))
            for (const auto& d : (*proxy.status)["domains"])
                if (jstr(d, "name") == dom.name && d.contains("days_left")) {
                    days = jint(d, "days_left");
                    known = true;
                }
        if (chain.error().code == Exit::Environment) {
            k.severity = known && days < warn_days ? Severity::Fail : Severity::Warn;
            k.detail = chain.error().text +
                       (known ? "; the proxy reports " + std::to_string(days) + " days left" : "");
            k.fix = "run as root to check the names it covers";
            return k;
        }
        k.severity = Severity::Fail;
        k.detail = chain.error().text;
        k.fix = "[[proxy.domain]] cert must name a readable PEM file (leaf first)";
        return k;
    }
    const CertFacts f = cert_facts(chain->leaf());
    auto ascii = prepare_domain_ascii(dom.name);
    const IdentityMatch m = verify_identity(chain->leaf(), ascii ? *ascii : dom.name);
    std::vector<std::string> problems;
    if (m == IdentityMatch::None)
        problems.push_back("does not cover " + dom.name + " (it has " + f.names.describe() + ")");
    if (f.days_left < 0)
        problems.push_back("expired on " + format_utc(f.not_after.value_or(0)));
    else if (f.days_left < warn_days)
        problems.push_back("expires in " + std::to_string(f.days_left) + " days");
    if (!f.server_auth) problems.push_back("its extended key usage lacks serverAuth");
    if (!problems.empty()) {
        k.severity = Severity::Fail;
        for (const auto& p : problems)
            k.detail += (k.detail.empty() ? "" : "; ") + p;
        k.detail = dom.cert + ": " + k.detail;
        const bool names_ok = m != IdentityMatch::None && f.server_auth;
        k.fix = (names_ok ? std::string("renew the certificate")
                          : "issue a certificate with DNS:" + (ascii ? *ascii : dom.name) +
                                " in its subjectAltName and serverAuth") +
                ", then reload (systemctl reload fedgw-proxy); check it with fedgwctl "
                "check-cert " +
                dom.cert + " --name " + dom.name;
        return k;
    }
    k.detail = "covered by " + std::string(describe(m)) + ", " + std::to_string(f.days_left) +
               " days left";
    if (std::string err = chain->verify(kSystemCas); !err.empty()) {
        k.severity = Severity::Warn;
        k.detail += "; the chain does not verify against " + std::string(kSystemCas) + ": " + err;
        k.fix =
            "partners that check certificates will refuse it (or fall back to dialback); "
            "use a publicly trusted certificate and include the intermediates";
    }
    return k;
}

Check policy_check(const ServiceReport& r, const registry::Policy& policy) {
    Check k{r.name + " enforces the registry", Severity::Ok, "", "", false};
    const json& status = *r.status;
    const std::int64_t running =
        status.contains("registry") ? jint(status["registry"], "version") : 0;
    std::string refused;
    if (status.contains("streams") && status["streams"].is_array())
        for (const auto& st : status["streams"]) {
            const std::string partner = jstr(st, "partner_domain");
            if (partner.empty()) continue;
            const auto a = policy.admit(partner);
            if (a.admitted() || refused.find(partner + " (") != std::string::npos) continue;
            refused +=
                (refused.empty() ? "" : ", ") + partner + " (" +
                std::string(registry::name(a.refusal.value_or(registry::RefusalRule::Blocked))) +
                ")";
        }
    if (!refused.empty()) {
        k.severity = Severity::Fail;
        k.detail = "streams still open with partners the registry refuses: " + refused +
                   "; it runs on registry revision " + std::to_string(running) +
                   ", the file is at " + std::to_string(policy.version);
        k.fix =
            "the proxy closes them when it applies the change (within seconds, through the "
            "gateway's snapshot); if this persists, check the link and the proxy's log, or "
            "reload it (systemctl reload " +
            r.name + ")";
        return k;
    }
    // Only the gateway reads the master copy; the proxy's own file numbers its snapshots
    // itself, so its revision is not comparable.
    if (r.name == "fedgw-gateway" && running != 0 &&
        running < static_cast<std::int64_t>(policy.version)) {
        k.severity = Severity::Warn;
        k.detail = "it runs on registry revision " + std::to_string(running) + ", the file is at " +
                   std::to_string(policy.version);
        k.fix = "it notices changes within seconds; if this persists, see journalctl -u " + r.name +
                " or reload it (systemctl reload " + r.name + ")";
        return k;
    }
    k.detail = "registry revision " +
               std::to_string(running ? running : static_cast<std::int64_t>(policy.version));
    return k;
}

}  // namespace fedgw::ctl
