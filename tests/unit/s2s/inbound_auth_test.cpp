// InboundStream, SASL EXTERNAL as the receiving entity (RFC 6120 §6.4, §6.5; XEP-0178 §3):
// the happy path as Prosody drives it, the authorization identity forms, every failure with
// its condition and log line, and the stream restart after success (§6.4.6).
#include <gtest/gtest.h>

#include "proxy/s2s/inbound_stream.hpp"
#include "proxy/s2s/inbound_wire.hpp"
#include "tests/unit/s2s/inbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = InboundStream::State;
using inbound_wire::base64_encode;

// The SASL <failure/> condition we wrote, or "".
std::string sasl_failure(const Step& s) {
    return first_child_name(s.element("failure", kNsSasl));
}

// The full happy path with Prosody's bytes (tests/fuzz/corpus/xml_stream/
// sasl_external_success_restart.xml): STARTTLS, a certificate that verifies for
// xmpp.example.org, <auth/> with base64("xmpp.example.org"), <success/>, a new stream, stanzas.
TEST(InboundSasl, ProsodyHappyPath) {
    LogCapture logs;
    StreamTimers t;
    t.keepalive_ms = 300'000;
    Harness h({}, t);
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    EXPECT_EQ(h.stream->state(), State::WaitNegotiation);

    auto s = h.feed(auth_external("eG1wcC5leGFtcGxlLm9yZw=="));  // base64("xmpp.example.org")
    ASSERT_NE(s.element("success", kNsSasl), nullptr);
    auto auths = s.all<DomainAuthenticated>();
    ASSERT_EQ(auths.size(), 1u);
    EXPECT_EQ(auths[0]->local, kLocal);
    EXPECT_EQ(auths[0]->remote, kProsody);
    EXPECT_EQ(auths[0]->method, AuthMethod::SaslExternal);
    // Rule 7: the first authenticated pair ends the establishment deadline; keepalives start.
    ASSERT_NE(s.action<CancelTimer>(), nullptr);
    EXPECT_EQ(s.action<CancelTimer>()->kind, TimerKind::Establishment);
    bool keepalive = false;
    for (auto* a : s.all<ArmTimer>())
        keepalive = keepalive || (a->kind == TimerKind::Keepalive && a->after_ms == 300'000);
    EXPECT_TRUE(keepalive);
    EXPECT_EQ(h.stream->state(), State::WaitStreamHeader);
    EXPECT_TRUE(
        logs.has("s2s.in.authenticated",
                 {"local=sip.example.com", "remote=xmpp.example.org", "method=sasl-external"}));

    // RFC 6120 §6.4.6: the peer opens a new stream; a new id, features without negotiation.
    s = h.feed(prosody_header());
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(attr(&s.headers[0].header, "id"), "id-3");
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    auto kids = f->child_elements();
    ASSERT_EQ(kids.size(), 1u);
    EXPECT_TRUE(kids[0]->is("limits", inbound_wire::kNsStreamLimits));
    EXPECT_EQ(h.stream->state(), State::Established);

    s = h.feed(message("a@xmpp.example.org", "b@sip.example.com", "after restart"));
    auto* d = s.action<DeliverStanza>();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->auth, AuthMethod::SaslExternal);
    EXPECT_EQ(d->from_domain, kProsody);
    EXPECT_EQ(d->to_domain, kLocal);
    EXPECT_EQ(d->partner, kProsody);
    EXPECT_EQ(d->partner_type, registry::PartnerType::Federated);
    EXPECT_EQ(d->stanza->child_text("body"), "after restart");
}

// A peer that sends its new header in the same read as <auth/> (it should wait for
// <success/>, RFC 6120 §6.4.6): the parser stopped right after </auth>, so the header starts
// the new stream.
TEST(InboundSasl, NewHeaderPipelinedAfterAuthStartsTheNewStream) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s = h.feed(auth_external(base64_encode(kProsody)) + prosody_header());
    ASSERT_NE(s.element("success", kNsSasl), nullptr);
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_TRUE(s.stream_error().empty());
    EXPECT_EQ(h.stream->state(), State::Established);
}

