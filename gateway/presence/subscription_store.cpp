// SubscriptionStore: the subscriptions table (schema/002_subscriptions.sql) read and written
// through common/db. See subscription_store.hpp.
//
// Loop-bound edge (SQLite).
#include "gateway/presence/subscription_store.hpp"

#include <limits>

#include "schema/migrations.hpp"

namespace fedgw::gateway {
namespace {

constexpr std::string_view kColumns =
    "xmpp_jid, sip_aor, partner_type, outbound, inbound, inbound_dialog, outbound_failures, "
    "out_call_id, out_local_tag, out_remote_tag, out_local_cseq, out_remote_cseq, "
    "out_remote_target, out_route_set, out_requested, out_granted, out_expires_at, "
    "out_refresh_at, in_call_id, in_local_tag, in_remote_tag, in_remote_uri, in_remote_cseq, "
    "in_notify_cseq, in_remote_target, in_route_set, in_expires_at, sip_presence, "
    "xmpp_presence";
constexpr int kColumnCount = 29;

// Route sets travel as one URI a line: a URI cannot hold CR or LF (the SIP builder refuses
// them, and the parser never yields them).
std::string join_lines(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += '\n';
        out += s;
    }
    return out;
}

std::vector<std::string> split_lines(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const auto nl = s.find('\n');
        const std::string_view line = s.substr(0, nl);
        if (!line.empty()) out.emplace_back(line);
        if (nl == std::string_view::npos) break;
        s.remove_prefix(nl + 1);
    }
    return out;
}

std::uint32_t to_u32(std::int64_t v) {
    if (v < 0) return 0;
    if (v > std::numeric_limits<std::uint32_t>::max())
        return std::numeric_limits<std::uint32_t>::max();
    return static_cast<std::uint32_t>(v);
}

std::optional<std::uint32_t> to_u32(std::optional<std::int64_t> v) {
    if (!v) return std::nullopt;
    return to_u32(*v);
}

std::optional<std::int64_t> widen(std::optional<std::uint32_t> v) {
    if (!v) return std::nullopt;
    return static_cast<std::int64_t>(*v);
}

DbError bad_row(const Database& db, const std::string& xmpp, const std::string& sip,
                std::string what) {
    return DbError{DbErrorKind::Other,
                   "subscriptions row (" + xmpp + ", " + sip + "): " + std::move(what), db.path(),
                   0};
}

}  // namespace

bool PairRecord::is_idle() const {
    return state.outbound == Outbound::None && state.inbound == Inbound::None &&
           !state.inbound_dialog && !out.exists() && !in.exists();
}

std::string_view name(Outbound o) {
    switch (o) {
        case Outbound::None:
            return "none";
        case Outbound::Subscribing:
            return "subscribing";
        case Outbound::Pending:
            return "pending";
        case Outbound::Active:
            return "active";
        case Outbound::Ending:
            return "ending";
    }
    return "none";
}

std::string_view name(Inbound i) {
    switch (i) {
        case Inbound::None:
            return "none";
        case Inbound::Pending:
            return "pending";
        case Inbound::Approved:
            return "approved";
    }
    return "none";
}

std::optional<Outbound> outbound_from_name(std::string_view s) {
    for (auto o : {Outbound::None, Outbound::Subscribing, Outbound::Pending, Outbound::Active,
                   Outbound::Ending}) {
        if (name(o) == s) return o;
    }
    return std::nullopt;
}

std::optional<Inbound> inbound_from_name(std::string_view s) {
    for (auto i : {Inbound::None, Inbound::Pending, Inbound::Approved}) {
        if (name(i) == s) return i;
    }
    return std::nullopt;
}

Result<SubscriptionStore, DbError> SubscriptionStore::open(const std::string& path,
                                                           const DbOptions& options) {
    auto db = Database::open(path, options);
    if (!db) return Unexpected(std::move(db.error()));
    if (!options.read_only) {
        auto m = db->migrate(schema::migrations());
        if (!m) return Unexpected(std::move(m.error()));
    }
    return SubscriptionStore(std::move(*db));
}

Result<std::vector<PairRecord>, DbError> SubscriptionStore::select(std::string_view where,
                                                                   const std::string* xmpp,
                                                                   const std::string* sip) {
    std::string sql = "SELECT ";
    sql += kColumns;
    sql += " FROM subscriptions ";
    sql += where;
    sql += " ORDER BY xmpp_jid, sip_aor";
    auto st = db_.prepare(sql);
    if (!st) return Unexpected(std::move(st.error()));
    if (xmpp != nullptr) st->bind(":xmpp", *xmpp);
    if (sip != nullptr) st->bind(":sip", *sip);
    std::vector<PairRecord> out;
    for (;;) {
        auto step = st->step();
        if (!step) return Unexpected(std::move(step.error()));
        if (*step == Step::Done) break;
        if (st->column_count() != kColumnCount) {
            st->reset();
            return Unexpected(DbError{DbErrorKind::Sql, "unexpected column count", db_.path(), 0});
        }
        PairRecord r;
        int c = 0;
        r.xmpp = st->column_string(c++);
        r.sip = st->column_string(c++);
        const auto type = registry::partner_type_from_name(st->column_text(c++));
        const auto outbound = outbound_from_name(st->column_text(c++));
        const auto inbound = inbound_from_name(st->column_text(c++));
        if (!type || !outbound || !inbound) {
            st->reset();
            return Unexpected(bad_row(db_, r.xmpp, r.sip, "unknown partner type or state"));
        }
        r.partner_type = *type;
        r.state.outbound = *outbound;
        r.state.inbound = *inbound;
        r.state.inbound_dialog = st->column_int64(c++) != 0;
        r.state.outbound_failures = to_u32(st->column_int64(c++));

        r.out.call_id = st->column_optional_string(c++).value_or("");
        r.out.local_tag = st->column_string(c++);
        r.out.remote_tag = st->column_string(c++);
        r.out.local_cseq = to_u32(st->column_int64(c++));
        r.out.remote_cseq = to_u32(st->column_optional_int64(c++));
        r.out.remote_target = st->column_string(c++);
        r.out.route_set = split_lines(st->column_text(c++));
        r.out.requested = to_u32(st->column_int64(c++));
        r.out.granted = to_u32(st->column_int64(c++));
        r.out.expires_at = st->column_int64(c++);
        r.out.refresh_at = st->column_int64(c++);

        r.in.call_id = st->column_optional_string(c++).value_or("");
        r.in.local_tag = st->column_string(c++);
        r.in.remote_tag = st->column_string(c++);
        r.in.remote_uri = st->column_string(c++);
        r.in.remote_cseq = to_u32(st->column_optional_int64(c++));
        r.in.notify_cseq = to_u32(st->column_int64(c++));
        r.in.remote_target = st->column_string(c++);
        r.in.route_set = split_lines(st->column_text(c++));
        r.in.expires_at = st->column_int64(c++);

        r.sip_presence = st->column_optional_string(c++);
        r.xmpp_presence = st->column_optional_string(c++);
        out.push_back(std::move(r));
    }
    return out;
}

