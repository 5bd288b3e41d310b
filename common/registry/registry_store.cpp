#include "common/registry/registry_store.hpp"

#include <openssl/rand.h>

#include <charconv>

#include "schema/migrations.hpp"

namespace fedgw::registry {
namespace {

Unexpected<StoreError> fail(StoreErrorKind k, std::string text) {
    return Unexpected(StoreError{k, std::move(text)});
}

Unexpected<StoreError> db_fail(const DbError& e) {
    // A constraint refusal is the operator's input being wrong, not the database failing.
    if (e.kind == DbErrorKind::Constraint) return fail(StoreErrorKind::Invalid, e.message);
    return fail(StoreErrorKind::Database, e.describe());
}

#define TRY_DB(expr)                         \
    do {                                     \
        auto _r = (expr);                    \
        if (!_r) return db_fail(_r.error()); \
    } while (0)

std::optional<bool> parse_bool(std::string_view v) {
    if (v == "on" || v == "true" || v == "1" || v == "yes") return true;
    if (v == "off" || v == "false" || v == "0" || v == "no") return false;
    return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view v) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
    return n;
}

enum class Kind { Count, Flag, Text, Mode };
struct Key {
    std::string_view name;
    Kind kind;
};
constexpr Key kKeys[] = {
    {"total_connection_limit", Kind::Count},      {"partner_connection_limit", Kind::Count},
    {"keepalive_interval_s", Kind::Count},        {"stream_establishment_timeout_s", Kind::Count},
    {"stream_inactivity_timeout_s", Kind::Count}, {"stanza_rate_per_s", Kind::Count},
    {"sip_subscription_refresh_s", Kind::Count},  {"dialback_secret", Kind::Text},
    {"log_message_bodies", Kind::Flag},           {"federation_mode", Kind::Mode},
    {"xmpp_access_default", Kind::Flag},
};

std::string known_keys() {
    std::string s;
    for (const auto& k : kKeys) {
        if (!s.empty()) s += ", ";
        s += k.name;
    }
    return s;
}

}  // namespace

std::string_view name(ContactSource s) {
    switch (s) {
        case ContactSource::Subscribed:
            return "subscribed";
        case ContactSource::Messaged:
            return "messaged";
        case ContactSource::Operator:
            return "operator";
    }
    return "operator";
}

StoreResult<RegistryStore> RegistryStore::open(const std::string& path, const DbOptions& options) {
    auto db = Database::open(path, options);
    if (!db) return fail(StoreErrorKind::Database, db.error().describe());
    if (!options.read_only) {
        auto m = db->migrate(schema::migrations());
        if (!m) return fail(StoreErrorKind::Database, m.error().describe());
    }
    return RegistryStore(std::move(*db));
}

StoreResult<std::int64_t> RegistryStore::revision() {
    auto r = db_.query_int64("SELECT revision FROM policy_revision WHERE id = 1");
    if (!r) return db_fail(r.error());
    return *r;
}

StoreResult<std::int64_t> RegistryStore::data_version() {
    auto r = db_.data_version();
    if (!r) return db_fail(r.error());
    return *r;
}

StoreResult<Settings> RegistryStore::settings() {
    auto st = db_.prepare("SELECT key, value FROM settings");
    if (!st) return db_fail(st.error());
    Settings s;
    for (;;) {
        auto step = st->step();
        if (!step) return db_fail(step.error());
        if (*step == Step::Done) break;
        std::string_view key = st->column_text(0);
        auto n = [&] { return static_cast<std::uint32_t>(st->column_int64(1)); };
        if (key == "total_connection_limit")
            s.total_connection_limit = n();
        else if (key == "partner_connection_limit")
            s.partner_connection_limit = n();
        else if (key == "keepalive_interval_s")
            s.keepalive_interval_s = n();
        else if (key == "stream_establishment_timeout_s")
            s.stream_establishment_timeout_s = n();
        else if (key == "stream_inactivity_timeout_s")
            s.stream_inactivity_timeout_s = n();
        else if (key == "stanza_rate_per_s")
            s.stanza_rate_per_s = n();
        else if (key == "sip_subscription_refresh_s")
            s.sip_subscription_refresh_s = n();
        else if (key == "dialback_secret")
            s.dialback_secret = st->column_optional_string(1).value_or("");
        else if (key == "log_message_bodies")
            s.log_message_bodies = st->column_int64(1) != 0;
        else if (key == "xmpp_access_default")
            s.xmpp_access_default = st->column_int64(1) != 0;
        else if (key == "federation_mode")
            s.federation_mode =
                federation_mode_from_name(st->column_text(1)).value_or(FederationMode::AllowList);
    }
    return s;
}