// RFC 6120 §6.4.2: "=" is an empty initial response; the authorization identity is then the
// one the certificate proves (XEP-0178 §3). Also the authzid wrapped across lines as in
// XEP-0288's example.
TEST(InboundSasl, AuthzidForms) {
    for (std::string data :
         {std::string("="), base64_encode(kProsody), "\n     " + base64_encode(kProsody) + "\n",
          base64_encode("XMPP.example.org")}) {
        Harness h;
        open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
        auto s = h.feed(auth_external(data));
        EXPECT_NE(s.element("success", kNsSasl), nullptr) << data;
    }
}

// RFC 6120 §6.4.2: no initial response: an empty challenge, then the response.
TEST(InboundSasl, NoInitialResponseGetsEmptyChallenge) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s = h.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'/>");
    const Element* challenge = s.element("challenge", kNsSasl);
    ASSERT_NE(challenge, nullptr);
    EXPECT_TRUE(challenge->nodes().empty());
    EXPECT_EQ(h.stream->state(), State::WaitSaslResponse);
    s = h.feed("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    EXPECT_NE(s.element("success", kNsSasl), nullptr);
    EXPECT_TRUE(h.stream->is_authenticated(kLocal, kProsody));
}

TEST(InboundSasl, ChallengeAnsweredWithAuthzid) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    h.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'></auth>");
    auto s = h.feed("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                    base64_encode(kProsody) + "</response>");
    EXPECT_NE(s.element("success", kNsSasl), nullptr);
}

// RFC 6120 §6.4.4: abort during the exchange.
TEST(InboundSasl, AbortDuringChallenge) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    h.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'/>");
    auto s = h.feed("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    EXPECT_EQ(sasl_failure(s), "aborted");
    EXPECT_EQ(h.stream->state(), State::WaitNegotiation);
}

TEST(InboundSasl, OtherElementDuringChallengeEndsTheStream) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    h.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'/>");
    auto s = h.feed(db_result(kProsody, kLocal, "k"));
    EXPECT_EQ(s.stream_error(), "policy-violation");
}

// RFC 6120 §6.5.7: the authorization identity is not the domain the stream is from. The
// stream goes on (the parser resumes after the stopped </auth>), and dialback over TLS is
// still possible on it (XEP-0220).
TEST(InboundSasl, WrongAuthzidThenDialbackOnTheSameStream) {
    LogCapture logs;
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s = h.feed(auth_external(base64_encode("other.example")) +
                    db_result(kProsody, kLocal, "b4835385f37fe2895af6c196b59097b1"));
    EXPECT_EQ(sasl_failure(s), "invalid-authzid");
    const Element* text = s.element("failure", kNsSasl)->find_child("text", kNsSasl);
    ASSERT_NE(text, nullptr);
    EXPECT_NE(text->text().find("xmpp.example.org"), std::string::npos);
    EXPECT_TRUE(
        logs.has("s2s.in.sasl_failed", {"domain=xmpp.example.org", "condition=invalid-authzid"}));
    // The db:result after </auth> in the same read was parsed on the resumed stream.
    auto* verify = s.action<VerifyDialbackKey>();
    ASSERT_NE(verify, nullptr);
    EXPECT_EQ(verify->key, "b4835385f37fe2895af6c196b59097b1");
    EXPECT_TRUE(s.stream_error().empty());
    s = h.call([](InboundStream& st) { st.on_key_verified(kLocal, kProsody, true); });
    ASSERT_NE(s.action<DomainAuthenticated>(), nullptr);
    EXPECT_EQ(s.action<DomainAuthenticated>()->method, AuthMethod::Dialback);
    // Stanzas keep flowing on the resumed stream.
    s = h.feed(message("a@xmpp.example.org", "b@sip.example.com"));
    EXPECT_NE(s.action<DeliverStanza>(), nullptr);
}

// RFC 6120 §6.5.5.
TEST(InboundSasl, BadBase64IsIncorrectEncoding) {
    for (std::string data : {"eG1wcC5leGFtcGxl!", "eG1wc=5l", "abc"}) {
        Harness h;
        open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
        auto s = h.feed(auth_external(data));
        EXPECT_EQ(sasl_failure(s), "incorrect-encoding") << data;
    }
}

// RFC 6120 §6.5.6.
TEST(InboundSasl, OtherMechanismIsInvalidMechanism) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s =
        h.feed("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>");
    EXPECT_EQ(sasl_failure(s), "invalid-mechanism");
    EXPECT_FALSE(h.stream->is_authenticated(kLocal, kProsody));
}

