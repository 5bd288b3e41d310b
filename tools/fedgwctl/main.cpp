// fedgwctl: the operator's CLI of fedgw — the partner registry (partners, blocked domains,
// global settings, per-SIP-user access) and netstat-style self-diagnostics (diag, check-dns,
// check-cert). docs/fedgwctl.md describes every command and the exit codes.
//
// Tool (edge): this file only builds the command line (CLI11) and dispatches.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <string>

#include "common/config/config.hpp"
#include "common/log/log.hpp"
#include "tools/fedgwctl/cert_check.hpp"
#include "tools/fedgwctl/diag.hpp"
#include "tools/fedgwctl/dns_check.hpp"
#include "tools/fedgwctl/registry_commands.hpp"

namespace {

using namespace fedgw::ctl;

const std::vector<std::string> kOnOff{"on", "off"};
const std::vector<std::string> kNegotiation{"required", "optional", "not-supported"};
const std::vector<std::string> kTypes{"federated", "public-verified", "public-unverified"};

using Action = std::function<CtlResult<Exit>()>;

void add_partner_settings(CLI::App* sub, PartnerOptions& po, bool is_set) {
    sub->add_option_function<std::string>(
           "--type", [&po](const std::string& v) { po.type = v; },
           "federated (subscribe without approval, sees status notes), public-verified "
           "(subscribe without approval, no notes) or public-unverified (the SIP user must "
           "have added the contact; the default)")
        ->check(CLI::IsMember(kTypes));
    sub->add_option_function<std::string>(
           "--tls", [&po](const std::string& v) { po.tls = v; },
           "STARTTLS with this partner: required (default), optional or not-supported")
        ->check(CLI::IsMember(kNegotiation));
    sub->add_option_function<std::string>(
           "--sasl", [&po](const std::string& v) { po.sasl = v; },
           "SASL EXTERNAL (certificates): required, optional (default) or not-supported")
        ->check(CLI::IsMember(kNegotiation));
    sub->add_option_function<std::string>(
           "--dialback", [&po](const std::string& v) { po.dialback = v == "on"; },
           "Server Dialback (XEP-0220): on (default) or off")
        ->check(CLI::IsMember(kOnOff));
    sub->add_option_function<std::string>(
           "--keepalive", [&po](const std::string& v) { po.keepalive = v == "on"; },
           "whitespace keepalives on idle streams: on (default) or off")
        ->check(CLI::IsMember(kOnOff));
    sub->add_option_function<std::uint32_t>(
           "--connection-limit", [&po](std::uint32_t v) { po.connection_limit = v; },
           "s2s connections with this partner; 0: the global partner_connection_limit")
        ->type_name("N");
    sub->add_option_function<std::string>(
           "--route", [&po](const std::string& v) { po.route = v; },
           "static route overriding DNS SRV: HOST, HOST:PORT or [V6]:PORT")
        ->type_name("HOST[:PORT]");
    sub->add_flag_callback(
        "--no-route", [&po] { po.route = std::string(); }, "remove the static route (use DNS)");
    sub->add_option_function<std::string>(
           "--description", [&po](const std::string& v) { po.description = v; },
           "free text for operators")
        ->type_name("TEXT");
    sub->add_option_function<std::string>(
           "--enabled", [&po](const std::string& v) { po.enabled = v == "on"; },
           "on (default), or off to refuse the partner without removing it")
        ->check(CLI::IsMember(kOnOff));
    sub->add_option("--domain,--add-domain", po.add_domains,
                    "an additional domain of this partner (e.g. its conference service); "
                    "repeatable")
        ->allow_extra_args(false)
        ->type_name("DOMAIN");
    if (is_set)
        sub->add_option("--remove-domain", po.remove_domains,
                        "drop an additional domain; repeatable")
            ->allow_extra_args(false)
            ->type_name("DOMAIN");
}

std::string access_footer() {
    return "SIPUSER is the address of record, user@domain (a sip: prefix is dropped). Users "
           "without a value of their own get the default (fedgwctl access default on|off).\n\n" +
           std::string(exit_code_help());
}

}  // namespace

