// PresenceEngine on real libuv and SipStacks on 127.0.0.1, against a second SipStack playing
// the SIP platform: XMPP subscribe -> SUBSCRIBE (Expires 28800, RFC 7248 §4.2.1) -> 200 with
// Expires 3600 and NOTIFY active (RFC 6665 §4.1.2) -> XMPP subscribed + presence; the refresh
// at the configured share of what was granted, inside the dialog (RFC 3261 §12.2.1.1); 423
// Min-Expires (RFC 3261 §21.4.17); 481 on a refresh (RFC 6665 §4.1.2.2); un-SUBSCRIBE; SIP
// SUBSCRIBE from a SIP user -> XMPP subscribe, NOTIFY pending, then active once the XMPP user
// approves (RFC 7248 §4.3), NOTIFYs on presence changes with PIDF (RFC 7248 §5.2); 481 and 489
// answers; and a restart on the same registry file: a refreshing SUBSCRIBE and a NOTIFY. Every
// test proves uv_loop_close() == 0 (fixture TearDown).
#include <gtest/gtest.h>

#include "tests/loop/presence/presence_loop_fixture.hpp"

namespace fedgw::gateway::test {
namespace {

constexpr char kSubscribe[] =
    "<presence from='romeo@xmpp.test/orchard' to='alice@sip.test' type='subscribe'/>";

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

class PresenceEngineTest : public PresenceLoopTest {
  public:
    // Romeo subscribes to Alice, kam grants `granted` and sends NOTIFY active with her PIDF;
    // U has seen subscribed and her presence. Returns the SUBSCRIBE.
    Received* establish(std::uint32_t granted) {
        xmpp_in(kSubscribe);
        Received* sub = wait_for("SUBSCRIBE", 1);
        if (sub == nullptr) return nullptr;
        answer(*sub, 200, {{"Expires", std::to_string(granted)}});
        auto n = notify(sub->message, 1, SubscriptionState{"active", granted, {}, std::nullopt},
                        alice_busy_pidf());
        if (!run_until([&] { return n->done(); })) return nullptr;
        EXPECT_EQ(n->status, 200);
        if (!wait_xmpp(2)) return nullptr;
        return sub;
    }
};

TEST_F(PresenceEngineTest, XmppSubscribeBecomesSubscribeThenSubscribedAndPresence) {
    start_engine();
    xmpp_in(kSubscribe);
    Received* sub = wait_for("SUBSCRIBE", 1);
    ASSERT_NE(sub, nullptr);
    const SipMessage& m = sub->message;
    EXPECT_EQ(m.request_uri(), kAlice);
    EXPECT_EQ(m.event(), "presence");
    EXPECT_EQ(m.expires(), 28800u) << "the configured lifetime, 8 h";
    // libosip2 keeps Accept as a structured field, so it is looked for on the wire.
    EXPECT_TRUE(contains(m.to_string().value_or(""), "Accept: application/pidf+xml"))
        << m.to_string().value_or("");
    EXPECT_EQ(m.from().uri, kRomeoSip);
    EXPECT_FALSE(m.from().tag.empty());
    EXPECT_EQ(m.to().uri, kAlice);
    EXPECT_TRUE(m.to().tag.empty()) << "a new dialog";
    ASSERT_EQ(m.contacts().size(), 1u);
    EXPECT_EQ(m.contacts()[0].uri, gw_->contact_uri(SipTransport::Udp));
    EXPECT_EQ(authorize_calls_, std::vector<std::string>{"alice@sip.test romeo@xmpp.test"});
    EXPECT_TRUE(xmpp_.empty()) << "a 2xx is not an authorisation (RFC 7248 §4.2.1)";

    answer(*sub, 200, {{"Expires", "3600"}});
    ASSERT_TRUE(run_until([&] {
        auto s = engine_->summary();
        return !s.empty() && s[0].outbound_expires_in_s > 0;
    }));
    EXPECT_TRUE(xmpp_.empty());
    auto n = notify(m, 1, SubscriptionState{"active", 3600, {}, std::nullopt}, alice_busy_pidf());
    ASSERT_TRUE(run_until([&] { return n->done(); }));
    EXPECT_EQ(n->status, 200);
    ASSERT_TRUE(wait_xmpp(2));
    EXPECT_TRUE(contains(xmpp_[0], "type='subscribed'")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "from='alice@sip.test'")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "to='romeo@xmpp.test'")) << xmpp_[0];
    EXPECT_FALSE(contains(xmpp_[1], "type=")) << xmpp_[1];
    EXPECT_TRUE(contains(xmpp_[1], "<show>dnd</show>")) << xmpp_[1];
    EXPECT_TRUE(contains(xmpp_[1], "<status>In a meeting</status>")) << xmpp_[1];

