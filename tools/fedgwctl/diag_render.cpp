// fedgwctl diag: the report as aligned tables or as JSON (diag.hpp).
#include "tools/fedgwctl/diag.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;

std::string_view severity_name(Severity s) {
    switch (s) {
        case Severity::Ok:
            return "ok";
        case Severity::Warn:
            return "warn";
        case Severity::Fail:
            return "fail";
    }
    return "fail";
}

std::string num(const json& j, const char* key) {
    return std::to_string(jint(j, key));
}

const json& field(const json& j, const char* key) {
    static const json kNull;
    if (!j.is_object()) return kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

std::string join_strings(const json& a) {
    std::string s;
    if (!a.is_array()) return s;
    for (const auto& x : a)
        s += (s.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
    return s;
}

std::string owner_text(const SocketRow& r) {
    return r.owner ? std::to_string(r.owner->pid) + "/" + r.owner->name : "-";
}

void render_sockets(const ServiceReport& s, int unreadable) {
    if (s.sockets.empty()) {
        out("  sockets: none\n");
        return;
    }
    out("  sockets:\n");
    Table t({"PROTO", "LOCAL", "REMOTE", "STATE", "PROCESS"});
    for (const auto& r : s.sockets)
        t.add({r.socket.local.is_v6() ? "tcp6" : "tcp",
               endpoint_text(r.socket.local, r.socket.local_port),
               r.socket.is(TcpState::Listen) ? "*"
                                             : endpoint_text(r.socket.remote, r.socket.remote_port),
               std::string(tcp_state_name(r.socket.state)), owner_text(r)});
    out(t.render("    "));
    bool hidden = false;
    for (const auto& r : s.sockets)
        hidden = hidden || !r.owner;
    if (hidden && unreadable)
        out("    (PROCESS \"-\": not visible to this user; run as root to see every owner)\n");
}

void render_link(const json& link, std::string_view label) {
    std::string line = "  " + std::string(label) + ": " + jstr(link, "state");
    if (!jstr(link, "remote").empty()) line += " " + jstr(link, "remote");
    if (jint(link, "since_s")) line += " for " + format_age(jint(link, "since_s"));
    if (!jstr(link, "tls_version").empty())
        line += ", " + jstr(link, "tls_version") + " " + jstr(link, "cipher");
    if (!jstr(link, "last_error").empty())
        line += " (last error: " + jstr(link, "last_error") + ")";
    out(line + "\n");
}

void render_proxy(const json& s) {
    render_link(field(s, "link"), "link to gateway");
    const json& streams = field(s, "streams");
    if (!streams.is_array() || streams.empty()) {
        out("  streams: none\n");
    } else {
        out("  streams (" + std::to_string(streams.size()) + "):\n");
        Table t({"PARTNER", "DIR", "LOCAL", "REMOTE", "STATE", "TLS", "CIPHER", "AUTH", "AGE", "IN",
                 "OUT", "QUEUE"});
        for (const auto& st : streams)
            t.add({jstr(st, "partner_domain"), jstr(st, "direction"), jstr(st, "local_domain"),
                   jstr(st, "remote"), jstr(st, "state"), jstr(st, "tls_version"),
                   jstr(st, "cipher"), jstr(st, "auth"), format_age(jint(st, "age_s")),
                   num(st, "stanzas_in"), num(st, "stanzas_out"), num(st, "queue")});
        out(t.render("    "));
    }
    const json& domains = field(s, "domains");
    if (domains.is_array() && !domains.empty()) {
        out("  domains:\n");
        Table t({"DOMAIN", "CERTIFICATE", "NOT AFTER", "DAYS LEFT"});
        for (const auto& d : domains)
            t.add({jstr(d, "name"), jstr(d, "cert"), jstr(d, "not_after"), num(d, "days_left")});
        out(t.render("    "));
    }
}

void render_gateway(const json& s) {
    json links = json::array();
    if (field(s, "links").is_array())
        links = field(s, "links");
    else if (field(s, "link").is_object())
        links.push_back(field(s, "link"));
    if (links.empty()) {
        out("  links: no proxy connected\n");
    } else {
        out("  links from proxies:\n");
        Table t({"REMOTE", "STATE", "AGE", "TLS", "CIPHER"});
        for (const auto& l : links)
            t.add({jstr(l, "remote"), jstr(l, "state"), format_age(jint(l, "since_s")),
                   jstr(l, "tls_version"), jstr(l, "cipher")});
        out(t.render("    "));
    }
    const json& sip = field(s, "sip");
    if (sip.is_object()) {
        out("  sip: listen " + join_strings(field(sip, "listen")) + "; next hops " +
            join_strings(field(sip, "next_hops")) + "; transactions " +
            num(sip, "client_transactions") + " client, " + num(sip, "server_transactions") +
            " server; connections " + num(sip, "connections") + "\n");
    }
    const json& subs = field(s, "subscriptions");
    if (!subs.is_array() || subs.empty()) {
        out("  subscriptions: none\n");
    } else {
        out("  subscriptions (" + std::to_string(subs.size()) + "):\n");
        Table t({"XMPP", "SIP", "OUTBOUND", "INBOUND", "DIALOG", "EXPIRES IN"});
        for (const auto& x : subs)
            t.add({jstr(x, "xmpp"), jstr(x, "sip"), jstr(x, "outbound"), jstr(x, "inbound"),
                   field(x, "inbound_dialog").is_boolean()
                       ? std::string(field(x, "inbound_dialog").get<bool>() ? "yes" : "no")
                       : "-",
                   field(x, "outbound_expires_in_s").is_number()
                       ? format_age(jint(x, "outbound_expires_in_s"))
                       : "-"});
        out(t.render("    "));
    }
}

}  // namespace

void render_text(const DiagReport& r) {
    if (!r.proc_error.empty()) out("note: " + r.proc_error + "\n");
    for (const auto& s : r.services) {
        std::string head = s.name;
        if (s.status) {
            const json& st = *s.status;
            head += ": pid " + num(st, "pid") + ", up " + format_age(jint(st, "uptime_s")) +
                    ", version " + jstr(st, "version");
            const json& reg = field(st, "registry");
            if (reg.is_object()) head += ", registry revision " + num(reg, "version");
        } else {
            head += ": NOT REACHABLE (" + s.error->text + ")";
        }
        out(head + "\n  control socket: " + s.control_socket + "\n");
        render_sockets(s, r.unreadable_processes);
        if (s.status && s.name == "fedgw-proxy") render_proxy(*s.status);
        if (s.status && s.name == "fedgw-gateway") render_gateway(*s.status);
        out("\n");
    }
    out("checks:\n");
    int failed = 0, warned = 0, n = 0;
    for (const auto& c : r.checks) {
        ++n;
        const char* mark = c.severity == Severity::Ok     ? "ok  "
                           : c.severity == Severity::Warn ? "WARN"
                                                          : "FAIL";
        out("  " + std::string(mark) + "  " + std::to_string(n) + ". " + c.step);
        out(c.detail.empty() ? "\n" : ": " + c.detail + "\n");
        if (!c.fix.empty() && c.severity != Severity::Ok) out("              fix: " + c.fix + "\n");
        if (c.severity == Severity::Fail) ++failed;
        if (c.severity == Severity::Warn) ++warned;
    }
    out("\n" + std::to_string(n) + " checks: " + std::to_string(n - failed - warned) + " ok, " +
        std::to_string(warned) + " warning" + (warned == 1 ? "" : "s") + ", " +
        std::to_string(failed) + " failed\n");
}

json render_json(const DiagReport& r) {
    json services = json::array();
    for (const auto& s : r.services) {
        json sockets = json::array();
        for (const auto& row : s.sockets)
            sockets.push_back({{"proto", row.socket.local.is_v6() ? "tcp6" : "tcp"},
                               {"local", endpoint_text(row.socket.local, row.socket.local_port)},
                               {"remote", endpoint_text(row.socket.remote, row.socket.remote_port)},
                               {"state", tcp_state_name(row.socket.state)},
                               {"pid", row.owner ? json(row.owner->pid) : json(nullptr)},
                               {"process", row.owner ? json(row.owner->name) : json(nullptr)}});
        services.push_back({{"service", s.name},
                            {"control_socket", s.control_socket},
                            {"reachable", s.status.has_value()},
                            {"error", s.error ? json{{"kind", control_error_name(s.error->kind)},
                                                     {"text", s.error->text}}
                                              : json(nullptr)},
                            {"status", s.status ? *s.status : json(nullptr)},
                            {"sockets", sockets}});
    }
    json checks = json::array();
    bool ok = true;
    for (const auto& c : r.checks) {
        ok = ok && c.severity != Severity::Fail;
        checks.push_back({{"step", c.step},
                          {"result", severity_name(c.severity)},
                          {"detail", c.detail},
                          {"fix", c.fix}});
    }
    return {{"config", r.config_path},
            {"services", services},
            {"checks", checks},
            {"owners_visible", r.unreadable_processes == 0},
            {"ok", ok}};
}

}  // namespace fedgw::ctl
