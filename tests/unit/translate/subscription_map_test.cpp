// Subscriptions (RFC 7248 §4, §6; RFC 6665 §4; RFC 6121 §3; RFC 3261 §17.1.2.2, §21.4.17) and
// Kamailio's behaviour (tests/interop/kamailio/README.md).
//
// Provenance tags ([RFC text], [recalled], [ours]) as in translate_test_support.hpp. The RFC
// 6665 §4.1.3 reason codes are [RFC text] (the same wording as RFC 3265 §3.2.4); the RFC 7248
// rows are [recalled]: the RFC 7248 text could not be fetched with the tools available.
#include "gateway/translate/subscription_map.hpp"

#include <gtest/gtest.h>

namespace fedgw::gateway {
namespace {

using X = XmppAction;
using A = SipAction;
constexpr auto kAllowed = WatcherAuthorization::Allowed;

PairState outbound(Outbound o) {
    PairState s;
    s.outbound = o;
    return s;
}

PairState inbound(Inbound i, bool dialog = true) {
    PairState s;
    s.inbound = i;
    s.inbound_dialog = dialog;
    return s;
}

sip::SubscriptionState sub_state(std::string state, std::string reason = {},
                                 std::optional<std::uint32_t> expires = {},
                                 std::optional<std::uint32_t> retry_after = {}) {
    return sip::SubscriptionState{std::move(state), expires, std::move(reason), retry_after};
}

// RFC 7248 §4.2.1 [recalled]: subscribe -> SUBSCRIBE; no answer to U before the NOTIFY.
// [ours] the lifetime asked for, 28800 s (8 h, the registry's sip_subscription_refresh_s).
TEST(XmppSubscribe, SendsSubscribe) {
    const auto s = on_xmpp_presence(PresenceType::Subscribe, PairState{}, kAllowed);
    ASSERT_EQ(s.sip.size(), 1u);
    EXPECT_EQ(s.sip[0], (SipStep{A::Subscribe, 28800, 0, {}}));
    EXPECT_TRUE(s.xmpp.empty());
    EXPECT_EQ(s.state.outbound, Outbound::Subscribing);
}

// RFC 6121 §3.1.3 [recalled wording]: a subscribe for an existing subscription is answered
// with subscribed (and the presence) at once, without asking the contact again.
TEST(XmppSubscribe, AlreadyActive) {
    const auto s = on_xmpp_presence(PresenceType::Subscribe, outbound(Outbound::Active), kAllowed);
    EXPECT_TRUE(s.sip.empty());
    EXPECT_EQ(s.xmpp, (std::vector<X>{X::Subscribed, X::LastPresence}));
}

// [ours] authorisation per partner type (DESIGN.md "The partner registry").
TEST(XmppSubscribe, InProgressAndAuthorisation) {
    EXPECT_TRUE(on_xmpp_presence(PresenceType::Subscribe, outbound(Outbound::Pending), kAllowed)
                    .sip.empty());
    const auto denied =
        on_xmpp_presence(PresenceType::Subscribe, PairState{}, WatcherAuthorization::Denied);
    EXPECT_TRUE(denied.sip.empty());
    EXPECT_EQ(denied.xmpp, (std::vector<X>{X::Unsubscribed}));
    const auto pending =
        on_xmpp_presence(PresenceType::Subscribe, PairState{}, WatcherAuthorization::Pending);
    EXPECT_TRUE(pending.sip.empty());
    EXPECT_TRUE(pending.xmpp.empty());
    EXPECT_EQ(pending.state.outbound, Outbound::None);
}

// RFC 7248 §4.2.3 [recalled]: unsubscribe -> SUBSCRIBE Expires: 0, which is how RFC 6665
// §4.1.2.3 unsubscribes [recalled wording: "a SUBSCRIBE request with an Expires header field
// of 0"].
TEST(XmppUnsubscribe, EndsTheSipSubscription) {
    const auto s =
        on_xmpp_presence(PresenceType::Unsubscribe, outbound(Outbound::Active), kAllowed);
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Unsubscribe, 0, 0, {}}}));
    EXPECT_EQ(s.xmpp, (std::vector<X>{X::Unavailable}));  // RFC 6121 §3.3.3
    EXPECT_EQ(s.state.outbound, Outbound::Ending);
    EXPECT_TRUE(on_xmpp_presence(PresenceType::Unsubscribe, PairState{}, kAllowed).sip.empty());
}

