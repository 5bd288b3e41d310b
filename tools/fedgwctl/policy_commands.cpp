// fedgwctl blocked add|remove|list, settings get|set, access set|show|default
// (registry_commands.hpp). Values are checked by RegistryStore::set_setting; this file only
// turns durations ("5m", "8h") into the seconds the *_s keys hold.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/config/duration.hpp"
#include "tools/fedgwctl/registry_commands.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;
using registry::Settings;

enum class Kind {
    Count,    // a positive whole number
    Seconds,  // a positive number of seconds; "5m", "8h" accepted
    Flag,     // on / off
    Mode,     // allow-list / discover
    Secret,   // the dialback secret: hidden unless asked for
};

struct SettingInfo {
    std::string_view key;  // the schema key (schema/001_registry.sql)
    Kind kind;
    std::string_view help;
};

// In the schema's order.
constexpr SettingInfo kSettings[] = {
    {"total_connection_limit", Kind::Count, "s2s connections of all partners together"},
    {"partner_connection_limit", Kind::Count, "s2s connections per partner, unless it says"},
    {"keepalive_interval_s", Kind::Seconds, "whitespace keepalive after this idle time"},
    {"stream_establishment_timeout_s", Kind::Seconds, "a stream must authenticate within this"},
    {"stream_inactivity_timeout_s", Kind::Seconds, "idle streams close after this"},
    {"stanza_rate_per_s", Kind::Count, "stanzas per second per partner stream; above it reading pauses"},
    {"sip_subscription_refresh_s", Kind::Seconds, "SIP SUBSCRIBE lifetime asked for"},
    {"dialback_secret", Kind::Secret, "dialback key secret (>= 32 characters)"},
    {"log_message_bodies", Kind::Flag, "write message bodies into the logs"},
    {"federation_mode", Kind::Mode, "allow-list: partners only; discover: any domain not blocked"},
    {"xmpp_access_default", Kind::Flag, "XMPP access of SIP users without their own value"},
};

const SettingInfo* find_setting(std::string_view key) {
    for (const auto& s : kSettings)
        if (s.key == key) return &s;
    return nullptr;
}

std::int64_t number_of(const Settings& s, std::string_view key) {
    if (key == "total_connection_limit") return s.total_connection_limit;
    if (key == "partner_connection_limit") return s.partner_connection_limit;
    if (key == "keepalive_interval_s") return s.keepalive_interval_s;
    if (key == "stream_establishment_timeout_s") return s.stream_establishment_timeout_s;
    if (key == "stream_inactivity_timeout_s") return s.stream_inactivity_timeout_s;
    if (key == "stanza_rate_per_s") return s.stanza_rate_per_s;
    if (key == "sip_subscription_refresh_s") return s.sip_subscription_refresh_s;
    return 0;
}

bool flag_of(const Settings& s, std::string_view key) {
    return key == "log_message_bodies" ? s.log_message_bodies : s.xmpp_access_default;
}

json json_value(const Settings& s, const SettingInfo& info, bool show_secret) {
    switch (info.kind) {
        case Kind::Count:
        case Kind::Seconds:
            return number_of(s, info.key);
        case Kind::Flag:
            return flag_of(s, info.key);
        case Kind::Mode:
            return registry::name(s.federation_mode);
        case Kind::Secret:
            if (s.dialback_secret.empty()) return nullptr;
            return show_secret ? s.dialback_secret : "<hidden>";
    }
    return nullptr;
}

std::string text_value(const Settings& s, const SettingInfo& info, bool show_secret) {
    switch (info.kind) {
        case Kind::Count:
            return std::to_string(number_of(s, info.key));
        case Kind::Seconds: {
            auto n = number_of(s, info.key);
            return std::to_string(n) + " (" + format_duration(Duration::seconds(n)) + ")";
        }
        case Kind::Flag:
            return std::string(on_off(flag_of(s, info.key)));
        case Kind::Mode:
            return std::string(registry::name(s.federation_mode));
        case Kind::Secret:
            if (s.dialback_secret.empty()) return "(not set: the first service generates it)";
            if (show_secret) return s.dialback_secret;
            return "(set, " + std::to_string(s.dialback_secret.size()) +
                   " characters; --show-secret prints it)";
    }
    return "";
}