StoreResult<Policy> RegistryStore::load_policy() {
    // One read transaction, so partners, domains and settings come from the same revision.
    auto tx = db_.begin(TxMode::Deferred);
    if (!tx) return db_fail(tx.error());
    Policy p;
    auto rev = revision();
    if (!rev) return Unexpected(rev.error());
    p.version = static_cast<std::uint64_t>(*rev);

    auto st = db_.prepare(
        "SELECT domain, type, tls, sasl, dialback, keepalive, connection_limit, static_route, "
        "description, enabled FROM partners ORDER BY domain");
    if (!st) return db_fail(st.error());
    for (;;) {
        auto step = st->step();
        if (!step) return db_fail(step.error());
        if (*step == Step::Done) break;
        Partner q;
        q.domain = st->column_string(0);
        q.type = partner_type_from_name(st->column_text(1)).value_or(PartnerType::PublicUnverified);
        q.tls = negotiation_from_name(st->column_text(2)).value_or(Negotiation::Required);
        q.sasl = negotiation_from_name(st->column_text(3)).value_or(Negotiation::Optional);
        q.dialback = st->column_int64(4) != 0;
        q.keepalive = st->column_int64(5) != 0;
        q.connection_limit = static_cast<std::uint32_t>(st->column_optional_int64(6).value_or(0));
        q.static_route = st->column_optional_string(7).value_or("");
        q.description = st->column_string(8);
        q.enabled = st->column_int64(9) != 0;
        p.partners.push_back(std::move(q));
    }
    auto doms = db_.prepare("SELECT partner, domain FROM partner_domains ORDER BY domain");
    if (!doms) return db_fail(doms.error());
    for (;;) {
        auto step = doms->step();
        if (!step) return db_fail(step.error());
        if (*step == Step::Done) break;
        for (auto& q : p.partners)
            if (q.domain == doms->column_text(0))
                q.additional_domains.push_back(doms->column_string(1));
    }
    auto bl = db_.prepare("SELECT domain, reason FROM blocked_domains ORDER BY domain");
    if (!bl) return db_fail(bl.error());
    for (;;) {
        auto step = bl->step();
        if (!step) return db_fail(step.error());
        if (*step == Step::Done) break;
        p.blocked.push_back({bl->column_string(0), bl->column_string(1)});
    }
    auto s = settings();
    if (!s) return Unexpected(s.error());
    p.settings = std::move(*s);
    TRY_DB(tx->commit());
    return p;
}