    auto s = engine_->summary();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].xmpp, "romeo@xmpp.test");
    EXPECT_EQ(s[0].sip, kAlice);
    EXPECT_EQ(s[0].outbound, "active");
    EXPECT_GT(s[0].outbound_expires_in_s, 3500);
    EXPECT_LE(s[0].outbound_expires_in_s, 3600);

    // Written before it was acted on: the row holds the dialog as the 200 made it.
    auto row = stored("romeo@xmpp.test", kAlice);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->state.outbound, Outbound::Active);
    EXPECT_EQ(row->partner_type, registry::PartnerType::Federated);
    EXPECT_EQ(row->out.call_id, m.call_id());
    EXPECT_EQ(row->out.local_tag, m.from().tag);
    EXPECT_EQ(row->out.remote_tag, "kam-tag");
    EXPECT_EQ(row->out.remote_target, kam_->contact_uri(SipTransport::Udp));
    EXPECT_EQ(row->out.granted, 3600u);
    EXPECT_EQ(row->out.remote_cseq, 1u);
    ASSERT_TRUE(row->sip_presence.has_value());
    EXPECT_TRUE(contains(*row->sip_presence, "In a meeting"));
}

TEST_F(PresenceEngineTest, NotesAreWithheldFromPartnersThatMayNotSeeThem) {
    start_engine();
    xmpp_in(kSubscribe, registry::PartnerType::PublicVerified);
    Received* sub = wait_for("SUBSCRIBE", 1);
    ASSERT_NE(sub, nullptr);
    answer(*sub, 200, {{"Expires", "3600"}});
    auto n = notify(sub->message, 1, SubscriptionState{"active", 3600, {}, std::nullopt},
                    alice_busy_pidf());
    ASSERT_TRUE(wait_xmpp(2));
    EXPECT_TRUE(contains(xmpp_[1], "<show>dnd</show>")) << xmpp_[1];
    EXPECT_FALSE(contains(xmpp_[1], "In a meeting")) << xmpp_[1];
}

TEST_F(PresenceEngineTest, RefreshComesAtTheConfiguredShareOfWhatWasGranted) {
    options_.refresh_fraction = 0.5;
    start_engine();
    Received* sub = establish(2);
    ASSERT_NE(sub, nullptr);
    const std::uint64_t granted_at = sub->at_ms;
    Received* refresh = wait_for("SUBSCRIBE", 2, 4000);
    ASSERT_NE(refresh, nullptr);
    const std::uint64_t after = refresh->at_ms - granted_at;
    EXPECT_GE(after, 900u) << "0.5 * 2 s";
    EXPECT_LT(after, 1900u) << "before the 2 s run out";
    const SipMessage& r = refresh->message;
    EXPECT_EQ(r.call_id(), sub->message.call_id()) << "inside the dialog";
    EXPECT_EQ(r.from().tag, sub->message.from().tag);
    EXPECT_EQ(r.to().tag, "kam-tag");
    EXPECT_EQ(r.cseq().number, sub->message.cseq().number + 1);
    EXPECT_EQ(r.request_uri(), kam_->contact_uri(SipTransport::Udp)) << "the remote target";
    EXPECT_EQ(r.expires(), 28800u);
    answer(*refresh, 200, {{"Expires", "2"}});
    // And again, for as long as the subscription lives.
    Received* again = wait_for("SUBSCRIBE", 3, 4000);
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->message.cseq().number, sub->message.cseq().number + 2);
    answer(*again, 200, {{"Expires", "2"}});
}