// RFC 7248 §6.1 [recalled]: probe -> fetch (SUBSCRIBE Expires: 0, RFC 6665 §4.4.3 polling);
// [ours] unless the outbound subscription is active: then the last presence is answered.
TEST(XmppProbe, FetchOrLastPresence) {
    EXPECT_EQ(on_xmpp_presence(PresenceType::Probe, PairState{}, kAllowed).sip,
              (std::vector<SipStep>{{A::Fetch, 0, 0, {}}}));
    const auto known = on_xmpp_presence(PresenceType::Probe, outbound(Outbound::Active), kAllowed);
    EXPECT_TRUE(known.sip.empty());
    EXPECT_EQ(known.xmpp, (std::vector<X>{X::LastPresence}));
    EXPECT_EQ(on_xmpp_presence(PresenceType::Probe, PairState{}, WatcherAuthorization::Denied).xmpp,
              (std::vector<X>{X::Unsubscribed}));
}

// RFC 7248 §4.3.1 [recalled]: U's subscribed answers S's SUBSCRIBE: NOTIFY active.
TEST(XmppSubscribed, ActivatesSipWatcher) {
    const auto s = on_xmpp_presence(PresenceType::Subscribed, inbound(Inbound::Pending), kAllowed);
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::NotifyActive, 0, 0, {}}}));
    EXPECT_EQ(s.state.inbound, Inbound::Approved);
    EXPECT_TRUE(on_xmpp_presence(PresenceType::Subscribed, PairState{}, kAllowed).sip.empty());
}

// RFC 7248 §4.3 [recalled]: unsubscribed -> NOTIFY terminated. The reason is RFC 6665
// §4.1.3 [RFC text] "rejected: The subscription has been terminated due to change in
// authorization policy.  Clients SHOULD NOT attempt to re-subscribe."
TEST(XmppUnsubscribed, RejectsSipWatcher) {
    const auto s =
        on_xmpp_presence(PresenceType::Unsubscribed, inbound(Inbound::Approved), kAllowed);
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::NotifyTerminated, 0, 0, "rejected"}}));
    EXPECT_EQ(s.state.inbound, Inbound::None);
    EXPECT_FALSE(s.state.inbound_dialog);
}

// RFC 7248 §5 [recalled]: presence goes to SIP watchers as NOTIFY. [ours] a presence error
// ends the watcher's subscription with RFC 6665 §4.1.3 [RFC text] "noresource: The
// subscription has been terminated because the resource state which was being monitored no
// longer exists.  Clients SHOULD NOT attempt to re-subscribe."
TEST(XmppPresence, ForwardedOnlyToActiveWatchers) {
    EXPECT_EQ(on_xmpp_presence(PresenceType::Available, inbound(Inbound::Approved), kAllowed).sip,
              (std::vector<SipStep>{{A::NotifyActive, 0, 0, {}}}));
    EXPECT_TRUE(on_xmpp_presence(PresenceType::Unavailable, inbound(Inbound::Pending), kAllowed)
                    .sip.empty());
    EXPECT_TRUE(
        on_xmpp_presence(PresenceType::Available, inbound(Inbound::Approved, false), kAllowed)
            .sip.empty());
    const auto err = on_xmpp_presence(PresenceType::Error, inbound(Inbound::Pending), kAllowed);
    EXPECT_EQ(err.sip, (std::vector<SipStep>{{A::NotifyTerminated, 0, 0, "noresource"}}));
}

// RFC 7248 §4.2.1 [recalled]: only a NOTIFY with state active authorises.
TEST(Notify, ActiveSendsSubscribedOnce) {
    const auto first = on_notify(sub_state("active", {}, 3600), outbound(Outbound::Subscribing));
    EXPECT_EQ(first.xmpp, (std::vector<X>{X::Subscribed, X::NotifyBody}));
    EXPECT_EQ(first.state.outbound, Outbound::Active);
    EXPECT_EQ(first.refresh_in, refresh_delay(3600));
    const auto again = on_notify(sub_state("active", {}, 1200), outbound(Outbound::Active));
    EXPECT_EQ(again.xmpp, (std::vector<X>{X::NotifyBody}));
}

// RFC 6665 §4.1.3 [RFC text via RFC 3265 §3.2.4 wording]: for "pending", "No further action
// is necessary on the part of the subscriber." [ours] XMPP has no pending from the contact.
TEST(Notify, PendingHasNoXmppEquivalent) {
    const auto s = on_notify(sub_state("pending"), outbound(Outbound::Subscribing));
    EXPECT_TRUE(s.xmpp.empty());
    EXPECT_TRUE(s.sip.empty());
    EXPECT_EQ(s.state.outbound, Outbound::Pending);
}