StoreResult<void> RegistryStore::write_partner(const Partner& p, bool insert) {
    auto tx = db_.begin();
    if (!tx) return db_fail(tx.error());
    auto exists = db_.prepare("SELECT 1 FROM partners WHERE domain = ?1");
    if (!exists) return db_fail(exists.error());
    exists->bind(1, p.domain);
    auto found = exists->step();
    if (!found) return db_fail(found.error());
    bool there = *found == Step::Row;
    exists->reset();
    if (insert && there)
        return fail(StoreErrorKind::Exists, "partner " + p.domain + " already exists");
    if (!insert && !there) return fail(StoreErrorKind::NotFound, "no partner " + p.domain);

    auto st = db_.prepare(
        insert ? "INSERT INTO partners (domain, type, tls, sasl, dialback, keepalive, "
                 "connection_limit, static_route, description, enabled) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
               : "UPDATE partners SET type = ?2, tls = ?3, sasl = ?4, dialback = ?5, "
                 "keepalive = ?6, connection_limit = ?7, static_route = ?8, description = ?9, "
                 "enabled = ?10 WHERE domain = ?1");
    if (!st) return db_fail(st.error());
    std::optional<std::int64_t> limit;
    if (p.connection_limit) limit = p.connection_limit;
    std::optional<std::string> route;
    if (!p.static_route.empty()) route = p.static_route;
    st->bind_all(p.domain, name(p.type), name(p.tls), name(p.sasl), p.dialback, p.keepalive, limit,
                 route, p.description, p.enabled);
    TRY_DB(st->run());

    auto del = db_.prepare("DELETE FROM partner_domains WHERE partner = ?1");
    if (!del) return db_fail(del.error());
    del->bind(1, p.domain);
    TRY_DB(del->run());
    auto add = db_.prepare("INSERT INTO partner_domains (domain, partner) VALUES (?1, ?2)");
    if (!add) return db_fail(add.error());
    for (const auto& d : p.additional_domains) {
        add->reset();
        add->bind_all(d, p.domain);
        auto r = add->run();
        if (!r)
            return fail(
                StoreErrorKind::Invalid,
                "additional domain " + d + " belongs to another partner: " + r.error().message);
    }
    TRY_DB(tx->commit());
    return {};
}

StoreResult<std::vector<std::string>> RegistryStore::add_partner(const Partner& p) {
    auto v = validate(p);
    if (!v) return fail(StoreErrorKind::Invalid, v.error().describe());
    auto w = write_partner(p, true);
    if (!w) return Unexpected(w.error());
    return *v;
}

StoreResult<std::vector<std::string>> RegistryStore::update_partner(const Partner& p) {
    auto v = validate(p);
    if (!v) return fail(StoreErrorKind::Invalid, v.error().describe());
    auto w = write_partner(p, false);
    if (!w) return Unexpected(w.error());
    return *v;
}

StoreResult<void> RegistryStore::remove_partner(std::string_view domain) {
    auto st = db_.prepare("DELETE FROM partners WHERE domain = ?1");
    if (!st) return db_fail(st.error());
    st->bind(1, domain);
    TRY_DB(st->run());
    if (db_.changes() == 0)
        return fail(StoreErrorKind::NotFound, "no partner " + std::string(domain));
    return {};
}

StoreResult<Partner> RegistryStore::get_partner(std::string_view domain) {
    auto p = load_policy();
    if (!p) return Unexpected(p.error());
    for (auto& q : p->partners)
        if (q.domain == domain) return std::move(q);
    return fail(StoreErrorKind::NotFound, "no partner " + std::string(domain));
}

StoreResult<void> RegistryStore::add_blocked(std::string_view domain, std::string_view reason) {
    if (!is_plausible_domain(domain))
        return fail(StoreErrorKind::Invalid, "'" + std::string(domain) + "' is not a domain name");
    auto st = db_.prepare("INSERT INTO blocked_domains (domain, reason) VALUES (?1, ?2)");
    if (!st) return db_fail(st.error());
    st->bind_all(domain, reason);
    auto r = st->run();
    if (!r) {
        if (r.error().kind == DbErrorKind::Constraint)
            return fail(StoreErrorKind::Exists, std::string(domain) + " is already blocked");
        return db_fail(r.error());
    }
    return {};
}

StoreResult<void> RegistryStore::remove_blocked(std::string_view domain) {
    auto st = db_.prepare("DELETE FROM blocked_domains WHERE domain = ?1");
    if (!st) return db_fail(st.error());
    st->bind(1, domain);
    TRY_DB(st->run());
    if (db_.changes() == 0)
        return fail(StoreErrorKind::NotFound, std::string(domain) + " is not blocked");
    return {};
}