TEST_F(PresenceEngineTest, IntervalTooBriefRetriesWithMinExpires) {
    start_engine();
    xmpp_in(kSubscribe);
    Received* first = wait_for("SUBSCRIBE", 1);
    ASSERT_NE(first, nullptr);
    answer(*first, 423, {{"Min-Expires", "36000"}});
    Received* second = wait_for("SUBSCRIBE", 2);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->message.expires(), 36000u);
    EXPECT_TRUE(second->message.to().tag.empty());
    answer(*second, 200, {{"Expires", "36000"}});
    auto n = notify(second->message, 1, SubscriptionState{"active", 36000, {}, std::nullopt},
                    alice_busy_pidf());
    ASSERT_TRUE(wait_xmpp(2));
    EXPECT_TRUE(contains(xmpp_[0], "type='subscribed'"));
    EXPECT_EQ(stored("romeo@xmpp.test", kAlice)->out.requested, 36000u);
}

TEST_F(PresenceEngineTest, IntervalTooBriefWithoutMinExpiresRefusesTheXmppUser) {
    start_engine();
    xmpp_in(kSubscribe);
    Received* first = wait_for("SUBSCRIBE", 1);
    ASSERT_NE(first, nullptr);
    answer(*first, 423);
    ASSERT_TRUE(wait_xmpp(1));
    EXPECT_TRUE(contains(xmpp_[0], "type='unsubscribed'")) << xmpp_[0];
    EXPECT_TRUE(engine_->summary().empty());
    EXPECT_FALSE(stored("romeo@xmpp.test", kAlice).has_value()) << "an idle pair is deleted";
}

TEST_F(PresenceEngineTest, NoSuchSubscriptionOnRefreshStartsANewOne) {
    start_engine();
    Received* sub = establish(2);
    ASSERT_NE(sub, nullptr);
    Received* refresh = wait_for("SUBSCRIBE", 2);
    ASSERT_NE(refresh, nullptr);
    answer(*refresh, 481);
    Received* fresh = wait_for("SUBSCRIBE", 3);
    ASSERT_NE(fresh, nullptr);
    EXPECT_NE(fresh->message.call_id(), sub->message.call_id());
    EXPECT_TRUE(fresh->message.to().tag.empty());
    EXPECT_EQ(fresh->message.cseq().number, 1u);
    EXPECT_EQ(fresh->message.expires(), 28800u);
    answer(*fresh, 200, {{"Expires", "3600"}});
    // The old dialog's late NOTIFY is not taken for the new one.
    auto late = notify(sub->message, 5,
                       SubscriptionState{"terminated", std::nullopt, "timeout", std::nullopt});
    ASSERT_TRUE(run_until([&] { return late->done(); }));
    EXPECT_EQ(late->status, 200) << "an ended dialog's last NOTIFY";
}

TEST_F(PresenceEngineTest, TransientFailureRetriesAfterRetryAfter) {
    start_engine();
    xmpp_in(kSubscribe);
    Received* first = wait_for("SUBSCRIBE", 1);
    ASSERT_NE(first, nullptr);
    answer(*first, 503, {{"Retry-After", "1"}});
    Received* second = wait_for("SUBSCRIBE", 2, 4000);
    ASSERT_NE(second, nullptr);
    EXPECT_GE(second->at_ms - first->at_ms, 900u);
    EXPECT_TRUE(xmpp_.empty()) << "a transient failure keeps the roster subscription";
    answer(*second, 200, {{"Expires", "3600"}});
}

