// InboundStream, Server Dialback (XEP-0220): the Receiving Server role (§2.2.1) with its
// answers valid / invalid / error (§2.5), timeouts, multiplexing (§2.6), and the
// Authoritative Server role answering db:verify (§2.2.2) with the DialbackKeys secret.
#include <gtest/gtest.h>

#include "proxy/s2s/inbound_stream.hpp"
#include "tests/unit/s2s/inbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = InboundStream::State;

// The condition inside a <db:result type='error'/> or <db:verify type='error'/>.
std::string dialback_condition(const Element* e) {
    if (!e) return "<no element>";
    const Element* error = e->find_child("error", kNsServer);
    if (!error) return "<no error child>";
    for (const Element* c : error->child_elements())
        if (c->ns() == kNsStanzaErrors && c->name() != "text") return c->name();
    return {};
}
std::string dialback_text(const Element* e) {
    const Element* error = e ? e->find_child("error", kNsServer) : nullptr;
    const Element* text = error ? error->find_child("text", kNsStanzaErrors) : nullptr;
    return text ? text->text() : std::string{};
}

// Prosody with an unverifiable certificate falls back to dialback over TLS
// (tests/fuzz/corpus/xml_stream/dialback.xml): step 1 in, the owner verifies (steps 2-3), step
// 4 out.
TEST(InboundDialback, HappyPathOverTls) {
    LogCapture logs;
    StreamTimers t;
    t.dialback_ms = 30'000;
    Harness h({}, t);
    open_with_tls(h, kProsody, unverified("self-signed certificate"), 1'000);
    const std::string key = "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643";
    auto s = h.feed(db_result(kProsody, kLocal, key), 2'000);
    auto* verify = s.action<VerifyDialbackKey>();
    ASSERT_NE(verify, nullptr);
    EXPECT_EQ(verify->local, kLocal);
    EXPECT_EQ(verify->remote, kProsody);
    EXPECT_EQ(verify->stream_id, "id-2");  // the id of the stream after TLS (XEP-0220 §2.1.2)
    EXPECT_EQ(verify->key, key);
    ASSERT_NE(s.action<ArmTimer>(), nullptr);
    EXPECT_EQ(s.action<ArmTimer>()->kind, TimerKind::Dialback);
    EXPECT_EQ(s.action<ArmTimer>()->after_ms, 30'000u);
    EXPECT_TRUE(s.bytes.empty());
    EXPECT_TRUE(logs.has("s2s.in.dialback_request", {"remote=xmpp.example.org"}));

    s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    const Element* result = s.element("result", kNsDialback);
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(attr(result, "from"), kLocal);
    EXPECT_EQ(attr(result, "to"), kProsody);
    EXPECT_EQ(attr(result, "type"), "valid");
    EXPECT_EQ(result->prefix(), "db");
    auto* auth = s.action<DomainAuthenticated>();
    ASSERT_NE(auth, nullptr);
    EXPECT_EQ(auth->method, AuthMethod::Dialback);
    bool cancelled_dialback = false, cancelled_establishment = false;
    for (auto* c : s.all<CancelTimer>()) {
        cancelled_dialback = cancelled_dialback || c->kind == TimerKind::Dialback;
        cancelled_establishment = cancelled_establishment || c->kind == TimerKind::Establishment;
    }
    EXPECT_TRUE(cancelled_dialback);
    EXPECT_TRUE(cancelled_establishment);
    EXPECT_EQ(h.stream->state(), State::Established);
    ASSERT_EQ(h.stream->authenticated_pairs().size(), 1u);
    EXPECT_EQ(h.stream->authenticated_pairs()[0].method, AuthMethod::Dialback);

    s = h.feed(message("juliet@xmpp.example.org/balcony", "romeo@sip.example.com"));
    auto* d = s.action<DeliverStanza>();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->auth, AuthMethod::Dialback);
    EXPECT_EQ(d->partner, kProsody);
}

// TLS not supported by policy (Lync's Google Talk recipe): dialback on the plain stream.
TEST(InboundDialback, HappyPathWithoutTls) {
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed(db_result(kPlain, kLocal, "k1"));
    ASSERT_NE(s.action<VerifyDialbackKey>(), nullptr);
    EXPECT_EQ(s.action<VerifyDialbackKey>()->stream_id, "id-1");
    s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kPlain, true); });
    EXPECT_EQ(attr(s.element("result", kNsDialback), "type"), "valid");
    s = h.feed(message("a@plain.example.net", "b@sip.example.com"));
    EXPECT_NE(s.action<DeliverStanza>(), nullptr);
}

