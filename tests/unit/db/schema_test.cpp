// Unit tests for schema/001_registry.sql as compiled in (fedgw::schema::migrations()): it
// applies cleanly, seeds the settings DESIGN.md lists, and its constraints refuse bad values.
#include "schema/migrations.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/db/database.hpp"
#include "tests/unit/db/temp_dir.hpp"

namespace fedgw {
namespace {

class RegistrySchema : public ::testing::Test {
  protected:
    void SetUp() override {
        auto db = Database::open(dir_.file("registry.db"));
        ASSERT_TRUE(db.has_value()) << db.error().describe();
        db_.emplace(std::move(db).value());
        auto r = db_->migrate(schema::migrations());
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        ASSERT_EQ(r->to_version, schema::latest_version());
    }

    // Runs one statement; returns the error kind, or nullopt on success.
    std::optional<DbErrorKind> run(const std::string& sql) {
        auto r = db_->exec(sql);
        if (r) return std::nullopt;
        last_error_ = r.error().describe();
        return r.error().kind;
    }

    void expect_refused(const std::string& sql) {
        EXPECT_EQ(run(sql), DbErrorKind::Constraint) << sql << "\n" << last_error_;
    }
    void expect_accepted(const std::string& sql) {
        EXPECT_EQ(run(sql), std::nullopt) << sql << "\n" << last_error_;
    }

    std::string text(const std::string& sql) {
        auto st = db_->prepare(sql);
        EXPECT_TRUE(st.has_value()) << st.error().describe();
        if (!st) return {};
        auto step = st->step();
        EXPECT_TRUE(step.has_value() && *step == Step::Row) << sql;
        return st->column_string(0);
    }

    std::int64_t number(const std::string& sql) {
        auto v = db_->query_int64(sql);
        EXPECT_TRUE(v.has_value()) << sql << ": " << v.error().describe();
        return v.value_or(-1);
    }

    std::int64_t revision() { return number("SELECT revision FROM policy_revision"); }

    test::TempDir dir_;
    std::optional<Database> db_;
    std::string last_error_;
};

TEST(SchemaList, IsNumberedFromOneAndNamedAfterTheFiles) {
    const auto list = schema::migrations();
    ASSERT_GE(list.size(), 1u);
    for (std::size_t i = 0; i < list.size(); ++i)
        EXPECT_EQ(list[i].version, int(i) + 1);
    EXPECT_EQ(list[0].name, "registry");
    EXPECT_NE(list[0].sql.find("CREATE TABLE partners"), std::string_view::npos);
    EXPECT_EQ(schema::latest_version(), int(list.size()));
}

TEST_F(RegistrySchema, AppliesCleanlyAndOnlyOnce) {
    EXPECT_EQ(*db_->user_version(), schema::latest_version());
    EXPECT_EQ(text("PRAGMA integrity_check"), "ok");
    auto fk = db_->prepare("PRAGMA foreign_key_check");
    ASSERT_TRUE(fk.has_value());
    EXPECT_EQ(*fk->step(), Step::Done);
    for (const char* table : {"partners", "partner_domains", "blocked_domains", "settings",
                              "sip_user_access", "contact_pairs", "policy_revision"}) {
        EXPECT_EQ(number(std::string("SELECT strict FROM pragma_table_list WHERE name = '") +
                         table + "'"),
                  1)
            << table << " should exist and be STRICT";
    }
    auto again = db_->migrate(schema::migrations());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->applied, 0);
}

TEST_F(RegistrySchema, SettingsAreSeededWithTheDesignDefaults) {
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'total_connection_limit'"), 1000);
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'partner_connection_limit'"), 20);
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'keepalive_interval_s'"), 300);
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'stream_establishment_timeout_s'"),
              60);
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'stream_inactivity_timeout_s'"), 600);
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'sip_subscription_refresh_s'"), 28800);
    EXPECT_EQ(number("SELECT value IS NULL FROM settings WHERE key = 'dialback_secret'"), 1);
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'log_message_bodies'"), 0);
    EXPECT_EQ(text("SELECT value FROM settings WHERE key = 'federation_mode'"), "allow-list");
    EXPECT_EQ(number("SELECT value FROM settings WHERE key = 'xmpp_access_default'"), 0);
    EXPECT_EQ(number("SELECT typeof(value) = 'integer' FROM settings "
                     "WHERE key = 'total_connection_limit'"),
              1);
}