// RFC 6120 §6.5.4: SASL before TLS (tests/fuzz/corpus/xml_stream/sasl_failure.xml).
TEST(InboundSasl, AuthBeforeTlsIsEncryptionRequired) {
    Harness h;
    h.feed(ejabberd_header());
    auto s = h.feed(auth_external("="));
    EXPECT_EQ(sasl_failure(s), "encryption-required");
    EXPECT_TRUE(s.stream_error().empty());
}

// XEP-0178 §3: EXTERNAL was not offered (the certificate does not verify): not-authorized with
// the reason.
TEST(InboundSasl, AuthWhenNotOfferedIsNotAuthorized) {
    LogCapture logs;
    Harness h;
    open_with_tls(h, kProsody, unverified("certificate has expired"));
    auto s = h.feed(auth_external("="));
    EXPECT_EQ(sasl_failure(s), "not-authorized");
    const Element* text = s.element("failure", kNsSasl)->find_child("text", kNsSasl);
    ASSERT_NE(text, nullptr);
    EXPECT_EQ(text->text(),
              "certificate for xmpp.example.org does not verify: certificate has expired");
    EXPECT_TRUE(logs.has("s2s.in.sasl_failed", {"condition=not-authorized"}));
    EXPECT_FALSE(h.stream->is_authenticated(kLocal, kProsody));
}

TEST(InboundSasl, ResponseWithoutExchangeIsNotAuthorized) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s = h.feed("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</response>");
    EXPECT_EQ(sasl_failure(s), "not-authorized");
    EXPECT_FALSE(h.stream->is_authenticated(kLocal, kProsody));
}

// RFC 6120 §6.4.5: a bounded number of retries, then policy-violation.
TEST(InboundSasl, TooManyFailuresEndTheStream) {
    InboundStream::Options o;
    o.max_auth_failures = 2;
    Harness h(o);
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    std::string bad = auth_external(base64_encode("other.example"));
    EXPECT_TRUE(h.feed(bad).stream_error().empty());
    EXPECT_TRUE(h.feed(bad).stream_error().empty());
    auto s = h.feed(bad);
    EXPECT_EQ(sasl_failure(s), "invalid-authzid");
    EXPECT_EQ(s.stream_error(), "policy-violation");
    EXPECT_NE(s.stream_error_text().find("too many failed authentication attempts"),
              std::string::npos);
}

// Direct TLS (XEP-0368) with SASL: no STARTTLS, success, restart.
TEST(InboundSasl, DirectTlsHappyPath) {
    InboundStream::Options o;
    o.direct_tls = true;
    o.tls = verified_for(std::string(kProsody));
    Harness h(o);
    h.feed(prosody_header());
    auto s = h.feed(auth_external(base64_encode(kProsody)));
    ASSERT_NE(s.element("success", kNsSasl), nullptr);
    s = h.feed(prosody_header());
    EXPECT_EQ(h.stream->state(), State::Established);
    s = h.feed(message("a@xmpp.example.org", "b@sip.example.com"));
    EXPECT_NE(s.action<DeliverStanza>(), nullptr);
}

// After SASL success the restarted header must keep the domains.
TEST(InboundSasl, RestartWithOtherFromIsInvalidFrom) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    h.feed(auth_external("="));
    auto s = h.feed(prosody_header(kEjabberd));
    EXPECT_EQ(s.stream_error(), "invalid-from");
}

// The whole SASL conversation one byte at a time.
TEST(InboundSasl, HappyPathInSingleBytes) {
    Harness h;
    h.trickle(prosody_header());
    auto s = h.trickle(starttls());
    ASSERT_TRUE(s.has_action<StartTls>());
    h.tls(verified_for(std::string(kProsody)));
    h.trickle(prosody_header());
    s = h.trickle(auth_external(base64_encode(kProsody)));
    ASSERT_NE(s.element("success", kNsSasl), nullptr);
    h.trickle(prosody_header());
    s = h.trickle(message("a@xmpp.example.org", "b@sip.example.com"));
    EXPECT_NE(s.action<DeliverStanza>(), nullptr);
}

}  // namespace
}  // namespace fedgw::proxy::test