int main(int argc, char** argv) {
    fedgw::log::set_level(fedgw::log::Level::Warn);
    CLI::App app{
        "fedgwctl: manage the fedgw partner registry and diagnose the fedgw services on this "
        "host.\nRegistry commands work on the SQLite file named by --db or by [registry] path "
        "of the configuration; the running services pick changes up without a restart."};
    app.fallthrough();  // global options may follow the subcommand (inherited by every one)
    app.footer(std::string(exit_code_help()));
    app.require_subcommand(1);

    GlobalOptions g;
    g.config_path = std::string(fedgw::default_config_path());
    app.add_option_function<std::string>(
           "-c,--config",
           [&g](const std::string& v) {
               g.config_path = v;
               g.config_given = true;
           },
           "configuration file (default " + g.config_path + ")")
        ->type_name("FILE");
    app.add_option("--db", g.db_path, "the registry file; overrides [registry] path")
        ->type_name("PATH");
    app.add_flag("--json", g.json, "machine-readable output (every read command)");
    app.set_version_flag("--version", std::string("fedgwctl ") + FEDGW_VERSION);

    Action action;

    // ---- partner ----
    PartnerOptions po;
    auto* partner = app.add_subcommand("partner", "federated XMPP domains and their policy");
    partner->require_subcommand(1);
    auto* p_add = partner->add_subcommand(
        "add", "add a partner (refused with the reason when TLS/SASL/dialback do not combine)");
    p_add->add_option("domain", po.domain, "the partner's XMPP domain")->required();
    add_partner_settings(p_add, po, false);
    p_add->callback([&] { action = [&] { return partner_add(g, po); }; });
    auto* p_set = partner->add_subcommand("set", "change a partner's settings");
    p_set->add_option("domain", po.domain, "the partner's domain")->required();
    add_partner_settings(p_set, po, true);
    p_set->callback([&] { action = [&] { return partner_set(g, po); }; });
    auto* p_rm = partner->add_subcommand("remove", "remove a partner; its live streams close");
    p_rm->add_option("domain", po.domain, "the partner's domain")->required();
    p_rm->callback([&] { action = [&] { return partner_remove(g, po.domain); }; });
    auto* p_show = partner->add_subcommand("show", "one partner's settings");
    p_show
        ->add_option("domain", po.domain, "the partner's domain, or one of its additional domains")
        ->required();
    p_show->callback([&] { action = [&] { return partner_show(g, po.domain); }; });
    auto* p_list = partner->add_subcommand("list", "every partner, one line each");
    p_list->callback([&] { action = [&] { return partner_list(g); }; });

    // ---- blocked ----
    std::string domain, reason;
    auto* blocked = app.add_subcommand(
        "blocked", "domains refused in both directions, whatever the federation mode");
    blocked->require_subcommand(1);
    auto* b_add = blocked->add_subcommand("add", "block a domain; its live streams close");
    b_add->add_option("domain", domain, "the domain")->required();
    b_add->add_option("--reason", reason, "why (shown in logs and refusals)")->type_name("TEXT");
    b_add->callback([&] { action = [&] { return blocked_add(g, domain, reason); }; });
    auto* b_rm = blocked->add_subcommand("remove", "unblock a domain");
    b_rm->add_option("domain", domain, "the domain")->required();
    b_rm->callback([&] { action = [&] { return blocked_remove(g, domain); }; });
    auto* b_list = blocked->add_subcommand("list", "the blocked domains");
    b_list->callback([&] { action = [&] { return blocked_list(g); }; });

    // ---- settings ----
    std::string key, value;
    bool show_secret = false;
    auto* settings = app.add_subcommand("settings", "global federation settings");
    settings->footer(settings_help() + "\n" + std::string(exit_code_help()));
    settings->require_subcommand(1);
    auto* s_get = settings->add_subcommand("get", "every setting, or the value of KEY");
    s_get->add_option("key", key, "a setting's key");
    s_get->add_flag("--show-secret", show_secret, "print the dialback secret");
    s_get->callback([&] { action = [&] { return settings_get(g, key, show_secret); }; });
    auto* s_set = settings->add_subcommand("set", "change a setting (the value is checked)");
    s_set->add_option("key", key, "a setting's key")->required();
    s_set->add_option("value", value, "the new value: a number, on/off, a duration, a mode")
        ->required();
    s_set->callback([&] { action = [&] { return settings_set(g, key, value); }; });

    // ---- access ----
    std::string sip_user;
    auto* access = app.add_subcommand("access", "per-SIP-user XMPP access and its default");
    access->footer(access_footer());
    access->require_subcommand(1);
    auto* a_set = access->add_subcommand("set", "a SIP user's XMPP access");
    a_set->add_option("sipuser", sip_user, "user@domain")->required();
    a_set->add_option("value", value, "on, off, or default (follow the default)")
        ->required()
        ->check(CLI::IsMember({"on", "off", "default"}));
    a_set->callback([&] { action = [&] { return access_set(g, sip_user, value); }; });
    auto* a_show = access->add_subcommand("show", "the default and users' own values");
    a_show->add_option("sipuser", sip_user, "one user: its effective access");
    a_show->callback([&] { action = [&] { return access_show(g, sip_user); }; });
    auto* a_def = access->add_subcommand("default", "the access of users without their own value");
    a_def->add_option("value", value, "on or off; omitted: show it")->check(CLI::IsMember(kOnOff));
    a_def->callback([&] {
        action = [&] {
            return value.empty() ? settings_get(g, "xmpp_access_default", false)
                                 : settings_set(g, "xmpp_access_default", value);
        };
    });

    // ---- diagnostics ----
    DiagOptions dopt;
    auto* d = app.add_subcommand(
        "diag",
        "self-check of the services on this host: listening sockets and their processes, live "
        "state through the control sockets, the link, DNS SRV and certificates");
    d->add_option("--service", dopt.service, "which service to check (default: all configured)")
        ->check(CLI::IsMember({"all", "proxy", "gateway"}));
    d->add_flag_callback(
        "--no-dns", [&] { dopt.dns = false; }, "skip the DNS SRV check");
    d->add_option("--dns-server", dopt.dns_servers, "DNS server, IP[:PORT]; repeatable")
        ->allow_extra_args(false)
        ->type_name("ADDR");
    d->add_option("--timeout", dopt.timeout_ms, "per control socket and DNS query, in ms")
        ->capture_default_str();
    d->add_option("--warn-days", dopt.warn_days, "certificates expiring sooner fail")
        ->capture_default_str();
    d->callback([&] { action = [&] { return diag(g, dopt); }; });

    std::vector<std::string> dns_servers;
    std::string route;
    int dns_timeout = 2000;
    auto* cd = app.add_subcommand(
        "check-dns", "SRV and address records of a domain, as the proxy resolves them");
    cd->add_option("domain", domain, "an XMPP domain (a partner's, or ours)")->required();
    cd->add_option("--dns-server", dns_servers,
                   "DNS server, IP[:PORT]; repeatable (default: [proxy] dns_servers, else the "
                   "system resolver)")
        ->allow_extra_args(false)
        ->type_name("ADDR");
    cd->add_option("--route", route, "resolve this static route instead of SRV")
        ->type_name("HOST[:PORT]");
    cd->add_option("--timeout", dns_timeout, "first try per query, in ms")->capture_default_str();
    cd->callback(
        [&] { action = [&] { return check_dns(g, domain, dns_servers, route, dns_timeout); }; });

    std::string cert_file, ca_file;
    std::vector<std::string> names;
    int warn_days = kDefaultWarnDays;
    auto* cc = app.add_subcommand(
        "check-cert", "names a certificate covers (DNS-ID, SRV-ID, XmppAddr), chain, days left");
    cc->add_option("file", cert_file, "PEM file: the leaf first, then intermediates")->required();
    cc->add_option("--name", names, "a domain it must cover; repeatable")
        ->allow_extra_args(false)
        ->type_name("DOMAIN");
    cc->add_option("--ca", ca_file, "verify the chain against these CA certificates (PEM)")
        ->type_name("FILE");
    cc->add_option("--warn-days", warn_days, "fail when fewer days are left")
        ->capture_default_str();
    cc->callback(
        [&] { action = [&] { return check_cert(g, cert_file, names, ca_file, warn_days); }; });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : static_cast<int>(Exit::Usage);
    }
    if (!action) return static_cast<int>(Exit::Usage);
    auto r = action();
    if (!r) {
        std::fprintf(stderr, "fedgwctl: %s\n", r.error().text.c_str());
        return static_cast<int>(r.error().code);
    }
    std::fflush(stdout);
    return static_cast<int>(*r);
}