TEST_F(RegistrySchema, PartnerDefaultsAreTheSafeOnes) {
    expect_accepted("INSERT INTO partners (domain) VALUES ('example.org')");
    EXPECT_EQ(text("SELECT type || ' ' || tls || ' ' || sasl || ' ' || dialback || ' ' || "
                   "keepalive || ' ' || enabled FROM partners"),
              "public-unverified required optional 1 1 1");
    EXPECT_EQ(number("SELECT connection_limit IS NULL AND static_route IS NULL FROM partners"), 1);
    EXPECT_GT(number("SELECT created_at FROM partners"), 1600000000);
}

TEST_F(RegistrySchema, PartnerEnumerationsAndFlagsRefuseBadValues) {
    expect_accepted(
        "INSERT INTO partners (domain, type, tls, sasl, dialback, keepalive, connection_limit, "
        "static_route, description, enabled) VALUES ('good.example', 'federated', 'optional', "
        "'optional', 1, 1, 5, 'xmpp.good.example:5269', 'ok', 1)");
    expect_refused("INSERT INTO partners (domain, type) VALUES ('a.example', 'friend')");
    expect_refused("INSERT INTO partners (domain, type) VALUES ('a.example', 'Federated')");
    expect_refused("INSERT INTO partners (domain, tls) VALUES ('a.example', 'maybe')");
    expect_refused("INSERT INTO partners (domain, sasl) VALUES ('a.example', 'yes')");
    expect_refused("INSERT INTO partners (domain, dialback) VALUES ('a.example', 2)");
    expect_refused("INSERT INTO partners (domain, keepalive) VALUES ('a.example', -1)");
    expect_refused("INSERT INTO partners (domain, enabled) VALUES ('a.example', 'yes')");
    expect_refused("INSERT INTO partners (domain, connection_limit) VALUES ('a.example', 0)");
    expect_refused("INSERT INTO partners (domain, static_route) VALUES ('a.example', '')");
    expect_refused("INSERT INTO partners (domain, static_route) VALUES ('a.example', 'a b')");
    expect_refused("INSERT INTO partners (domain, description) VALUES ('a.example', NULL)");
    expect_refused("UPDATE partners SET type = 'trusted' WHERE domain = 'good.example'");
    EXPECT_EQ(text("SELECT type FROM partners WHERE domain = 'good.example'"), "federated");
}

TEST_F(RegistrySchema, PartnerDomainsMustBeCanonical) {
    expect_refused("INSERT INTO partners (domain) VALUES ('')");
    expect_refused("INSERT INTO partners (domain) VALUES ('Example.org')");
    expect_refused("INSERT INTO partners (domain) VALUES ('user@example.org')");
    expect_refused("INSERT INTO partners (domain) VALUES ('example.org/res')");
    expect_refused("INSERT INTO partners (domain) VALUES ('example .org')");
    expect_refused("INSERT INTO partners (domain) VALUES ('example.org.')");
    expect_refused("INSERT INTO partners (domain) VALUES ('.example.org')");
    expect_refused("INSERT INTO partners (domain) VALUES (NULL)");
    expect_refused("INSERT INTO partners (domain) VALUES ('" + std::string(1024, 'a') + "')");
    expect_accepted("INSERT INTO partners (domain) VALUES ('" + std::string(1023, 'a') + "')");
    // U-labels are stored as they come (the CHECK sees ASCII case only).
    expect_accepted(
        "INSERT INTO partners (domain) VALUES ('b\xC3\xBC"
        "cher.example')");
}

