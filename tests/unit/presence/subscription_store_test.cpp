// Unit tests for gateway/presence's SubscriptionStore on a temporary registry file: the
// migration that creates the table, a full record written and read back field for field,
// updates in place, deletion, a restart (close and reopen the file, load everything), and the
// CHECK constraints that keep a hand-edited row readable.
#include <gtest/gtest.h>

#include "gateway/presence/subscription_store.hpp"
#include "schema/migrations.hpp"
#include "tests/unit/db/temp_dir.hpp"

namespace fedgw::gateway {
namespace {

PairRecord full_record() {
    PairRecord r;
    r.xmpp = "romeo@xmpp.test";
    r.sip = "sip:alice@sip.test";
    r.partner_type = registry::PartnerType::Federated;
    r.state = PairState{Outbound::Active, Inbound::Approved, true, 2};
    r.out.call_id = "0123456789abcdef0123456789abcdef";
    r.out.local_tag = "a1b2c3";
    r.out.remote_tag = "kam-77";
    r.out.local_cseq = 4;
    r.out.remote_cseq = 9;
    r.out.remote_target = "sip:alice@192.0.2.10:5060;transport=tcp";
    r.out.route_set = {"sip:192.0.2.1;lr", "sip:proxy.sip.test;lr;transport=tcp"};
    r.out.requested = 28800;
    r.out.granted = 3600;
    r.out.expires_at = 1'900'000'000;
    r.out.refresh_at = 1'899'998'200;
    r.in.call_id = "watcher-call@192.0.2.10";
    r.in.local_tag = "gw-tag";
    r.in.remote_tag = "phone-tag";
    r.in.remote_uri = "sip:alice@sip.test";
    r.in.remote_cseq = 21;
    r.in.notify_cseq = 3;
    r.in.remote_target = "sip:alice@192.0.2.10:5062";
    r.in.route_set = {"sip:192.0.2.1;lr"};
    r.in.expires_at = 1'900'000'100;
    r.sip_presence = "<?xml version='1.0'?><presence entity='sip:alice@sip.test'/>";
    r.xmpp_presence = "<presence from='romeo@xmpp.test/orchard' to='alice@sip.test'/>";
    return r;
}

class SubscriptionStoreTest : public ::testing::Test {
  protected:
    std::string path() const { return dir_.file("registry.sqlite"); }

    SubscriptionStore open() {
        auto s = SubscriptionStore::open(path());
        EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
        if (!s) std::abort();
        return std::move(*s);
    }