StoreResult<void> RegistryStore::set_setting(std::string_view key, std::string_view value) {
    const Key* k = nullptr;
    for (const auto& c : kKeys)
        if (c.name == key) k = &c;
    if (!k)
        return fail(StoreErrorKind::NotFound,
                    "unknown setting '" + std::string(key) + "' (known: " + known_keys() + ")");
    auto st = db_.prepare("UPDATE settings SET value = ?2 WHERE key = ?1");
    if (!st) return db_fail(st.error());
    st->bind(1, key);
    std::string bad = "setting " + std::string(key) + ": '" + std::string(value) + "' ";
    switch (k->kind) {
        case Kind::Count: {
            auto n = parse_int(value);
            if (!n || *n < 1 || *n > 0x7fffffff)
                return fail(StoreErrorKind::Invalid, bad + "is not a positive whole number");
            st->bind(2, *n);
            break;
        }
        case Kind::Flag: {
            auto b = parse_bool(value);
            if (!b) return fail(StoreErrorKind::Invalid, bad + "is not on or off");
            st->bind(2, *b);
            break;
        }
        case Kind::Mode:
            if (!federation_mode_from_name(value))
                return fail(StoreErrorKind::Invalid, bad + "is not allow-list or discover");
            st->bind(2, value);
            break;
        case Kind::Text:
            if (value.size() < 32)
                return fail(StoreErrorKind::Invalid, bad + "is shorter than 32 characters");
            st->bind(2, value);
            break;
    }
    TRY_DB(st->run());
    return {};
}

StoreResult<std::string> RegistryStore::ensure_dialback_secret() {
    auto s = settings();
    if (!s) return Unexpected(s.error());
    if (!s->dialback_secret.empty()) return s->dialback_secret;
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return fail(StoreErrorKind::Database, "cannot draw random bytes for the dialback secret");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string secret;
    for (unsigned char c : raw) {
        secret += kHex[c >> 4];
        secret += kHex[c & 0xf];
    }
    // Only set it when still unset: two processes racing both end up with the winner's.
    auto st = db_.prepare(
        "UPDATE settings SET value = ?1 WHERE key = 'dialback_secret' AND value IS NULL");
    if (!st) return db_fail(st.error());
    st->bind(1, secret);
    TRY_DB(st->run());
    auto again = settings();
    if (!again) return Unexpected(again.error());
    return again->dialback_secret;
}

StoreResult<void> RegistryStore::set_user_access(std::string_view sip_user,
                                                 std::optional<bool> enabled) {
    auto st =
        db_.prepare(enabled ? "INSERT INTO sip_user_access (sip_user, enabled) VALUES (?1, ?2) "
                              "ON CONFLICT (sip_user) DO UPDATE SET enabled = excluded.enabled, "
                              "updated_at = unixepoch()"
                            : "DELETE FROM sip_user_access WHERE sip_user = ?1");
    if (!st) return db_fail(st.error());
    st->bind(1, sip_user);
    if (enabled) st->bind(2, *enabled);
    TRY_DB(st->run());
    return {};
}

StoreResult<bool> RegistryStore::user_access(std::string_view sip_user) {
    auto st = db_.prepare(
        "SELECT COALESCE((SELECT enabled FROM sip_user_access WHERE sip_user = ?1), "
        "(SELECT value FROM settings WHERE key = 'xmpp_access_default'))");
    if (!st) return db_fail(st.error());
    st->bind(1, sip_user);
    auto step = st->step();
    if (!step) return db_fail(step.error());
    bool on = *step == Step::Row && st->column_int64(0) != 0;
    st->reset();
    return on;
}