// XEP-0220 §2.2.1: an invalid key is a spoofing attempt: type='invalid', then the stream
// closes.
TEST(InboundDialback, InvalidKeyClosesTheStream) {
    LogCapture logs;
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed(db_result(kProsody, kLocal, "forged"));
    auto s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, false); });
    EXPECT_EQ(attr(s.element("result", kNsDialback), "type"), "invalid");
    EXPECT_EQ(s.stream_error(), "not-authorized");
    EXPECT_TRUE(s.closed);
    EXPECT_FALSE(s.has_action<DomainAuthenticated>());
    EXPECT_TRUE(logs.has("s2s.in.dialback_invalid", {"remote=xmpp.example.org"}));
}

// XEP-0220 §2.2.1, §2.5 (tests/fuzz/corpus/xml_stream/dialback_error.xml): a target we do not
// serve is a dialback error, item-not-found, and the stream lives on.
TEST(InboundDialback, UnknownTargetIsItemNotFoundDialbackError) {
    LogCapture logs;
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    auto s = h.feed(db_result(kProsody, "unknown.example.org", "k"));
    const Element* result = s.element("result", kNsDialback);
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(attr(result, "type"), "error");
    EXPECT_EQ(attr(result, "from"), "unknown.example.org");
    EXPECT_EQ(attr(result, "to"), kProsody);
    EXPECT_EQ(dialback_condition(result), "item-not-found");
    EXPECT_EQ(attr(result->find_child("error", kNsServer), "type"), "cancel");
    EXPECT_FALSE(s.closed);
    EXPECT_FALSE(s.has_action<VerifyDialbackKey>());
    EXPECT_TRUE(logs.has("s2s.in.dialback_error",
                         {"local=unknown.example.org", "condition=item-not-found"}));
    // The stream still works for the right target.
    s = h.feed(db_result(kProsody, kLocal, "k"));
    EXPECT_NE(s.action<VerifyDialbackKey>(), nullptr);
}

// Choice (documented in inbound_stream.hpp): a sender domain the registry refuses gets a
// <forbidden/> dialback error naming the rule, logged as s2s.refused; the stream lives on for
// the pairs already authenticated.
TEST(InboundDialback, RefusedSenderIsForbiddenDialbackError) {
    LogCapture logs;
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.feed(db_result(kBlocked, kLocal, "k"));
    const Element* result = s.element("result", kNsDialback);
    EXPECT_EQ(attr(result, "type"), "error");
    EXPECT_EQ(dialback_condition(result), "forbidden");
    EXPECT_EQ(dialback_text(result), "federation with evil.example is refused by policy: blocked");
    EXPECT_TRUE(logs.has("s2s.refused", {"domain=evil.example", "rule=blocked", "direction=in"}));
    EXPECT_FALSE(s.closed);
    EXPECT_FALSE(s.has_action<VerifyDialbackKey>());
    s = h.feed(message("a@xmpp.example.org", "b@sip.example.com"));
    EXPECT_NE(s.action<DeliverStanza>(), nullptr);
}

// Rule 5: a partner whose policy is "SASL, else nothing" may not use dialback (XEP-0220 §2.5
// not-authorized).
TEST(InboundDialback, DialbackNotAllowedIsNotAuthorized) {
    Harness h;
    open_with_tls(h, kSecure, verified_for(std::string(kSecure)));
    auto s = h.feed(db_result(kSecure, kLocal, "k"));
    const Element* result = s.element("result", kNsDialback);
    EXPECT_EQ(dialback_condition(result), "not-authorized");
    EXPECT_EQ(dialback_text(result), "dialback is not allowed by policy for secure.example.net");
    EXPECT_FALSE(s.has_action<VerifyDialbackKey>());
}