TEST_F(PresenceEngineTest, TemporarilyUnavailableOnRefreshRetriesInANewDialog) {
    options_.retry_base_s = 1;
    start_engine();
    Received* sub = establish(2);
    ASSERT_NE(sub, nullptr);
    Received* refresh = wait_for("SUBSCRIBE", 2);
    ASSERT_NE(refresh, nullptr);
    answer(*refresh, 480);
    ASSERT_TRUE(wait_xmpp(3));
    EXPECT_TRUE(contains(xmpp_[2], "type='unavailable'")) << "S is unreachable meanwhile";
    Received* retry = wait_for("SUBSCRIBE", 3, 4000);
    ASSERT_NE(retry, nullptr);
    EXPECT_GE(retry->at_ms - refresh->at_ms, 900u) << "after the back-off";
    EXPECT_TRUE(retry->message.to().tag.empty())
        << "RFC 6665 §4.1.2.2: a 480 on a refresh ended the subscription";
    EXPECT_NE(retry->message.call_id(), sub->message.call_id());
    answer(*retry, 200, {{"Expires", "3600"}});
    EXPECT_EQ(xmpp_.size(), 3u) << "no unsubscribed: the roster subscription is kept";
}

TEST_F(PresenceEngineTest, XmppUnsubscribeEndsTheDialog) {
    start_engine();
    Received* sub = establish(3600);
    ASSERT_NE(sub, nullptr);
    xmpp_in("<presence from='romeo@xmpp.test/orchard' to='alice@sip.test' type='unsubscribe'/>");
    Received* un = wait_for("SUBSCRIBE", 2);
    ASSERT_NE(un, nullptr);
    EXPECT_EQ(un->message.expires(), 0u);
    EXPECT_EQ(un->message.call_id(), sub->message.call_id());
    EXPECT_EQ(un->message.to().tag, "kam-tag");
    ASSERT_TRUE(wait_xmpp(3));
    EXPECT_TRUE(contains(xmpp_[2], "type='unavailable'")) << xmpp_[2];
    answer(*un, 200, {{"Expires", "0"}});
    auto n = notify(sub->message, 2,
                    SubscriptionState{"terminated", std::nullopt, "timeout", std::nullopt});
    ASSERT_TRUE(run_until([&] { return n->done(); }));
    EXPECT_EQ(n->status, 200);
    ASSERT_TRUE(run_until([&] { return engine_->summary().empty(); }));
    EXPECT_FALSE(stored("romeo@xmpp.test", kAlice).has_value());
    EXPECT_EQ(xmpp_.size(), 3u) << "no re-subscription on our own un-SUBSCRIBE's NOTIFY";
}