// [ours] Kamailio: after our Expires: 0, a last NOTIFY terminated;reason=timeout: not a
// reason to re-subscribe, not the presentity going away.
TEST(Notify, TerminatedAfterOurUnsubscribe) {
    const auto s = on_notify(sub_state("terminated", "timeout"), outbound(Outbound::Ending));
    EXPECT_TRUE(s.sip.empty());
    EXPECT_TRUE(s.xmpp.empty());
    EXPECT_EQ(s.state.outbound, Outbound::None);
}

// RFC 6665 §4.1.3 [RFC text]: "deactivated: The subscription has been terminated, but the
// subscriber SHOULD retry immediately with a new subscription." "timeout: The subscription
// has been terminated because it was not refreshed before it expired.  Clients MAY
// re-subscribe immediately."
TEST(Notify, TerminatedResubscribe) {
    for (std::string r : {"timeout", "deactivated"}) {
        const auto s = on_notify(sub_state("terminated", r), outbound(Outbound::Active));
        EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Subscribe, 28800, 0, {}}})) << r;
        EXPECT_TRUE(s.xmpp.empty()) << r;
    }
}

// RFC 6665 §4.1.3 [RFC text]: "probation: The subscription has been terminated, but the
// client SHOULD retry at some later time.  If a "retry-after" parameter is also present, the
// client SHOULD wait at least the number of seconds specified by that parameter". "If no
// reason code or an unknown reason code is present, the client MAY attempt to re-subscribe at
// any time (unless a "retry-after" parameter is present ...)". [ours] without retry-after,
// the back-off (30 s first).
TEST(Notify, TerminatedRetryLater) {
    const auto s =
        on_notify(sub_state("terminated", "probation", {}, 120), outbound(Outbound::Active));
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Subscribe, 28800, 120, {}}}));
    EXPECT_EQ(s.xmpp, (std::vector<X>{X::Unavailable}));
    const auto none = on_notify(sub_state("terminated"), outbound(Outbound::Pending));
    ASSERT_EQ(none.sip.size(), 1u);
    EXPECT_EQ(none.sip[0].delay_s, 30u);
    EXPECT_TRUE(none.xmpp.empty());
}

// RFC 6665 §4.1.3 [RFC text]: "giveup: The subscription has been terminated because the
// notifier could not obtain authorization in a timely fashion.  If a "retry-after" parameter
// is also present, the client SHOULD wait at least the number of seconds specified by that
// parameter before attempting to re-subscribe; otherwise, the client MAY retry immediately,
// but will likely get put back into pending state." [ours] without retry-after, the back-off.
TEST(Notify, TerminatedGiveup) {
    const auto s =
        on_notify(sub_state("terminated", "giveup", {}, 600), outbound(Outbound::Pending));
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Subscribe, 28800, 600, {}}}));
    EXPECT_TRUE(s.xmpp.empty());
    const auto none = on_notify(sub_state("terminated", "giveup"), outbound(Outbound::Pending));
    ASSERT_EQ(none.sip.size(), 1u);
    EXPECT_EQ(none.sip[0].delay_s, 30u);
    EXPECT_EQ(none.state.outbound, Outbound::Subscribing);
}

// RFC 6665 §4.1.3 [RFC text]: rejected and noresource: "Clients SHOULD NOT attempt to
// re-subscribe." invariant (added by RFC 6665, wording not found in the sources read:
// [recalled] "SHOULD NOT attempt to re-subscribe"). RFC 7248 §4.2.1 [recalled]: U then gets
// unsubscribed.
TEST(Notify, TerminatedGiveUp) {
    for (std::string r : {"rejected", "noresource", "invariant"}) {
        const auto s = on_notify(sub_state("terminated", r), outbound(Outbound::Active));
        EXPECT_TRUE(s.sip.empty()) << r;
        EXPECT_EQ(s.xmpp, (std::vector<X>{X::Unavailable, X::Unsubscribed})) << r;
        EXPECT_EQ(s.state.outbound, Outbound::None);
    }
}

TEST(SubscribeResponse, SuccessSchedulesRefresh) {
    // Kamailio caps 28800 to 3600 in its 200 OK.
    SubscribeResponse r{200, 3600, {}, {}, 28800, false};
    const auto s = on_subscribe_response(r, outbound(Outbound::Subscribing));
    EXPECT_EQ(s.refresh_in, 2700u);
    EXPECT_TRUE(s.xmpp.empty());  // a 2xx is not an authorisation
    r.expires.reset();
    EXPECT_EQ(on_subscribe_response(r, outbound(Outbound::Subscribing)).refresh_in, 21600u);
}