    test::TempDir dir_;
};

TEST_F(SubscriptionStoreTest, OpeningCreatesTheFileAtTheLatestSchema) {
    auto store = open();
    EXPECT_EQ(*store.database().user_version(), schema::latest_version());
    EXPECT_GE(schema::latest_version(), 2);
    EXPECT_EQ(*store.count(), 0);
    auto all = store.load_all();
    ASSERT_TRUE(all.has_value());
    EXPECT_TRUE(all->empty());
}

TEST_F(SubscriptionStoreTest, MigrationNamesTheSubscriptionsScript) {
    const auto list = schema::migrations();
    ASSERT_GE(list.size(), 2u);
    EXPECT_EQ(list[1].version, 2);
    EXPECT_EQ(list[1].name, "subscriptions");
    EXPECT_NE(list[1].sql.find("CREATE TABLE subscriptions"), std::string_view::npos);
}

TEST_F(SubscriptionStoreTest, SavesAndLoadsEveryField) {
    auto store = open();
    const PairRecord r = full_record();
    ASSERT_TRUE(store.save(r).has_value());
    auto back = store.load(r.xmpp, r.sip);
    ASSERT_TRUE(back.has_value()) << back.error().describe();
    ASSERT_TRUE(back->has_value());
    EXPECT_EQ(**back, r);
}

TEST_F(SubscriptionStoreTest, EmptyDialogsAndUnknownPresenceReadBackAsEmpty) {
    auto store = open();
    PairRecord r;
    r.xmpp = "juliet@xmpp.test";
    r.sip = "sip:bob@sip.test";
    r.state.inbound = Inbound::Pending;
    ASSERT_TRUE(store.save(r).has_value());
    auto back = store.load(r.xmpp, r.sip);
    ASSERT_TRUE(back.has_value() && back->has_value());
    EXPECT_EQ(**back, r);
    EXPECT_FALSE((*back)->out.exists());
    EXPECT_FALSE((*back)->in.exists());
    EXPECT_FALSE((*back)->sip_presence.has_value());
    EXPECT_FALSE((*back)->out.remote_cseq.has_value());
    // An empty NOTIFY body is kept as "", distinct from nothing known.
    r.sip_presence = "";
    ASSERT_TRUE(store.save(r).has_value());
    back = store.load(r.xmpp, r.sip);
    ASSERT_TRUE(back.has_value() && back->has_value());
    ASSERT_TRUE((*back)->sip_presence.has_value());
    EXPECT_EQ(*(*back)->sip_presence, "");
}

TEST_F(SubscriptionStoreTest, SaveReplacesTheRowOfThePair) {
    auto store = open();
    PairRecord r = full_record();
    ASSERT_TRUE(store.save(r).has_value());
    r.state.outbound = Outbound::Ending;
    r.out.local_cseq = 5;
    r.out.route_set.clear();
    r.in = InboundDialog{};
    r.state.inbound_dialog = false;
    r.xmpp_presence.reset();
    ASSERT_TRUE(store.save(r).has_value());
    EXPECT_EQ(*store.count(), 1);
    auto back = store.load(r.xmpp, r.sip);
    ASSERT_TRUE(back.has_value() && back->has_value());
    EXPECT_EQ(**back, r);
}

TEST_F(SubscriptionStoreTest, RemoveDeletesOnlyThatPair) {
    auto store = open();
    PairRecord a = full_record();
    PairRecord b = full_record();
    b.sip = "sip:carol@sip.test";
    b.out.call_id = "other-call";
    b.in.call_id = "other-in-call";
    ASSERT_TRUE(store.save(a).has_value());
    ASSERT_TRUE(store.save(b).has_value());
    ASSERT_TRUE(store.remove(a.xmpp, a.sip).has_value());
    ASSERT_TRUE(store.remove(a.xmpp, a.sip).has_value()) << "no row is not an error";
    auto all = store.load_all();
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(all->front(), b);
    auto gone = store.load(a.xmpp, a.sip);
    ASSERT_TRUE(gone.has_value());
    EXPECT_FALSE(gone->has_value());
}

TEST_F(SubscriptionStoreTest, ARestartLoadsWhatWasWritten) {
    std::vector<PairRecord> written;
    {
        auto store = open();
        for (int i = 0; i < 3; ++i) {
            PairRecord r = full_record();
            r.sip = "sip:user" + std::to_string(i) + "@sip.test";
            r.out.call_id = "call-" + std::to_string(i);
            r.in.call_id = "in-" + std::to_string(i);
            r.state.outbound_failures = static_cast<unsigned>(i);
            ASSERT_TRUE(store.save(r).has_value());
            written.push_back(r);
        }
    }  // the process ends: the connection closes
    auto store = open();
    auto all = store.load_all();
    ASSERT_TRUE(all.has_value()) << all.error().describe();
    EXPECT_EQ(*all, written);  // key order: xmpp, then sip
}

TEST_F(SubscriptionStoreTest, TwoDialogsCannotShareACallId) {
    auto store = open();
    PairRecord a = full_record();
    PairRecord b = full_record();
    b.sip = "sip:carol@sip.test";
    b.in.call_id = "other-in-call";
    ASSERT_TRUE(store.save(a).has_value());
    auto r = store.save(b);  // same outbound Call-ID as a
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::Constraint);
}

TEST_F(SubscriptionStoreTest, ChecksRefuseRowsTheEngineCouldNotRead) {
    auto store = open();
    PairRecord r = full_record();
    r.xmpp = "romeo@xmpp.test/orchard";  // a full JID: never a key
    EXPECT_FALSE(store.save(r).has_value());
    r = full_record();
    r.sip = "alice@sip.test";  // no scheme
    EXPECT_FALSE(store.save(r).has_value());
    auto& db = store.database();
    EXPECT_FALSE(db.exec("INSERT INTO subscriptions (xmpp_jid, sip_aor, outbound) VALUES "
                         "('a@b.test', 'sip:c@d.test', 'sideways')")
                     .has_value());
    EXPECT_FALSE(db.exec("INSERT INTO subscriptions (xmpp_jid, sip_aor, partner_type) VALUES "
                         "('a@b.test', 'sip:c@d.test', 'friend')")
                     .has_value());
    EXPECT_EQ(*store.count(), 0);
}

TEST(SubscriptionStoreNames, StatesRoundTrip) {
    for (auto o : {Outbound::None, Outbound::Subscribing, Outbound::Pending, Outbound::Active,
                   Outbound::Ending})
        EXPECT_EQ(outbound_from_name(name(o)), o);
    for (auto i : {Inbound::None, Inbound::Pending, Inbound::Approved})
        EXPECT_EQ(inbound_from_name(name(i)), i);
    EXPECT_FALSE(outbound_from_name("Active").has_value());
    EXPECT_FALSE(inbound_from_name("").has_value());
}

TEST(PairRecordTest, IdleOnlyWithNothingToRemember) {
    PairRecord r;
    r.xmpp = "a@b.test";
    r.sip = "sip:c@d.test";
    EXPECT_TRUE(r.is_idle());
    r.xmpp_presence = "<presence/>";  // U's presence alone is not worth a row
    EXPECT_TRUE(r.is_idle());
    r.state.inbound = Inbound::Approved;
    EXPECT_FALSE(r.is_idle());
    r.state.inbound = Inbound::None;
    r.in.call_id = "x";
    EXPECT_FALSE(r.is_idle());
}

}  // namespace
}  // namespace fedgw::gateway