TEST_F(PresenceEngineTest, SipSubscribeAsksTheXmppUserThenNotifiesHisPresence) {
    start_engine();
    auto out = sip_subscribe(kRomeoSip, 600, "watch-1@kam");
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 200);
    EXPECT_EQ(out->text, "600") << "granted: what was asked, within max_watcher_expires";
    EXPECT_FALSE(out->to_tag.empty());
    EXPECT_EQ(last_response_contact_, gw_->contact_uri(SipTransport::Udp));
    Received* pending = wait_for("NOTIFY", 1);
    ASSERT_NE(pending, nullptr);
    const SipMessage& p = pending->message;
    EXPECT_EQ(p.call_id(), "watch-1@kam");
    EXPECT_EQ(p.from().uri, kRomeoSip);
    EXPECT_EQ(p.from().tag, out->to_tag);
    EXPECT_EQ(p.to().tag, "alice-tag");
    EXPECT_EQ(p.request_uri(),
              "sip:alice@127.0.0.1:" + std::to_string(port_of(*kam_, SipTransport::Udp)));
    ASSERT_TRUE(p.subscription_state().has_value());
    EXPECT_EQ(p.subscription_state()->state, "pending");
    EXPECT_TRUE(p.body().empty()) << "nothing of U before U approves";
    ASSERT_TRUE(wait_xmpp(1));
    EXPECT_TRUE(contains(xmpp_[0], "type='subscribe'")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "from='alice@sip.test'")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "to='romeo@xmpp.test'")) << xmpp_[0];

    xmpp_in("<presence from='romeo@xmpp.test' to='alice@sip.test' type='subscribed'/>");
    Received* active = wait_for("NOTIFY", 2);
    ASSERT_NE(active, nullptr);
    ASSERT_TRUE(active->message.subscription_state().has_value());
    EXPECT_EQ(active->message.subscription_state()->state, "active");
    EXPECT_EQ(active->message.cseq().number, p.cseq().number + 1);
    auto doc = pidf_of(*active);
    ASSERT_TRUE(doc.has_value()) << active->message.body();
    EXPECT_EQ(doc->entity, kRomeoSip);
    ASSERT_EQ(doc->tuples.size(), 1u);
    EXPECT_EQ(doc->tuples[0].basic, BasicStatus::Closed) << "no presence from U yet";

    xmpp_in(
        "<presence from='romeo@xmpp.test/orchard' to='alice@sip.test'>"
        "<show>away</show><status>Under the balcony</status><priority>5</priority>"
        "</presence>");
    Received* change = wait_for("NOTIFY", 3);
    ASSERT_NE(change, nullptr);
    EXPECT_EQ(change->message.subscription_state()->state, "active");
    EXPECT_EQ(change->message.cseq().number, p.cseq().number + 2);
    EXPECT_EQ(change->message.media_type(), "application/pidf+xml");
    doc = pidf_of(*change);
    ASSERT_TRUE(doc.has_value()) << change->message.body();
    ASSERT_EQ(doc->tuples.size(), 1u);
    EXPECT_EQ(doc->tuples[0].basic, BasicStatus::Open);
    EXPECT_EQ(doc->tuples[0].id, "orchard");
    ASSERT_EQ(doc->tuples[0].notes.size(), 1u);
    EXPECT_EQ(doc->tuples[0].notes[0].text, "Under the balcony");
    ASSERT_EQ(doc->persons.size(), 1u);
    EXPECT_EQ(doc->persons[0].activities, std::vector<Activity>{Activity::Away});

    auto s = engine_->summary();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].inbound, "approved");
    EXPECT_TRUE(s[0].inbound_dialog);
}

TEST_F(PresenceEngineTest, SipUnsubscribeEndsTheDialogButKeepsTheApproval) {
    start_engine();
    auto out = sip_subscribe(kRomeoSip, 600, "watch-2@kam");
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    xmpp_in("<presence from='romeo@xmpp.test' to='alice@sip.test' type='subscribed'/>");
    ASSERT_NE(wait_for("NOTIFY", 2), nullptr);
    auto un = sip_subscribe(kRomeoSip, 0, "watch-2@kam", 2, out->to_tag);
    ASSERT_TRUE(run_until([&] { return un->done(); }));
    EXPECT_EQ(un->status, 200);
    EXPECT_EQ(un->text, "0");
    Received* last = wait_for("NOTIFY", 3);
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->message.subscription_state()->state, "terminated");
    EXPECT_EQ(last->message.subscription_state()->reason, "timeout");
    auto s = engine_->summary();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].inbound, "approved");
    EXPECT_FALSE(s[0].inbound_dialog);
    // A refresh in the dialog that ended is refused.
    auto stale = sip_subscribe(kRomeoSip, 600, "watch-2@kam", 3, out->to_tag);
    ASSERT_TRUE(run_until([&] { return stale->done(); }));
    EXPECT_EQ(stale->status, 481);
    // A new SUBSCRIBE is active at once: U approved Alice before.
    auto again = sip_subscribe(kRomeoSip, 600, "watch-3@kam");
    ASSERT_TRUE(run_until([&] { return again->done(); }));
    Received* active = wait_for("NOTIFY", 4);
    ASSERT_NE(active, nullptr);
    EXPECT_EQ(active->message.subscription_state()->state, "active");
    EXPECT_EQ(xmpp_.size(), 1u) << "only the first SUBSCRIBE asked U";
}