TEST_F(RegistrySchema, PartnerCombinationsWithNoWayToAuthenticateAreRefused) {
    // SASL needs TLS.
    expect_refused(
        "INSERT INTO partners (domain, tls, sasl) VALUES ('a.example', "
        "'not-supported', 'optional')");
    expect_refused(
        "INSERT INTO partners (domain, tls, sasl) VALUES ('a.example', "
        "'not-supported', 'required')");
    // No TLS and no dialback.
    expect_refused(
        "INSERT INTO partners (domain, tls, sasl, dialback) VALUES ('a.example', "
        "'not-supported', 'not-supported', 0)");
    // TLS required, no SASL, no dialback.
    expect_refused(
        "INSERT INTO partners (domain, tls, sasl, dialback) VALUES ('a.example', "
        "'required', 'not-supported', 0)");
    // Allowed: dialback without TLS; SASL required with dialback on ("SASL, else nothing").
    expect_accepted(
        "INSERT INTO partners (domain, tls, sasl, dialback) VALUES ('b.example', "
        "'not-supported', 'not-supported', 1)");
    expect_accepted(
        "INSERT INTO partners (domain, tls, sasl, dialback) VALUES ('c.example', "
        "'required', 'required', 1)");
    expect_accepted(
        "INSERT INTO partners (domain, tls, sasl, dialback) VALUES ('d.example', "
        "'required', 'required', 0)");
    EXPECT_TRUE(run("INSERT INTO partners (domain, tls, sasl, dialback) VALUES ('e.example', "
                    "'required', 'not-supported', 0)")
                    .has_value());
    EXPECT_NE(last_error_.find("partner_needs_sasl_or_dialback"), std::string::npos) << last_error_;
}

TEST_F(RegistrySchema, AdditionalDomainsBelongToOnePartnerAndAreNotPrimaries) {
    expect_accepted("INSERT INTO partners (domain) VALUES ('a.example'), ('b.example')");
    expect_accepted(
        "INSERT INTO partner_domains (domain, partner) VALUES ('muc.a.example', 'a.example')");
    // Already another partner's additional domain.
    expect_refused(
        "INSERT INTO partner_domains (domain, partner) VALUES ('muc.a.example', 'b.example')");
    // A primary domain cannot be an additional one, nor the reverse.
    expect_refused(
        "INSERT INTO partner_domains (domain, partner) VALUES ('b.example', 'a.example')");
    expect_refused("INSERT INTO partners (domain) VALUES ('muc.a.example')");
    expect_refused("UPDATE partners SET domain = 'muc.a.example' WHERE domain = 'b.example'");
    expect_refused("UPDATE partner_domains SET domain = 'b.example'");
    // Unknown partner, bad form.
    expect_refused("INSERT INTO partner_domains (domain, partner) VALUES ('x.example', 'zzz')");
    expect_refused(
        "INSERT INTO partner_domains (domain, partner) VALUES ('X.example', 'a.example')");
    // Renaming and deleting the partner carry its domains along.
    expect_accepted("UPDATE partners SET domain = 'a2.example' WHERE domain = 'a.example'");
    EXPECT_EQ(text("SELECT partner FROM partner_domains WHERE domain = 'muc.a.example'"),
              "a2.example");
    expect_accepted("DELETE FROM partners WHERE domain = 'a2.example'");
    EXPECT_EQ(number("SELECT count(*) FROM partner_domains"), 0);
}

TEST_F(RegistrySchema, BlockedDomains) {
    expect_accepted("INSERT INTO blocked_domains (domain, reason) VALUES ('spam.example', 'spam')");
    expect_refused("INSERT INTO blocked_domains (domain) VALUES ('spam.example')");
    expect_refused("INSERT INTO blocked_domains (domain) VALUES ('SPAM.example')");
    expect_accepted("INSERT INTO blocked_domains (domain) VALUES ('other.example')");
    EXPECT_EQ(text("SELECT reason FROM blocked_domains WHERE domain = 'other.example'"), "");
}

TEST_F(RegistrySchema, SettingsKeepTheirTypesAndRanges) {
    expect_accepted("UPDATE settings SET value = 50 WHERE key = 'total_connection_limit'");
    expect_refused("UPDATE settings SET value = '50' WHERE key = 'total_connection_limit'");
    expect_refused("UPDATE settings SET value = 0 WHERE key = 'partner_connection_limit'");
    expect_refused("UPDATE settings SET value = NULL WHERE key = 'keepalive_interval_s'");
    expect_refused("UPDATE settings SET value = 1.5 WHERE key = 'stream_establishment_timeout_s'");
    expect_refused("UPDATE settings SET value = -1 WHERE key = 'stream_inactivity_timeout_s'");
    expect_refused("UPDATE settings SET value = 0 WHERE key = 'sip_subscription_refresh_s'");
    expect_refused("UPDATE settings SET value = 2 WHERE key = 'log_message_bodies'");
    expect_refused("UPDATE settings SET value = 'open' WHERE key = 'federation_mode'");
    expect_accepted("UPDATE settings SET value = 'discover' WHERE key = 'federation_mode'");
    expect_refused("UPDATE settings SET value = 'true' WHERE key = 'xmpp_access_default'");
    expect_accepted("UPDATE settings SET value = 1 WHERE key = 'xmpp_access_default'");
    expect_refused("UPDATE settings SET value = 'short' WHERE key = 'dialback_secret'");
    expect_refused(
        "UPDATE settings SET value = 12345678901234567890123456789012345 "
        "WHERE key = 'dialback_secret'");
    expect_accepted("UPDATE settings SET value = '" + std::string(64, 'f') +
                    "' WHERE key = 'dialback_secret'");
    expect_refused("INSERT INTO settings (key, value) VALUES ('federation_mode', 'discover')");
}