// RFC 3261 §21.4.17 / RFC 6665 §4.1.2.1: 423 -> retry with Min-Expires.
TEST(SubscribeResponse, IntervalTooBrief) {
    SubscribeResponse r{423, {}, 7200, {}, 3600, false};
    const auto s = on_subscribe_response(r, outbound(Outbound::Subscribing));
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Subscribe, 7200, 0, {}}}));
    r.min_expires.reset();
    const auto bad = on_subscribe_response(r, outbound(Outbound::Subscribing));
    EXPECT_TRUE(bad.sip.empty());
    EXPECT_EQ(bad.xmpp, (std::vector<X>{X::Unsubscribed}));
}

// RFC 6665 §4.1.2.2: 481 to a refresh -> the subscription is gone; make a new one.
TEST(SubscribeResponse, RefreshGot481) {
    const auto s =
        on_subscribe_response({481, {}, {}, {}, 28800, true}, outbound(Outbound::Active));
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Subscribe, 28800, 0, {}}}));
    EXPECT_TRUE(s.xmpp.empty());
}

TEST(SubscribeResponse, TransientRetriedWithBackoff) {
    PairState st = outbound(Outbound::Active);
    const auto s1 = on_subscribe_response({503, {}, {}, {}, 28800, true}, st);
    EXPECT_EQ(s1.sip, (std::vector<SipStep>{{A::Subscribe, 28800, 30, {}}}));
    EXPECT_EQ(s1.xmpp, (std::vector<X>{X::Unavailable}));
    const auto s2 = on_subscribe_response({408, {}, {}, {}, 28800, false}, s1.state);
    EXPECT_EQ(s2.sip[0].delay_s, 60u);
    EXPECT_TRUE(s2.xmpp.empty());
    const auto s3 = on_subscribe_response({480, {}, {}, 45, 28800, false}, s2.state);
    EXPECT_EQ(s3.sip[0].delay_s, 45u);  // Retry-After wins
    EXPECT_EQ(
        on_subscribe_response({200, 3600, {}, {}, 28800, false}, s3.state).state.outbound_failures,
        0u);
}

// RFC 7248 §4.2.1 [recalled]: a 4xx/6xx refusal -> unsubscribed.
TEST(SubscribeResponse, PermanentRefusals) {
    for (int status : {403, 404, 489, 603, 604, 302}) {
        const auto s = on_subscribe_response({status, {}, {}, {}, 28800, false},
                                             outbound(Outbound::Subscribing));
        EXPECT_TRUE(s.sip.empty()) << status;
        EXPECT_EQ(s.xmpp, (std::vector<X>{X::Unsubscribed})) << status;
        EXPECT_EQ(s.state.outbound, Outbound::None);
    }
}

TEST(SubscribeResponse, ForAnUnsubscribe) {
    const auto s = on_subscribe_response({200, 0, {}, {}, 0, true}, outbound(Outbound::Ending));
    EXPECT_TRUE(s.sip.empty());
    EXPECT_FALSE(s.refresh_in);
    EXPECT_EQ(s.state.outbound, Outbound::None);
}

TEST(SubscribeRequestFailure, RetriedLater) {
    const auto s = on_request_failure(sip::RequestFailure::Timeout, outbound(Outbound::Active));
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::Subscribe, 28800, 30, {}}}));
    EXPECT_EQ(s.xmpp, (std::vector<X>{X::Unavailable}));
}

// RFC 7248 §4.3.1 [recalled]: S's SUBSCRIBE -> subscribe to U; S gets pending until U
// answers (RFC 6665 §4.2.1: a NOTIFY right after the 200).
TEST(SipSubscribe, InitialAsksTheXmppUser) {
    const auto s = on_sip_subscribe(3600, false, PairState{}, kAllowed);
    EXPECT_EQ(s.granted, 3600u);
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::NotifyPending, 0, 0, {}}}));
    EXPECT_EQ(s.xmpp, (std::vector<X>{X::Subscribe}));
    EXPECT_EQ(s.state.inbound, Inbound::Pending);
    EXPECT_TRUE(s.state.inbound_dialog);
}

TEST(SipSubscribe, ApprovedBeforeIsActiveAtOnce) {
    const auto s = on_sip_subscribe(7200, false, inbound(Inbound::Approved, false), kAllowed);
    EXPECT_EQ(s.granted, 3600u);  // max_watcher_expires
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::NotifyActive, 0, 0, {}}}));
    EXPECT_TRUE(s.xmpp.empty());
}