// "300", "5m" or "8h" for a *_s key, as the whole seconds the store takes.
CtlResult<std::string> seconds_text(const SettingInfo& info, const std::string& value) {
    if (!value.empty() &&
        std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
        return value;  // seconds; the store checks the range
    auto d = parse_duration(value);
    if (!d)
        return ctl_fail(Exit::Refused, "refused: setting " + std::string(info.key) + ": " +
                                           d.error() + " (give seconds, or a duration like 5m)");
    if (d->ms % 1000 != 0)
        return ctl_fail(Exit::Refused, "refused: setting " + std::string(info.key) +
                                           " holds whole seconds, not '" + value + "'");
    return std::to_string(d->ms / 1000);
}

// "sip:alice@Example.COM" -> "alice@example.com": the scheme dropped, the host lower-cased
// (RFC 3261 §19.1.4: the host compares case-insensitively, the user part does not).
std::string prepare_sip_user(std::string u) {
    for (std::string_view scheme : {"sip:", "sips:"})
        if (u.size() > scheme.size() &&
            std::equal(scheme.begin(), scheme.end(), u.begin(), [](char a, char b) {
                return a == std::tolower(static_cast<unsigned char>(b));
            }))
            u.erase(0, scheme.size());
    auto at = u.rfind('@');
    if (at != std::string::npos)
        std::transform(u.begin() + static_cast<std::ptrdiff_t>(at), u.end(),
                       u.begin() + static_cast<std::ptrdiff_t>(at),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return u;
}

}  // namespace

// ---- blocked --------------------------------------------------------------------------------

CtlResult<Exit> blocked_add(const GlobalOptions& g, const std::string& raw,
                            const std::string& reason) {
    auto domain = prepare_registry_domain(raw);
    if (!domain) return Unexpected(domain.error());
    auto store = open_registry(g, OpenMode::Write);
    if (!store) return Unexpected(store.error());
    auto r = store->add_blocked(*domain, reason);
    if (!r) return Unexpected(from_store(r.error()));
    if (auto policy = store->load_policy())
        if (const auto* p = policy->find_partner(*domain))
            warn(*domain + " belongs to partner " + p->domain +
                 "; the block wins and its live streams close");
    if (g.json)
        out(json{{"domain", *domain}, {"action", "blocked"}}.dump(2) + "\n");
    else
        out("blocked " + *domain + "\n");
    return Exit::Ok;
}

CtlResult<Exit> blocked_remove(const GlobalOptions& g, const std::string& raw) {
    auto domain = prepare_registry_domain(raw);
    if (!domain) return Unexpected(domain.error());
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto r = store->remove_blocked(*domain);
    if (!r) return Unexpected(from_store(r.error()));
    if (g.json)
        out(json{{"domain", *domain}, {"action", "unblocked"}}.dump(2) + "\n");
    else
        out("unblocked " + *domain + "\n");
    return Exit::Ok;
}

CtlResult<Exit> blocked_list(const GlobalOptions& g) {
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto policy = store->load_policy();
    if (!policy) return Unexpected(from_store(policy.error()));
    if (g.json) {
        json a = json::array();
        for (const auto& b : policy->blocked)
            a.push_back({{"domain", b.domain}, {"reason", b.reason}});
        out(a.dump(2) + "\n");
        return Exit::Ok;
    }
    if (policy->blocked.empty()) {
        out("no blocked domains\n");
        return Exit::Ok;
    }
    Table t({"DOMAIN", "REASON"});
    for (const auto& b : policy->blocked)
        t.add({b.domain, b.reason.empty() ? "-" : b.reason});
    out(t.render());
    return Exit::Ok;
}

// ---- settings -------------------------------------------------------------------------------

std::string settings_help() {
    std::string s = "Settings (schema keys; *_s keys take seconds or a duration like 5m, 8h):\n";
    Settings d;
    for (const auto& k : kSettings) {
        s += "  " + std::string(k.key) + ": " + std::string(k.help);
        if (k.kind != Kind::Secret) s += " (default " + text_value(d, k, false) + ")";
        s += "\n";
    }
    return s;
}

CtlResult<Exit> settings_get(const GlobalOptions& g, const std::string& key, bool show_secret) {
    const SettingInfo* only = nullptr;
    if (!key.empty()) {
        only = find_setting(key);
        if (!only)
            return ctl_fail(Exit::NotFound, "unknown setting '" + key + "'\n" + settings_help());
    }
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto s = store->settings();
    if (!s) return Unexpected(from_store(s.error()));
    if (g.json) {
        json j = json::object();
        for (const auto& k : kSettings)
            if (!only || only == &k) j[std::string(k.key)] = json_value(*s, k, show_secret);
        out(j.dump(2) + "\n");
        return Exit::Ok;
    }
    if (only) {
        out(text_value(*s, *only, show_secret) + "\n");
        return Exit::Ok;
    }
    Settings defaults;
    Table t({"KEY", "VALUE", "DEFAULT", "MEANING"});
    for (const auto& k : kSettings)
        t.add({std::string(k.key), text_value(*s, k, show_secret),
               k.kind == Kind::Secret ? "-" : text_value(defaults, k, false), std::string(k.help)});
    out(t.render());
    return Exit::Ok;
}

CtlResult<Exit> settings_set(const GlobalOptions& g, const std::string& key,
                             const std::string& value) {
    const SettingInfo* info = find_setting(key);
    if (!info) return ctl_fail(Exit::NotFound, "unknown setting '" + key + "'\n" + settings_help());
    std::string text = value;
    if (info->kind == Kind::Seconds) {
        auto secs = seconds_text(*info, value);
        if (!secs) return Unexpected(secs.error());
        text = *secs;
    }
    auto store = open_registry(g, OpenMode::Write);
    if (!store) return Unexpected(store.error());
    auto r = store->set_setting(key, text);
    if (!r) return Unexpected(from_store(r.error()));
    auto s = store->settings();
    if (!s) return Unexpected(from_store(s.error()));
    if (g.json)
        out(json{{"key", key}, {"value", json_value(*s, *info, false)}}.dump(2) + "\n");
    else
        out(key + " = " + text_value(*s, *info, false) + "\n");
    return Exit::Ok;
}

// ---- access ---------------------------------------------------------------------------------

CtlResult<Exit> access_set(const GlobalOptions& g, const std::string& raw_user,
                           const std::string& value) {
    const std::string user = prepare_sip_user(raw_user);
    std::optional<bool> enabled;
    if (value == "on")
        enabled = true;
    else if (value == "off")
        enabled = false;
    else if (value != "default")
        return ctl_fail(Exit::Usage, "access set: '" + value + "' is not on, off or default");
    auto store = open_registry(g, OpenMode::Write);
    if (!store) return Unexpected(store.error());
    auto r = store->set_user_access(user, enabled);
    if (!r) {
        auto e = from_store(r.error());
        if (e.code == Exit::Refused)
            e.text = "refused: '" + user + "' is not a SIP user (write user@domain)";
        return Unexpected(e);
    }
    auto now = store->user_access(user);
    if (!now) return Unexpected(from_store(now.error()));
    if (g.json)
        out(json{{"sip_user", user}, {"access", *now}, {"source", enabled ? "user" : "default"}}
                .dump(2) +
            "\n");
    else
        out(user + ": XMPP access " + std::string(on_off(*now)) +
            (enabled ? "" : " (the default)") + "\n");
    return Exit::Ok;
}

CtlResult<Exit> access_show(const GlobalOptions& g, const std::string& raw_user) {
    auto store = open_registry(g, OpenMode::Read);
    if (!store) return Unexpected(store.error());
    auto s = store->settings();
    if (!s) return Unexpected(from_store(s.error()));
    const bool def = s->xmpp_access_default;
    auto st = store->database().prepare(
        raw_user.empty() ? "SELECT sip_user, enabled FROM sip_user_access ORDER BY sip_user"
                         : "SELECT sip_user, enabled FROM sip_user_access WHERE sip_user = ?1");
    if (!st) return ctl_fail(Exit::Environment, "registry: " + st.error().describe());
    const std::string user = prepare_sip_user(raw_user);
    if (!raw_user.empty()) st->bind(1, user);
    std::vector<std::pair<std::string, bool>> rows;
    for (;;) {
        auto step = st->step();
        if (!step) return ctl_fail(Exit::Environment, "registry: " + step.error().describe());
        if (*step == Step::Done) break;
        rows.emplace_back(st->column_string(0), st->column_int64(1) != 0);
    }
    if (!raw_user.empty()) {
        const bool own = !rows.empty();
        const bool on = own ? rows.front().second : def;
        if (g.json)
            out(json{{"sip_user", user}, {"access", on}, {"source", own ? "user" : "default"}}.dump(
                    2) +
                "\n");
        else
            out(user + ": XMPP access " + std::string(on_off(on)) +
                (own ? " (set for this user)" : " (the default)") + "\n");
        return Exit::Ok;
    }
    if (g.json) {
        json users = json::array();
        for (const auto& [u, on] : rows)
            users.push_back({{"sip_user", u}, {"access", on}});
        out(json{{"default", def}, {"users", users}}.dump(2) + "\n");
        return Exit::Ok;
    }
    out("default: XMPP access " + std::string(on_off(def)) + " (fedgwctl access default on|off)\n");
    if (rows.empty()) {
        out("no SIP user has a value of its own\n");
        return Exit::Ok;
    }
    Table t({"SIP USER", "XMPP ACCESS"});
    for (const auto& [u, on] : rows)
        t.add({u, std::string(on_off(on))});
    out(t.render());
    return Exit::Ok;
}

}  // namespace fedgw::ctl