TEST_F(PresenceEngineTest, FetchBesideALiveSubscriptionLeavesItAlone) {
    start_engine();
    auto watch = sip_subscribe(kRomeoSip, 600, "live@kam");
    ASSERT_TRUE(run_until([&] { return watch->done(); }));
    xmpp_in("<presence from='romeo@xmpp.test' to='alice@sip.test' type='subscribed'/>");
    ASSERT_NE(wait_for("NOTIFY", 2), nullptr);
    // RFC 6665 §4.4.3: a fetch is a SUBSCRIBE with Expires: 0 in a new dialog.
    auto fetch = sip_subscribe(kRomeoSip, 0, "fetch@kam");
    ASSERT_TRUE(run_until([&] { return fetch->done(); }));
    EXPECT_EQ(fetch->status, 200);
    Received* once = wait_for("NOTIFY", 3);
    ASSERT_NE(once, nullptr);
    EXPECT_EQ(once->message.call_id(), "fetch@kam");
    EXPECT_EQ(once->message.subscription_state()->state, "terminated");
    EXPECT_TRUE(pidf_of(*once).has_value()) << "U approved Alice: the state goes with it";
    ASSERT_TRUE(wait_xmpp(2));
    EXPECT_TRUE(contains(xmpp_[1], "type='probe'")) << "RFC 7248 §6.2: U's server is asked";
    // The live subscription still gets U's changes.
    xmpp_in("<presence from='romeo@xmpp.test/orchard' to='alice@sip.test'/>");
    Received* change = wait_for("NOTIFY", 4);
    ASSERT_NE(change, nullptr);
    EXPECT_EQ(change->message.call_id(), "live@kam");
    EXPECT_EQ(change->message.subscription_state()->state, "active");
    auto s = engine_->summary();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_TRUE(s[0].inbound_dialog);
}

TEST_F(PresenceEngineTest, UnknownDialogAndWrongEventAreRefused) {
    start_engine();
    // A NOTIFY for a subscription the gateway never made.
    RequestSpec spec;
    spec.from = {"", kAlice, "x1"};
    spec.to = {"", kRomeoSip, "y1"};
    spec.call_id = "nobody-asked@kam";
    spec.contact = kam_->contact_uri(SipTransport::Udp);
    auto m = sip::build_notify(spec, "presence", SubscriptionState{"active", 60, {}, std::nullopt},
                               "", "", rnd());
    ASSERT_TRUE(m.has_value());
    auto n = send(*kam_, std::move(*m), gw_addr());
    // A SUBSCRIBE for an event package the gateway does not do.
    auto wrong = sip_subscribe(kRomeoSip, 600, "mwi@kam", 1, {}, "message-summary");
    ASSERT_TRUE(run_until([&] { return n->done() && wrong->done(); }));
    EXPECT_EQ(n->status, 481);
    EXPECT_EQ(wrong->status, 489);
    EXPECT_TRUE(engine_->summary().empty());
    EXPECT_TRUE(xmpp_.empty());
}

TEST_F(PresenceEngineTest, UnauthorisedWatcherIsRefusedWithoutSip) {
    authorization_ = WatcherAuthorization::Denied;
    start_engine();
    xmpp_in(kSubscribe, registry::PartnerType::PublicUnverified);
    ASSERT_TRUE(wait_xmpp(1));
    EXPECT_TRUE(contains(xmpp_[0], "type='unsubscribed'")) << xmpp_[0];
    EXPECT_EQ(count("SUBSCRIBE"), 0u);
}