TEST(SipSubscribe, RefreshAndUnsubscribe) {
    const auto refresh = on_sip_subscribe(3600, true, inbound(Inbound::Approved), kAllowed);
    EXPECT_EQ(refresh.sip, (std::vector<SipStep>{{A::NotifyActive, 0, 0, {}}}));
    const auto un = on_sip_subscribe(0, true, inbound(Inbound::Approved), kAllowed);
    EXPECT_EQ(un.sip, (std::vector<SipStep>{{A::NotifyTerminated, 0, 0, "timeout"}}));
    EXPECT_TRUE(un.xmpp.empty());  // the approval survives a SIP log-off
    EXPECT_EQ(un.state.inbound, Inbound::Approved);
    EXPECT_FALSE(un.state.inbound_dialog);
    SubscriptionPolicy literal;
    literal.unsubscribe_ends_xmpp_subscription = true;
    const auto lit = on_sip_subscribe(0, true, inbound(Inbound::Approved), kAllowed, literal);
    EXPECT_EQ(lit.xmpp, (std::vector<X>{X::Unsubscribe}));
    EXPECT_EQ(lit.state.inbound, Inbound::None);
}

// RFC 7248 §6.2 [recalled]: a SIP fetch -> XMPP probe.
TEST(SipSubscribe, Fetch) {
    const auto s = on_sip_subscribe(0, false, inbound(Inbound::Approved, false), kAllowed);
    EXPECT_EQ(s.xmpp, (std::vector<X>{X::Probe}));
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::NotifyTerminated, 0, 0, "timeout"}}));
}

TEST(SipSubscribe, Denied) {
    const auto s = on_sip_subscribe(3600, false, PairState{}, WatcherAuthorization::Denied);
    EXPECT_EQ(s.sip, (std::vector<SipStep>{{A::NotifyTerminated, 0, 0, "rejected"}}));
    EXPECT_TRUE(s.xmpp.empty());
}

// RFC 6665 §4.1.2.1: a 2xx carries Expires; the notifier may shorten it.
TEST(Lifetime, Granted) {
    EXPECT_EQ(granted_expires(3600, 28800), 3600u);
    EXPECT_EQ(granted_expires(std::nullopt, 28800), 28800u);
}

// Refresh at 3/4, at least Timer F (32 s, RFC 3261 §17.1.2.2) before the end; halfway for
// short lifetimes.
TEST(Lifetime, RefreshDelay) {
    EXPECT_EQ(refresh_delay(3600), 2700u);
    EXPECT_EQ(refresh_delay(28800), 21600u);
    EXPECT_EQ(refresh_delay(100), 68u);  // 75 would leave less than 32 s
    EXPECT_EQ(refresh_delay(64), 32u);
    EXPECT_EQ(refresh_delay(10), 5u);
    EXPECT_EQ(refresh_delay(1), 1u);
    EXPECT_FALSE(refresh_delay(0));
    for (std::uint32_t g = 65; g < 5000; g += 7) {
        const auto d = refresh_delay(g);
        ASSERT_TRUE(d);
        EXPECT_LE(*d, g - 32) << g;
        EXPECT_GE(*d, g / 2) << g;
    }
}

TEST(Lifetime, After423) {
    EXPECT_EQ(expires_after_423(3600, 7200, 86400), 7200u);
    EXPECT_FALSE(expires_after_423(3600, std::nullopt, 86400));
    EXPECT_FALSE(expires_after_423(3600, 1800, 86400));    // not larger: bogus
    EXPECT_FALSE(expires_after_423(3600, 100000, 86400));  // over our cap
}

TEST(Lifetime, RetryDelay) {
    EXPECT_EQ(retry_delay(1, std::nullopt), 30u);
    EXPECT_EQ(retry_delay(2, std::nullopt), 60u);
    EXPECT_EQ(retry_delay(6, std::nullopt), 960u);
    EXPECT_EQ(retry_delay(7, std::nullopt), 1800u);
    EXPECT_EQ(retry_delay(1000, std::nullopt), 1800u);
    EXPECT_EQ(retry_delay(1, 90), 90u);
    EXPECT_EQ(retry_delay(1, 0), 1u);
    EXPECT_EQ(retry_delay(1, 999999), 1800u);
}

TEST(PresenceTypes, Names) {
    EXPECT_EQ(presence_type_from_attr(""), PresenceType::Available);
    EXPECT_EQ(presence_type_from_attr("probe"), PresenceType::Probe);
    EXPECT_FALSE(presence_type_from_attr("invisible"));
    EXPECT_EQ(wire_name(PresenceType::Unsubscribed), "unsubscribed");
}

}  // namespace
}  // namespace fedgw::gateway