Result<std::vector<PairRecord>, DbError> SubscriptionStore::load_all() {
    return select("", nullptr, nullptr);
}

Result<std::optional<PairRecord>, DbError> SubscriptionStore::load(const std::string& xmpp,
                                                                   const std::string& sip) {
    auto rows = select("WHERE xmpp_jid = :xmpp AND sip_aor = :sip", &xmpp, &sip);
    if (!rows) return Unexpected(std::move(rows.error()));
    if (rows->empty()) return std::optional<PairRecord>();
    return std::optional<PairRecord>(std::move(rows->front()));
}

Result<void, DbError> SubscriptionStore::save(const PairRecord& r) {
    // INSERT ... ON CONFLICT DO UPDATE keeps created_at; every other column is written.
    std::string sql = "INSERT INTO subscriptions (";
    sql += kColumns;
    sql += ") VALUES (";
    for (int i = 1; i <= kColumnCount; ++i) {
        if (i > 1) sql += ", ";
        sql += "?" + std::to_string(i);
    }
    sql +=
        ") ON CONFLICT (xmpp_jid, sip_aor) DO UPDATE SET partner_type = excluded.partner_type, "
        "outbound = excluded.outbound, inbound = excluded.inbound, "
        "inbound_dialog = excluded.inbound_dialog, "
        "outbound_failures = excluded.outbound_failures, out_call_id = excluded.out_call_id, "
        "out_local_tag = excluded.out_local_tag, out_remote_tag = excluded.out_remote_tag, "
        "out_local_cseq = excluded.out_local_cseq, out_remote_cseq = excluded.out_remote_cseq, "
        "out_remote_target = excluded.out_remote_target, "
        "out_route_set = excluded.out_route_set, out_requested = excluded.out_requested, "
        "out_granted = excluded.out_granted, out_expires_at = excluded.out_expires_at, "
        "out_refresh_at = excluded.out_refresh_at, in_call_id = excluded.in_call_id, "
        "in_local_tag = excluded.in_local_tag, in_remote_tag = excluded.in_remote_tag, "
        "in_remote_uri = excluded.in_remote_uri, in_remote_cseq = excluded.in_remote_cseq, "
        "in_notify_cseq = excluded.in_notify_cseq, "
        "in_remote_target = excluded.in_remote_target, in_route_set = excluded.in_route_set, "
        "in_expires_at = excluded.in_expires_at, sip_presence = excluded.sip_presence, "
        "xmpp_presence = excluded.xmpp_presence, updated_at = unixepoch()";
    auto st = db_.prepare(sql);
    if (!st) return Unexpected(std::move(st.error()));
    auto optional_text = [](const std::string& s) {
        return s.empty() ? std::optional<std::string_view>() : std::optional<std::string_view>(s);
    };
    st->bind_all(r.xmpp, r.sip, registry::name(r.partner_type), name(r.state.outbound),
                 name(r.state.inbound), r.state.inbound_dialog,
                 static_cast<std::int64_t>(r.state.outbound_failures), optional_text(r.out.call_id),
                 r.out.local_tag, r.out.remote_tag, static_cast<std::int64_t>(r.out.local_cseq),
                 widen(r.out.remote_cseq), r.out.remote_target, join_lines(r.out.route_set),
                 static_cast<std::int64_t>(r.out.requested),
                 static_cast<std::int64_t>(r.out.granted), r.out.expires_at, r.out.refresh_at,
                 optional_text(r.in.call_id), r.in.local_tag, r.in.remote_tag, r.in.remote_uri,
                 widen(r.in.remote_cseq), static_cast<std::int64_t>(r.in.notify_cseq),
                 r.in.remote_target, join_lines(r.in.route_set), r.in.expires_at, r.sip_presence,
                 r.xmpp_presence);
    return st->run();
}

Result<void, DbError> SubscriptionStore::remove(const std::string& xmpp, const std::string& sip) {
    auto st = db_.prepare("DELETE FROM subscriptions WHERE xmpp_jid = ?1 AND sip_aor = ?2");
    if (!st) return Unexpected(std::move(st.error()));
    st->bind_all(xmpp, sip);
    return st->run();
}

Result<std::int64_t, DbError> SubscriptionStore::count() {
    return db_.query_int64("SELECT count(*) FROM subscriptions");
}

}  // namespace fedgw::gateway