StoreResult<void> RegistryStore::remember_contact(std::string_view sip_user,
                                                  std::string_view bare_jid, ContactSource source) {
    auto st = db_.prepare(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING");
    if (!st) return db_fail(st.error());
    st->bind_all(sip_user, bare_jid, name(source));
    TRY_DB(st->run());
    return {};
}

StoreResult<bool> RegistryStore::has_contact(std::string_view sip_user, std::string_view bare_jid) {
    auto st = db_.prepare("SELECT 1 FROM contact_pairs WHERE sip_user = ?1 AND xmpp_jid = ?2");
    if (!st) return db_fail(st.error());
    st->bind_all(sip_user, bare_jid);
    auto step = st->step();
    if (!step) return db_fail(step.error());
    bool found = *step == Step::Row;
    st->reset();
    return found;
}

StoreResult<bool> RegistryStore::replace_policy(const Policy& p) {
    // A snapshot equal to what the file holds writes nothing. On a one-host deployment the
    // proxy and the gateway share the file: a write would bump the revision, the gateway
    // would send the "new" policy again, and the two would rewrite the file forever.
    if (auto current = load_policy()) {
        Policy same = *current;
        same.version = p.version;
        // A snapshot without a dialback secret keeps the stored one (below).
        if (p.settings.dialback_secret.empty()) same.settings.dialback_secret.clear();
        if (same == p) return false;
    }
    auto tx = db_.begin();
    if (!tx) return db_fail(tx.error());
    TRY_DB(db_.exec(
        "DELETE FROM partner_domains; DELETE FROM partners; DELETE FROM blocked_domains;"));
    // Nested writes run inside this transaction: write_partner's own BEGIN would fail, so the
    // rows are inserted here directly.
    auto ins = db_.prepare(
        "INSERT INTO partners (domain, type, tls, sasl, dialback, keepalive, connection_limit, "
        "static_route, description, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    auto dom = db_.prepare("INSERT INTO partner_domains (domain, partner) VALUES (?1, ?2)");
    auto blk = db_.prepare("INSERT INTO blocked_domains (domain, reason) VALUES (?1, ?2)");
    if (!ins) return db_fail(ins.error());
    if (!dom) return db_fail(dom.error());
    if (!blk) return db_fail(blk.error());
    for (const auto& q : p.partners) {
        std::optional<std::int64_t> limit;
        if (q.connection_limit) limit = q.connection_limit;
        std::optional<std::string> route;
        if (!q.static_route.empty()) route = q.static_route;
        ins->reset();
        ins->bind_all(q.domain, name(q.type), name(q.tls), name(q.sasl), q.dialback, q.keepalive,
                      limit, route, q.description, q.enabled);
        TRY_DB(ins->run());
        for (const auto& d : q.additional_domains) {
            dom->reset();
            dom->bind_all(d, q.domain);
            TRY_DB(dom->run());
        }
    }
    for (const auto& b : p.blocked) {
        blk->reset();
        blk->bind_all(b.domain, b.reason);
        TRY_DB(blk->run());
    }
    const auto& s = p.settings;
    auto set = db_.prepare("UPDATE settings SET value = ?2 WHERE key = ?1");
    if (!set) return db_fail(set.error());
    auto put = [&](std::string_view key, auto value) -> Result<void, DbError> {
        set->reset();
        set->bind(1, key);
        set->bind(2, value);
        return set->run();
    };
    TRY_DB(put("total_connection_limit", s.total_connection_limit));
    TRY_DB(put("partner_connection_limit", s.partner_connection_limit));
    TRY_DB(put("keepalive_interval_s", s.keepalive_interval_s));
    TRY_DB(put("stream_establishment_timeout_s", s.stream_establishment_timeout_s));
    TRY_DB(put("stream_inactivity_timeout_s", s.stream_inactivity_timeout_s));
    TRY_DB(put("stanza_rate_per_s", s.stanza_rate_per_s));
    TRY_DB(put("sip_subscription_refresh_s", s.sip_subscription_refresh_s));
    TRY_DB(put("log_message_bodies", s.log_message_bodies));
    TRY_DB(put("federation_mode", name(s.federation_mode)));
    TRY_DB(put("xmpp_access_default", s.xmpp_access_default));
    if (!s.dialback_secret.empty())
        TRY_DB(put("dialback_secret", std::string_view(s.dialback_secret)));
    TRY_DB(tx->commit());
    return true;
}

}  // namespace fedgw::registry
