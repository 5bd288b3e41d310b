#include "common/registry/policy.hpp"

#include <nlohmann/json.hpp>

namespace fedgw::registry {

using nlohmann::json;

std::string_view name(RefusalRule r) {
    switch (r) {
        case RefusalRule::Blocked: return "blocked";
        case RefusalRule::NotAllowListed: return "not-in-allow-list";
        case RefusalRule::PartnerDisabled: return "partner-disabled";
    }
    return "blocked";
}

const Partner* Policy::find_partner(std::string_view d) const {
    for (const auto& p : partners)
        if (p.covers(d)) return &p;
    return nullptr;
}

const BlockedDomain* Policy::find_blocked(std::string_view d) const {
    for (const auto& b : blocked)
        if (b.domain == d) return &b;
    return nullptr;
}

Partner discovered_partner(std::string_view domain) {
    Partner p;
    p.domain = std::string(domain);
    p.type = PartnerType::PublicUnverified;
    p.tls = Negotiation::Required;
    p.sasl = Negotiation::Optional;
    p.dialback = true;
    p.description = "discovered";
    return p;
}

Admission Policy::admit(std::string_view domain) const {
    Admission a;
    // Blocking wins over everything, including a registry partner of the same name.
    if (const auto* b = find_blocked(domain)) {
        a.refusal = RefusalRule::Blocked;
        a.detail = b->reason;
        return a;
    }
    if (const auto* p = find_partner(domain)) {
        if (!p->enabled) {
            a.refusal = RefusalRule::PartnerDisabled;
            return a;
        }
        a.partner = *p;
        return a;
    }
    if (settings.federation_mode == FederationMode::Discover) {
        a.partner = discovered_partner(domain);
        a.discovered = true;
        return a;
    }
    a.refusal = RefusalRule::NotAllowListed;
    return a;
}

std::string to_json(const Policy& p) {
    json j;
    j["version"] = p.version;
    j["partners"] = json::array();
    for (const auto& x : p.partners) {
        j["partners"].push_back({{"domain", x.domain},
                                 {"additional_domains", x.additional_domains},
                                 {"type", name(x.type)},
                                 {"tls", name(x.tls)},
                                 {"sasl", name(x.sasl)},
                                 {"dialback", x.dialback},
                                 {"keepalive", x.keepalive},
                                 {"connection_limit", x.connection_limit},
                                 {"static_route", x.static_route},
                                 {"description", x.description},
                                 {"enabled", x.enabled}});
    }
    j["blocked"] = json::array();
    for (const auto& b : p.blocked) j["blocked"].push_back({{"domain", b.domain}, {"reason", b.reason}});
    const auto& s = p.settings;
    // The dialback secret travels too: the proxy answers db:verify for keys it issued.
    j["settings"] = {{"total_connection_limit", s.total_connection_limit},
                     {"partner_connection_limit", s.partner_connection_limit},
                     {"keepalive_interval_s", s.keepalive_interval_s},
                     {"stream_establishment_timeout_s", s.stream_establishment_timeout_s},
                     {"stream_inactivity_timeout_s", s.stream_inactivity_timeout_s},
                     {"stanza_rate_per_s", s.stanza_rate_per_s},
                     {"sip_subscription_refresh_s", s.sip_subscription_refresh_s},
                     {"dialback_secret", s.dialback_secret},
                     {"log_message_bodies", s.log_message_bodies},
                     {"federation_mode", name(s.federation_mode)},
                     {"xmpp_access_default", s.xmpp_access_default}};
    return j.dump();
}

namespace {

template <class T>
void get_to(const json& j, const char* key, T& out) {
    if (auto it = j.find(key); it != j.end()) out = it->get<T>();
}

template <class E, class F>
void get_enum(const json& j, const char* key, E& out, F from_name) {
    if (auto it = j.find(key); it != j.end()) {
        auto v = from_name(it->get<std::string>());
        if (!v) throw std::invalid_argument(std::string("bad value for '") + key + "'");
        out = *v;
    }
}

}  // namespace

Result<Policy, std::string> policy_from_json(std::string_view text) {
    // nlohmann-json reports through exceptions; they stay inside this function.
    try {
        json j = json::parse(text);
        Policy p;
        get_to(j, "version", p.version);
        for (const auto& x : j.at("partners")) {
            Partner q;
            q.domain = x.at("domain").get<std::string>();
            get_to(x, "additional_domains", q.additional_domains);
            get_enum(x, "type", q.type, partner_type_from_name);
            get_enum(x, "tls", q.tls, negotiation_from_name);
            get_enum(x, "sasl", q.sasl, negotiation_from_name);
            get_to(x, "dialback", q.dialback);
            get_to(x, "keepalive", q.keepalive);
            get_to(x, "connection_limit", q.connection_limit);
            get_to(x, "static_route", q.static_route);
            get_to(x, "description", q.description);
            get_to(x, "enabled", q.enabled);
            p.partners.push_back(std::move(q));
        }
        for (const auto& b : j.at("blocked"))
            p.blocked.push_back({b.at("domain").get<std::string>(), b.value("reason", "")});
        const json& s = j.at("settings");
        auto& t = p.settings;
        get_to(s, "total_connection_limit", t.total_connection_limit);
        get_to(s, "partner_connection_limit", t.partner_connection_limit);
        get_to(s, "keepalive_interval_s", t.keepalive_interval_s);
        get_to(s, "stream_establishment_timeout_s", t.stream_establishment_timeout_s);
        get_to(s, "stream_inactivity_timeout_s", t.stream_inactivity_timeout_s);
        get_to(s, "stanza_rate_per_s", t.stanza_rate_per_s);
        get_to(s, "sip_subscription_refresh_s", t.sip_subscription_refresh_s);
        get_to(s, "dialback_secret", t.dialback_secret);
        get_to(s, "log_message_bodies", t.log_message_bodies);
        get_enum(s, "federation_mode", t.federation_mode, federation_mode_from_name);
        get_to(s, "xmpp_access_default", t.xmpp_access_default);
        return p;
    } catch (const std::exception& e) {
        return Unexpected(std::string("registry snapshot: ") + e.what());
    }
}

}  // namespace fedgw::registry