TEST_F(RegistrySchema, SipUserAccessAndContactPairs) {
    expect_accepted(
        "INSERT INTO sip_user_access (sip_user, enabled) VALUES ('alice@sip.example', 1)");
    expect_refused("INSERT INTO sip_user_access (sip_user, enabled) VALUES ('bob@sip.example', 2)");
    expect_refused(
        "INSERT INTO sip_user_access (sip_user, enabled) VALUES ('sip:bob@sip.example', 1)");
    expect_refused("INSERT INTO sip_user_access (sip_user, enabled) VALUES ('bob', 1)");
    expect_refused(
        "INSERT INTO sip_user_access (sip_user, enabled) VALUES ('alice@sip.example', 0)");

    expect_accepted(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('alice@sip.example', 'romeo@montague.example', 'subscribed')");
    expect_accepted(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('alice@sip.example', 'juliet@capulet.example', 'messaged'), "
        "('bob@sip.example', 'romeo@montague.example', 'operator')");
    // One row per pair.
    expect_refused(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('alice@sip.example', 'romeo@montague.example', 'messaged')");
    expect_refused(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('carol@sip.example', 'romeo@montague.example', 'guessed')");
    expect_refused(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('carol@sip.example', 'romeo@montague.example/balcony', 'messaged')");
    expect_refused(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('carol@sip.example', 'Romeo@montague.example', 'messaged')");
    EXPECT_EQ(
        number("SELECT count(*) FROM contact_pairs WHERE xmpp_jid = 'romeo@montague.example'"), 2);
}

TEST_F(RegistrySchema, PolicyRevisionCountsPolicyChangesButNotContactPairs) {
    const auto r0 = revision();
    expect_accepted("INSERT INTO partners (domain) VALUES ('a.example')");
    const auto r1 = revision();
    EXPECT_GT(r1, r0);
    expect_accepted("UPDATE settings SET value = 30 WHERE key = 'partner_connection_limit'");
    const auto r2 = revision();
    EXPECT_GT(r2, r1);
    expect_accepted("INSERT INTO blocked_domains (domain) VALUES ('b.example')");
    const auto r3 = revision();
    EXPECT_GT(r3, r2);
    expect_accepted("INSERT INTO sip_user_access (sip_user, enabled) VALUES ('a@sip.example', 1)");
    const auto r4 = revision();
    EXPECT_GT(r4, r3);
    expect_accepted(
        "INSERT INTO partner_domains (domain, partner) VALUES ('muc.a.example', 'a.example')");
    const auto r5 = revision();
    EXPECT_GT(r5, r4);
    expect_accepted(
        "INSERT INTO contact_pairs (sip_user, xmpp_jid, source) VALUES "
        "('a@sip.example', 'x@y.example', 'messaged')");
    EXPECT_EQ(revision(), r5);
    expect_refused("INSERT INTO policy_revision (id, revision) VALUES (2, 1)");
}

TEST_F(RegistrySchema, UpdatedAtFollowsChanges) {
    expect_accepted(
        "INSERT INTO partners (domain, created_at, updated_at) "
        "VALUES ('a.example', 1, 1)");
    expect_accepted("UPDATE partners SET description = 'changed' WHERE domain = 'a.example'");
    EXPECT_GT(number("SELECT updated_at FROM partners WHERE domain = 'a.example'"), 1);
    EXPECT_EQ(number("SELECT created_at FROM partners WHERE domain = 'a.example'"), 1);
    // An explicit updated_at is kept.
    expect_accepted("UPDATE partners SET enabled = 0, updated_at = 5 WHERE domain = 'a.example'");
    EXPECT_EQ(number("SELECT updated_at FROM partners WHERE domain = 'a.example'"), 5);
}

}  // namespace
}  // namespace fedgw
