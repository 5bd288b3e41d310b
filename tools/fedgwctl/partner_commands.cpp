// fedgwctl partner add|set|remove|show|list (registry_commands.hpp).
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/jid/jid_prep.hpp"
#include "tools/fedgwctl/registry_commands.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;
using registry::Partner;

json partner_json(const Partner& p, const registry::Policy& policy) {
    json j;
    j["domain"] = p.domain;
    j["additional_domains"] = p.additional_domains;
    j["type"] = registry::name(p.type);
    j["tls"] = registry::name(p.tls);
    j["sasl"] = registry::name(p.sasl);
    j["dialback"] = p.dialback;
    j["keepalive"] = p.keepalive;
    j["connection_limit"] = p.connection_limit ? json(p.connection_limit) : json(nullptr);
    j["effective_connection_limit"] =
        p.connection_limit ? p.connection_limit : policy.settings.partner_connection_limit;
    j["static_route"] = p.static_route.empty() ? json(nullptr) : json(p.static_route);
    j["description"] = p.description;
    j["enabled"] = p.enabled;
    const auto* b = policy.find_blocked(p.domain);
    j["blocked"] = b != nullptr;
    return j;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string s;
    for (const auto& x : v) {
        if (!s.empty()) s += sep;
        s += x;
    }
    return s;
}

void print_warnings(const std::vector<std::string>& warnings) {
    for (const auto& w : warnings)
        warn(w);
}