TEST_F(PresenceEngineTest, PresenceToADomainNotFrontedGetsAnError) {
    start_engine();
    xmpp_in(
        "<presence from='romeo@xmpp.test/orchard' to='alice@elsewhere.test' "
        "type='subscribe' id='s1'/>");
    ASSERT_EQ(xmpp_.size(), 1u);
    EXPECT_TRUE(contains(xmpp_[0], "type='error'")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "item-not-found")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "id='s1'")) << xmpp_[0];
}

TEST_F(PresenceEngineTest, ProbeWithoutSubscriptionFetches) {
    start_engine();
    xmpp_in("<presence from='romeo@xmpp.test/orchard' to='alice@sip.test' type='probe'/>");
    Received* fetch = wait_for("SUBSCRIBE", 1);
    ASSERT_NE(fetch, nullptr) << "RFC 7248 §6.1: a probe becomes a fetch";
    EXPECT_EQ(fetch->message.expires(), 0u);
    EXPECT_TRUE(fetch->message.to().tag.empty());
    answer(*fetch, 200, {{"Expires", "0"}});
    auto n = notify(fetch->message, 1,
                    SubscriptionState{"terminated", std::nullopt, "timeout", std::nullopt},
                    alice_busy_pidf());
    ASSERT_TRUE(run_until([&] { return n->done(); }));
    EXPECT_EQ(n->status, 200);
    ASSERT_TRUE(wait_xmpp(1));
    EXPECT_FALSE(contains(xmpp_[0], "type=")) << xmpp_[0];
    EXPECT_TRUE(contains(xmpp_[0], "<show>dnd</show>")) << xmpp_[0];
    EXPECT_TRUE(engine_->summary().empty()) << "a fetch leaves no pair behind";
}

TEST_F(PresenceEngineTest, ProbeWithActiveSubscriptionAnswersAtOnce) {
    start_engine();
    ASSERT_NE(establish(3600), nullptr);
    xmpp_in("<presence from='romeo@xmpp.test/orchard' to='alice@sip.test' type='probe'/>");
    ASSERT_EQ(xmpp_.size(), 3u);
    EXPECT_TRUE(contains(xmpp_[2], "<show>dnd</show>")) << xmpp_[2];
    EXPECT_TRUE(contains(xmpp_[2], "In a meeting")) << xmpp_[2];
    EXPECT_EQ(count("SUBSCRIBE"), 1u);
}

TEST_F(PresenceEngineTest, PairsBeyondTheLimitAreRefused) {
    options_.max_pairs = 1;
    start_engine();
    xmpp_in(kSubscribe);
    ASSERT_NE(wait_for("SUBSCRIBE", 1), nullptr);
    xmpp_in("<presence from='romeo@xmpp.test' to='bob@sip.test' type='subscribe'/>");
    ASSERT_EQ(xmpp_.size(), 1u);
    EXPECT_TRUE(contains(xmpp_[0], "resource-constraint")) << xmpp_[0];
    auto out = sip_subscribe("sip:juliet@xmpp.test", 600, "over@kam");
    ASSERT_TRUE(run_until([&] { return out->done(); }));
    EXPECT_EQ(out->status, 503);
    EXPECT_EQ(engine_->summary().size(), 1u);
}

