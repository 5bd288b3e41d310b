// fedgwctl diag: the netstat-style self-check of the fedgw services on this host. It reads the
// configuration for the ports, sockets and domains to look at, lists the TCP sockets on those
// ports and of those processes (/proc, like `ss -tanp`), asks each service for its live state
// through its control socket (CONTROL_SPEC: {"cmd":"status"}), and walks the troubleshooting
// checklist: process running, port listening, proxy<->gateway link up, our
// _xmpp-server._tcp record, certificates covering each served domain and not close to expiry.
// Each failed step says what to do.
//
// Edge (tool): /proc, UNIX sockets, DNS, PEM files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config/config.hpp"
#include "tools/fedgwctl/control_client.hpp"
#include "tools/fedgwctl/ctl_common.hpp"
#include "tools/fedgwctl/proc_net.hpp"

namespace fedgw::ctl {

struct DiagOptions {
    std::string service = "all";           // all | proxy | gateway
    bool dns = true;                       // false: --no-dns
    std::vector<std::string> dns_servers;  // --dns-server; default: [proxy] dns_servers
    int timeout_ms = 3000;                 // per control socket and DNS query
    int warn_days = 30;                    // certificates expiring sooner fail
};

CtlResult<Exit> diag(const GlobalOptions& g, const DiagOptions& o);

// ---- the report diag builds and renders (diag.cpp collects, diag_render.cpp prints) ----------

enum class Severity { Ok, Warn, Fail };

struct Check {
    std::string step;  // the checklist step, e.g. "fedgw-proxy listens on [::]:5269"
    Severity severity = Severity::Ok;
    std::string detail;        // what was found
    std::string fix;           // what to do; empty when ok
    bool unreachable = false;  // a service could not be asked: exit 3 rather than 1
};

struct SocketRow {
    TcpSocket socket;
    std::optional<ProcessInfo> owner;
};

struct ServiceReport {
    std::string name;            // "fedgw-proxy" / "fedgw-gateway"
    std::string control_socket;  // from the configuration
    std::optional<nlohmann::json> status;
    std::optional<ControlError> error;
    std::vector<SocketRow> sockets;
};

struct DiagReport {
    std::string config_path;
    std::vector<ServiceReport> services;
    std::vector<Check> checks;
    int unreadable_processes = 0;  // whose sockets we could not attribute
    std::string proc_error;        // /proc/net/tcp unreadable
};

void render_text(const DiagReport& r);
nlohmann::json render_json(const DiagReport& r);

// Lenient readers of the services' status JSON: a missing or mistyped field reads as empty.
std::string jstr(const nlohmann::json& j, const char* key);
std::int64_t jint(const nlohmann::json& j, const char* key);

}  // namespace fedgw::ctl