// Applies the options to p. Domains to add and remove are prepared like the primary one.
CtlResult<void> apply(const PartnerOptions& o, Partner& p) {
    if (o.type) p.type = *registry::partner_type_from_name(*o.type);
    if (o.tls) p.tls = *registry::negotiation_from_name(*o.tls);
    if (o.sasl) p.sasl = *registry::negotiation_from_name(*o.sasl);
    if (o.dialback) p.dialback = *o.dialback;
    if (o.keepalive) p.keepalive = *o.keepalive;
    if (o.connection_limit) p.connection_limit = *o.connection_limit;
    if (o.route) {
        p.static_route = *o.route;
        std::transform(p.static_route.begin(), p.static_route.end(), p.static_route.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    if (o.description) p.description = *o.description;
    if (o.enabled) p.enabled = *o.enabled;
    for (const auto& raw : o.remove_domains) {
        auto d = prepare_registry_domain(raw);
        if (!d) return Unexpected(d.error());
        auto it = std::find(p.additional_domains.begin(), p.additional_domains.end(), *d);
        if (it == p.additional_domains.end())
            return ctl_fail(Exit::NotFound,
                            *d + " is not an additional domain of partner " + p.domain);
        p.additional_domains.erase(it);
    }
    for (const auto& raw : o.add_domains) {
        auto d = prepare_registry_domain(raw);
        if (!d) return Unexpected(d.error());
        p.additional_domains.push_back(*d);
    }
    return {};
}

void warn_if_blocked(registry::RegistryStore& store, const Partner& p) {
    auto policy = store.load_policy();
    if (!policy) return;
    for (const auto& b : policy->blocked)
        if (p.covers(b.domain))
            warn(b.domain +
                 " is blocked, and blocking wins: remove the block with "
                 "`fedgwctl blocked remove " +
                 b.domain + "`");
}

CtlResult<Exit> write(const GlobalOptions& g, const PartnerOptions& o, bool add) {
    auto domain = prepare_registry_domain(o.domain);
    if (!domain) return Unexpected(domain.error());
    auto store = open_registry(g, OpenMode::Write);
    if (!store) return Unexpected(store.error());
    Partner p;
    if (!add) {
        auto existing = store->get_partner(*domain);
        if (!existing) return Unexpected(from_store(existing.error()));
        p = std::move(*existing);
    }
    p.domain = *domain;
    auto applied = apply(o, p);
    if (!applied) return Unexpected(applied.error());
    auto warnings = add ? store->add_partner(p) : store->update_partner(p);
    if (!warnings) return Unexpected(from_store(warnings.error()));
    print_warnings(*warnings);
    warn_if_blocked(*store, p);
    if (g.json) {
        out(json{{"domain", p.domain},
                 {"action", add ? "added" : "updated"},
                 {"warnings", *warnings}}
                .dump(2) +
            "\n");
    } else {
        out((add ? "added partner " : "updated partner ") + p.domain + "\n");
    }
    return Exit::Ok;
}

}  // namespace

bool PartnerOptions::changes_anything() const {
    return type || tls || sasl || dialback || keepalive || connection_limit || route ||
           description || enabled || !add_domains.empty() || !remove_domains.empty();
}

CtlResult<std::string> prepare_registry_domain(const std::string& raw) {
    auto d = prepare_domain(raw);
    if (!d)
        return ctl_fail(Exit::Refused, "'" + raw + "' is not a domain: " + d.error().describe());
    if (!registry::is_plausible_domain(*d))
        return ctl_fail(Exit::Refused, "'" + raw + "' is not a domain name the registry can hold");
    return *d;
}

CtlResult<Exit> partner_add(const GlobalOptions& g, const PartnerOptions& o) {
    return write(g, o, true);
}

CtlResult<Exit> partner_set(const GlobalOptions& g, const PartnerOptions& o) {
    if (!o.changes_anything())
        return ctl_fail(Exit::Usage, "partner set " + o.domain +
                                         ": nothing to change (give at least one setting; "
                                         "see fedgwctl partner set --help)");
    return write(g, o, false);
}

CtlResult<Exit> partner_remove(const GlobalOptions& g, const std::string& raw) {
    auto domain = prepare_registry_domain(raw);
    if (!domain) return Unexpected(domain.error());
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto r = store->remove_partner(*domain);
    if (!r) return Unexpected(from_store(r.error()));
    if (g.json)
        out(json{{"domain", *domain}, {"action", "removed"}}.dump(2) + "\n");
    else
        out("removed partner " + *domain + " (its live streams close)\n");
    return Exit::Ok;
}

CtlResult<Exit> partner_show(const GlobalOptions& g, const std::string& raw) {
    auto domain = prepare_registry_domain(raw);
    if (!domain) return Unexpected(domain.error());
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto policy = store->load_policy();
    if (!policy) return Unexpected(from_store(policy.error()));
    const Partner* p = policy->find_partner(*domain);
    if (!p) return ctl_fail(Exit::NotFound, "no partner " + *domain);
    if (g.json) {
        out(partner_json(*p, *policy).dump(2) + "\n");
        return Exit::Ok;
    }
    if (p->domain != *domain)
        out(*domain + " is an additional domain of partner " + p->domain + "\n");
    Table t({"SETTING", "VALUE"});
    t.add({"domain", p->domain});
    t.add({"additional domains",
           p->additional_domains.empty() ? "-" : join(p->additional_domains, ", ")});
    t.add({"type", std::string(registry::name(p->type))});
    t.add({"tls", std::string(registry::name(p->tls))});
    t.add({"sasl", std::string(registry::name(p->sasl))});
    t.add(
        {"dialback", std::string(on_off(p->dialback)) +
                         (p->dialback && !p->allows_dialback() ? " (unused: SASL required)" : "")});
    t.add({"keepalive", std::string(on_off(p->keepalive))});
    t.add({"connection limit",
           p->connection_limit
               ? std::to_string(p->connection_limit)
               : std::to_string(policy->settings.partner_connection_limit) + " (global default)"});
    t.add({"static route", p->static_route.empty() ? "- (DNS SRV)" : p->static_route});
    t.add({"description", p->description.empty() ? "-" : p->description});
    t.add({"enabled", std::string(on_off(p->enabled))});
    if (const auto* b = policy->find_blocked(p->domain))
        t.add({"blocked", "yes" + (b->reason.empty() ? std::string() : " (" + b->reason + ")") +
                              ": blocking wins"});
    out(t.render());
    return Exit::Ok;
}

CtlResult<Exit> partner_list(const GlobalOptions& g) {
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto policy = store->load_policy();
    if (!policy) return Unexpected(from_store(policy.error()));
    if (g.json) {
        json a = json::array();
        for (const auto& p : policy->partners)
            a.push_back(partner_json(p, *policy));
        out(a.dump(2) + "\n");
        return Exit::Ok;
    }
    if (policy->partners.empty()) {
        out("no partners (federation mode " +
            std::string(registry::name(policy->settings.federation_mode)) + ")\n");
        return Exit::Ok;
    }
    Table t({"DOMAIN", "TYPE", "TLS", "SASL", "DIALBACK", "KEEPALIVE", "LIMIT", "ROUTE", "ENABLED",
             "ALSO", "DESCRIPTION"});
    for (const auto& p : policy->partners) {
        std::string enabled(on_off(p.enabled));
        if (policy->find_blocked(p.domain)) enabled += " (blocked)";
        t.add({p.domain, std::string(registry::name(p.type)), std::string(registry::name(p.tls)),
               std::string(registry::name(p.sasl)), std::string(on_off(p.dialback)),
               std::string(on_off(p.keepalive)),
               p.connection_limit ? std::to_string(p.connection_limit) : "-",
               p.static_route.empty() ? "-" : p.static_route, enabled,
               p.additional_domains.empty() ? "-" : join(p.additional_domains, ","),
               p.description});
    }
    out(t.render());
    return Exit::Ok;
}

}  // namespace fedgw::ctl