TEST_F(PresenceEngineTest, RestartRefreshesTheSubscriptionAndNotifiesTheWatcher) {
    start_engine();
    Received* sub = establish(3600);
    ASSERT_NE(sub, nullptr);
    auto watch = sip_subscribe(kRomeoSip, 600, "watch-r@kam");
    ASSERT_TRUE(run_until([&] { return watch->done(); }));
    xmpp_in("<presence from='romeo@xmpp.test' to='alice@sip.test' type='subscribed'/>");
    xmpp_in(
        "<presence from='romeo@xmpp.test/orchard' to='alice@sip.test'><show>xa</show>"
        "</presence>");
    ASSERT_NE(wait_for("NOTIFY", 3), nullptr);
    const std::uint32_t last_notify_cseq = wait_for("NOTIFY", 3)->message.cseq().number;
    const std::string sub_call_id = sub->message.call_id();
    const std::string sub_tag = sub->message.from().tag;
    const std::uint32_t sub_cseq = sub->message.cseq().number;

    engine_.reset();  // the gateway stops; the SIP platform keeps both dialogs
    const std::size_t subscribes = count("SUBSCRIBE");
    const std::size_t notifies = count("NOTIFY");
    const std::size_t stanzas = xmpp_.size();
    start_engine();
    const std::uint64_t started = now();

    Received* refresh = wait_for("SUBSCRIBE", subscribes + 1, 2000);
    ASSERT_NE(refresh, nullptr) << "a refreshing SUBSCRIBE soon after the start";
    EXPECT_LT(refresh->at_ms - started, 1000u);
    EXPECT_EQ(refresh->message.call_id(), sub_call_id) << "the same dialog";
    EXPECT_EQ(refresh->message.from().tag, sub_tag);
    EXPECT_EQ(refresh->message.to().tag, "kam-tag");
    EXPECT_EQ(refresh->message.cseq().number, sub_cseq + 1);
    EXPECT_EQ(refresh->message.expires(), 28800u);
    answer(*refresh, 200, {{"Expires", "3600"}});

    Received* restored = wait_for("NOTIFY", notifies + 1, 2000);
    ASSERT_NE(restored, nullptr) << "a NOTIFY with the current state";
    EXPECT_LT(restored->at_ms - started, 1000u);
    const SipMessage& n = restored->message;
    EXPECT_EQ(n.call_id(), "watch-r@kam");
    EXPECT_EQ(n.from().tag, watch->to_tag);
    EXPECT_EQ(n.cseq().number, last_notify_cseq + 1) << "CSeq continues across the restart";
    ASSERT_TRUE(n.subscription_state().has_value());
    EXPECT_EQ(n.subscription_state()->state, "active");
    auto doc = pidf_of(*restored);
    ASSERT_TRUE(doc.has_value()) << n.body();
    ASSERT_EQ(doc->tuples.size(), 1u);
    EXPECT_EQ(doc->tuples[0].basic, BasicStatus::Open) << "U's last presence survived";
    ASSERT_EQ(doc->persons.size(), 1u);
    EXPECT_EQ(doc->persons[0].activities, std::vector<Activity>{Activity::Away}) << "xa";

    // The restored dialog still takes NOTIFYs, and U still hears of Alice.
    auto more = notify(sub->message, 2, SubscriptionState{"active", 3500, {}, std::nullopt}, "");
    ASSERT_TRUE(run_until([&] { return more->done(); }));
    EXPECT_EQ(more->status, 200);
    ASSERT_TRUE(wait_xmpp(stanzas + 1));
    EXPECT_TRUE(contains(xmpp_.back(), "type='unavailable'")) << xmpp_.back();
    auto s = engine_->summary();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].outbound, "active");
    EXPECT_EQ(s[0].inbound, "approved");
}

TEST_F(PresenceEngineTest, WatcherSubscriptionThatIsNotRefreshedEnds) {
    options_.max_watcher_expires = 1;
    start_engine();
    auto watch = sip_subscribe(kRomeoSip, 600, "short@kam");
    ASSERT_TRUE(run_until([&] { return watch->done(); }));
    EXPECT_EQ(watch->text, "1");
    Received* last = wait_for("NOTIFY", 2, 3000);
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->message.subscription_state()->state, "terminated");
    EXPECT_EQ(last->message.subscription_state()->reason, "timeout");
    auto s = engine_->summary();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_FALSE(s[0].inbound_dialog);
    EXPECT_EQ(s[0].inbound, "pending") << "U was asked and has not answered";
}

}  // namespace
}  // namespace fedgw::gateway::test