// XEP-0220 §2.5 policy-violation: a sender multiplexed on a plain stream whose own policy
// requires TLS.
TEST(InboundDialback, SenderRequiringTlsOnPlainStreamIsPolicyViolation) {
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed(db_result(kProsody, kLocal, "k"));
    const Element* result = s.element("result", kNsDialback);
    EXPECT_EQ(dialback_condition(result), "policy-violation");
    EXPECT_EQ(dialback_text(result), "TLS required by policy for xmpp.example.org");
    EXPECT_FALSE(s.closed);
}

// Rule 5: the Dialback timer: remote-server-timeout (XEP-0220 §2.5).
TEST(InboundDialback, NoAnswerInTimeIsRemoteServerTimeout) {
    StreamTimers t;
    t.dialback_ms = 30'000;
    Harness h({}, t);
    open_with_tls(h, kProsody, unverified("self-signed certificate"), 0);
    h.feed(db_result(kProsody, kLocal, "k"), 1'000);
    auto s = h.timer(TimerKind::Dialback, 31'000);
    const Element* result = s.element("result", kNsDialback);
    EXPECT_EQ(attr(result, "type"), "error");
    EXPECT_EQ(dialback_condition(result), "remote-server-timeout");
    EXPECT_FALSE(s.closed);
    // A late answer is ignored.
    s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    EXPECT_FALSE(s.has_action<DomainAuthenticated>());
    EXPECT_TRUE(s.bytes.empty());
}

// One timer for several pending keys, armed for the earliest; each expires on its own.
TEST(InboundDialback, TimerFollowsTheEarliestPendingKey) {
    StreamTimers t;
    t.dialback_ms = 30'000;
    Harness h({}, t);
    open_with_tls(h, kProsody, unverified("self-signed certificate"), 0);
    h.feed(db_result(kProsody, kLocal, "k1"), 1'000);
    auto s = h.feed(db_result("conference.xmpp.example.org", kLocal, "k2"), 11'000);
    EXPECT_FALSE(s.has_action<ArmTimer>());  // the armed timer fires earlier already
    s = h.timer(TimerKind::Dialback, 31'000);
    auto errors = s.elements.size();
    EXPECT_EQ(errors, 1u);
    EXPECT_EQ(attr(s.element("result", kNsDialback), "from"), kLocal);
    EXPECT_EQ(attr(s.element("result", kNsDialback), "to"), kProsody);
    ASSERT_NE(s.action<ArmTimer>(), nullptr);
    EXPECT_EQ(s.action<ArmTimer>()->after_ms, 10'000u);
    s = h.call(
        [](InboundStream& st) { st.on_key_verified(kLocal, "conference.xmpp.example.org", true); });
    EXPECT_TRUE(s.has_action<DomainAuthenticated>());
    ASSERT_NE(s.action<CancelTimer>(), nullptr);
    EXPECT_EQ(s.action<CancelTimer>()->kind, TimerKind::Dialback);
}

// XEP-0220 §2.5: the authoritative server could not be reached.
TEST(InboundDialback, UnverifiableKeyIsDialbackError) {
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed(db_result(kProsody, kLocal, "k"));
    auto s = h.call([](InboundStream& st) {
        st.on_key_unverifiable(kLocal, kProsody, StanzaCondition::RemoteServerNotFound);
    });
    const Element* result = s.element("result", kNsDialback);
    EXPECT_EQ(dialback_condition(result), "remote-server-not-found");
    EXPECT_FALSE(s.closed);
    EXPECT_FALSE(h.stream->is_authenticated(kLocal, kProsody));
}

// XEP-0220 §3.1: answers nobody asked for on this stream change nothing.
TEST(InboundDialback, UnsolicitedAnswersAreIgnored) {
    LogCapture logs;
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    auto s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    EXPECT_TRUE(s.actions.empty());
    EXPECT_TRUE(logs.has("s2s.in.unsolicited_verify_answer", {"remote=xmpp.example.org"}));
    // A db:result carrying a type on an inbound stream is not a request (XEP-0220 §2.2).
    s = h.feed("<db:result from='xmpp.example.org' to='sip.example.com' type='valid'/>");
    EXPECT_TRUE(s.actions.empty());
    EXPECT_FALSE(h.stream->is_authenticated(kLocal, kProsody));
    EXPECT_TRUE(logs.has("s2s.in.unsolicited_dialback", {"type=valid"}));
}

TEST(InboundDialback, DuplicateRequestWhilePendingIsAnsweredOnce) {
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed(db_result(kProsody, kLocal, "k"));
    auto s = h.feed(db_result(kProsody, kLocal, "k"));
    EXPECT_TRUE(s.actions.empty());
    s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    EXPECT_EQ(s.all<DomainAuthenticated>().size(), 1u);
}

TEST(InboundDialback, RequestForAnAuthenticatedPairIsValidAgain) {
    Harness h;
    dialback_over_tls(h, kProsody);
    auto s = h.feed(db_result(kProsody, kLocal, "k"));
    EXPECT_EQ(attr(s.element("result", kNsDialback), "type"), "valid");
    EXPECT_FALSE(s.has_action<VerifyDialbackKey>());
    EXPECT_EQ(h.stream->authenticated_pairs().size(), 1u);
}

TEST(InboundDialback, TooManyPendingIsResourceConstraint) {
    InboundStream::Options o;
    o.max_pending_dialback = 1;
    Harness h(o);
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    h.feed(db_result(kProsody, kLocal, "k"));
    auto s = h.feed(db_result("conference.xmpp.example.org", kLocal, "k"));
    EXPECT_EQ(dialback_condition(s.element("result", kNsDialback)), "resource-constraint");
}

// Failed dialback requests count towards max_auth_failures (RFC 6120 §6.4.5 spirit).
TEST(InboundDialback, TooManyFailedRequestsEndTheStream) {
    InboundStream::Options o;
    o.max_auth_failures = 1;
    Harness h(o);
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    EXPECT_FALSE(h.feed(db_result(kProsody, "a.example", "k")).closed);
    auto s = h.feed(db_result(kProsody, "b.example", "k"));
    EXPECT_EQ(s.stream_error(), "policy-violation");
}

TEST(InboundDialback, RequestWithoutAddressesIsImproperAddressing) {
    Harness h;
    open_with_tls(h, kProsody, unverified("self-signed certificate"));
    auto s = h.feed("<db:result to='sip.example.com'>k</db:result>");
    EXPECT_EQ(s.stream_error(), "improper-addressing");
}

// XEP-0220 §2.6: sender and target multiplexing on one stream; each pair authenticates on its
// own and only its stanzas pass.
TEST(InboundDialback, MultiplexedPairs) {
    Harness h;
    dialback_over_tls(h, kProsody);
    const std::string muc = "conference.xmpp.example.org";
    h.feed(db_result(muc, kLocal2, "k2"));
    auto s = h.call([&](InboundStream& st) { st.on_key_verified(kLocal2, muc, true); });
    EXPECT_EQ(attr(s.element("result", kNsDialback), "from"), kLocal2);
    EXPECT_EQ(attr(s.element("result", kNsDialback), "to"), muc);
    ASSERT_EQ(h.stream->authenticated_pairs().size(), 2u);
    // The multiplexed sender is an additional domain of the same registry partner.
    EXPECT_EQ(h.stream->authenticated_pairs()[1].partner, kProsody);

    s = h.feed(
        "<presence from='room@conference.xmpp.example.org/nick' "
        "to='romeo@conference.sip.example.com'/>");
    auto* d = s.action<DeliverStanza>();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->from_domain, muc);
    EXPECT_EQ(d->to_domain, kLocal2);
    EXPECT_EQ(d->partner, kProsody);
    // conference.xmpp.example.org was authenticated for conference.sip.example.com only.
    s = h.feed(
        "<presence from='room@conference.xmpp.example.org/nick' to='romeo@sip.example.com'/>");
    EXPECT_EQ(s.stream_error(), "invalid-from");
}

// --- db:verify: the Authoritative Server (XEP-0220 §2.2.2) ----------------------------------

// The partner's receiving server checks a key our OutboundStream sent: from=R, to=L, id = the
// stream id R gave our outbound stream. Answered before TLS and before authentication.
TEST(InboundDialback, VerifyAnswersWithTheSharedSecret) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header());  // TLS required for this partner; db:verify still answered
    const std::string key = h.keys.generate(kProsody, kLocal, "417GAF25");
    auto s = h.feed(db_verify(kProsody, kLocal, "417GAF25", key));
    const Element* v = s.element("verify", kNsDialback);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(attr(v, "from"), kLocal);
    EXPECT_EQ(attr(v, "to"), kProsody);
    EXPECT_EQ(attr(v, "id"), "417GAF25");
    EXPECT_EQ(attr(v, "type"), "valid");
    EXPECT_FALSE(s.closed);
    EXPECT_TRUE(logs.has("s2s.in.dialback_verify", {"id=417GAF25", "valid=true"}));

    s = h.feed(db_verify(kProsody, kLocal, "417GAF25", "0000" + key.substr(4)));
    EXPECT_EQ(attr(s.element("verify", kNsDialback), "type"), "invalid");
    s = h.feed(db_verify(kProsody, kLocal, "other-id", key));
    EXPECT_EQ(attr(s.element("verify", kNsDialback), "type"), "invalid");
}

// XEP-0220 §2.2.2's examples indent the key inside db:verify (Example 13).
TEST(InboundDialback, VerifyKeyWithWhitespaceAroundIt) {
    Harness h;
    h.feed(prosody_header(kPlain));
    const std::string key = h.keys.generate(kPlain, kLocal, "D60000229F");
    auto s = h.feed(db_verify(kPlain, kLocal, "D60000229F", "\n       " + key + "\n     "));
    EXPECT_EQ(attr(s.element("verify", kNsDialback), "type"), "valid");
}

TEST(InboundDialback, VerifyForUnknownDomainIsItemNotFound) {
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed(db_verify(kPlain, "unknown.example.com", "id1", "k"));
    const Element* v = s.element("verify", kNsDialback);
    EXPECT_EQ(attr(v, "type"), "error");
    EXPECT_EQ(attr(v, "id"), "id1");
    EXPECT_EQ(dialback_condition(v), "item-not-found");
    EXPECT_FALSE(s.closed);
}

TEST(InboundDialback, VerifyFromRefusedDomainIsForbidden) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header(""));
    auto s = h.feed(db_verify(kBlocked, kLocal, "id1", "k"));
    EXPECT_EQ(dialback_condition(s.element("verify", kNsDialback)), "forbidden");
    EXPECT_TRUE(logs.has("s2s.refused", {"domain=evil.example", "rule=blocked"}));
}

TEST(InboundDialback, VerifyWithoutIdIsImproperAddressing) {
    Harness h;
    h.feed(prosody_header(kPlain));
    auto s = h.feed("<db:verify from='plain.example.net' to='sip.example.com'>k</db:verify>");
    EXPECT_EQ(s.stream_error(), "improper-addressing");
}

// A verification-only stream (XEP-0220 §2.1.2 note): no 'from', no TLS, db:verify, close.
TEST(InboundDialback, VerificationOnlyStream) {
    Harness h;
    h.feed(prosody_header(""));
    const std::string key = h.keys.generate(kEjabberd, kLocal, "abc");
    auto s = h.feed(db_verify(kEjabberd, kLocal, "abc", key) + "</stream:stream>");
    EXPECT_EQ(attr(s.element("verify", kNsDialback), "type"), "valid");
    EXPECT_TRUE(s.closed);
    ASSERT_NE(s.close(), nullptr);
    EXPECT_FALSE(s.close()->error.has_value());
}

}  // namespace
}  // namespace fedgw::proxy::test
