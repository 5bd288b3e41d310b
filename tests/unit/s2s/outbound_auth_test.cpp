// OutboundStream authentication: SASL EXTERNAL (RFC 6120 §6.4, XEP-0178 §3) and dialback as the
// initiating server (XEP-0220 §2.1.1), with the bytes Prosody 0.12 and ejabberd send, and one
// full happy path per method. db:verify is in outbound_verify_test.cpp.
#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "proxy/s2s/outbound_stream.hpp"
#include "tests/unit/s2s/outbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = OutboundStream::State;
using registry::Negotiation;

const std::string kB64Local = "c2lwLmV4YW1wbGUuY29t";  // base64("sip.example.com")

// --- SASL EXTERNAL -------------------------------------------------------------------------------

// Happy path with Prosody 0.12: STARTTLS required, EXTERNAL offered after TLS because our
// certificate verifies, <success/>, stream restart (RFC 6120 §6.4.6), features, Ready.
TEST(OutboundSasl, ProsodyHappyPath) {
    LogCapture logs;
    Harness h;
    h.through_tls("pre-1");
    h.take_written();
    h.feed(prosody_header("post-2") + prosody_features_external());
    EXPECT_EQ(h.stream->state(), State::WaitSaslResult);
    // XEP-0178 §3 step 10: authorization identity = our domain, base64.
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0]->is("auth", kNsSasl));
    EXPECT_EQ(out[0]->attr("mechanism"), "EXTERNAL");
    EXPECT_EQ(out[0]->text(), kB64Local);

    h.feed(kSaslSuccess);
    EXPECT_EQ(h.stream->state(), State::WaitStreamHeader);
    auto open = parse_header(h.take_written());
    ASSERT_TRUE(open) << "a new stream header right after <success/>";
    EXPECT_EQ(open->header.attr("from"), kLocal);
    EXPECT_FALSE(h.first<StreamReady>()) << "ready only after the new features";

    h.feed(prosody_header("post-sasl-3") + prosody_features_after_sasl());
    EXPECT_EQ(h.stream->state(), State::Ready);
    EXPECT_EQ(h.stream->stream_id(), "post-sasl-3");
    ASSERT_TRUE(h.first<DomainAuthenticated>());
    EXPECT_EQ(h.first<DomainAuthenticated>()->local, kLocal);
    EXPECT_EQ(h.first<DomainAuthenticated>()->remote, kRemote);
    EXPECT_EQ(h.first<DomainAuthenticated>()->method, AuthMethod::SaslExternal);
    EXPECT_TRUE(h.first<StreamReady>());
    EXPECT_TRUE(h.cancelled(TimerKind::Establishment));
    EXPECT_EQ(h.stream->auth_method(), AuthMethod::SaslExternal);
    ASSERT_EQ(h.stream->authenticated_pairs().size(), 1u);
    EXPECT_EQ(h.take_written(), "") << "nothing else to say";
    EXPECT_NE(
        logs.find("s2s.out.authenticated", {"method=sasl-external", "remote=xmpp.example.org"}), "")
        << (logs.lines.empty() ? "" : logs.lines.back());
}

// XEP-0368 direct TLS, then SASL EXTERNAL: the whole way to Ready.
TEST(OutboundSasl, DirectTlsHappyPath) {
    Harness h;
    h.opts.direct_tls = true;
    h.start();
    ASSERT_TRUE(h.first<StartTls>());
    h.tls();
    h.feed(prosody_header("d1") + prosody_features_external());
    h.feed(kSaslSuccess);
    h.feed(prosody_header("d2") + prosody_features_after_sasl());
    EXPECT_EQ(h.stream->state(), State::Ready);
    EXPECT_EQ(h.stream->auth_method(), AuthMethod::SaslExternal);
    EXPECT_EQ(h.all<StartTls>().size(), 1u) << "no STARTTLS inside direct TLS";
}

TEST(OutboundSasl, NewHeaderInTheSameChunkAsSuccess) {
    Harness h;
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    h.feed(std::string(kSaslSuccess) + prosody_header("again") + prosody_features_after_sasl());
    EXPECT_EQ(h.stream->state(), State::Ready);
}

// RFC 6120 §6.4.5 failure; the policy allows dialback and the peer offers it: dialback on the
// same stream.
TEST(OutboundSasl, FailureFallsBackToDialback) {
    LogCapture logs;
    Harness h;
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    h.take_written();
    h.feed(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>"
        "<text xml:lang='en'>Certificate does not match sip.example.com</text></failure>");
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0]->is("result", kNsDialback));
    EXPECT_NE(logs.find("s2s.out.sasl_failed", {"condition=not-authorized"}), "");
}

TEST(OutboundSasl, FailureWithoutDialbackFails) {
    registry::Partner p = Harness::default_partner();
    p.dialback = false;
    Harness h(p);
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    h.feed("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>");
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_NE(h.closed()->reason.find("refused SASL EXTERNAL (not-authorized)"), std::string::npos);
}

TEST(OutboundSasl, WithoutACertificateDialbackIsUsed) {
    Harness h(Harness::default_partner(), /*have_cert=*/false);
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
}

TEST(OutboundSasl, NotSupportedByPolicyUsesDialback) {
    registry::Partner p = Harness::default_partner();
    p.sasl = Negotiation::NotSupported;
    Harness h(p);
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
}

// Spec rule 3: with SASL required the peer's certificate must verify for the remote domain.
TEST(OutboundSasl, RequiredPolicyRefusesAnUnverifiedPeerCertificate) {
    LogCapture logs;
    registry::Partner p = Harness::default_partner();
    p.sasl = Negotiation::Required;
    Harness h(p);
    h.start();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    h.feed(kProceed);
    h.take_written();
    h.tls(unverified_facts("certificate has expired"));
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::PolicyViolation);
    EXPECT_EQ(h.closed()->error->text,
              "certificate for xmpp.example.org does not verify: certificate has expired");
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_NE(logs.find("s2s.out.failed", {"certificate has expired"}), "");
    const std::string out = h.take_written();
    EXPECT_TRUE(parse_header(out)) << "the error goes inside a stream";
    EXPECT_TRUE(out.ends_with("</stream:error></stream:stream>"));
}

TEST(OutboundSasl, RequiredPolicyRefusesACertificateForAnotherName) {
    registry::Partner p = Harness::default_partner();
    p.sasl = Negotiation::Required;
    Harness h(p);
    h.through_tls("1", verified_facts("other.example.net"));
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->error->text,
              "certificate for xmpp.example.org does not verify: name not covered");
}

TEST(OutboundSasl, RequiredPolicyAcceptsAVerifiedCertificate) {
    registry::Partner p = Harness::default_partner();
    p.sasl = Negotiation::Required;
    Harness h(p);
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    EXPECT_EQ(h.stream->state(), State::WaitSaslResult);
}

// Spec rule 3: dialback over an unverifiable certificate is allowed when policy allows it.
TEST(OutboundSasl, OptionalPolicyAllowsDialbackOverAnUnverifiedCertificate) {
    Harness h;
    h.through_tls("1", unverified_facts("self-signed certificate"));
    EXPECT_FALSE(h.closed());
    h.feed(prosody_header("post") + prosody_features_dialback());
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
}

TEST(OutboundSasl, NoMethodInCommonFails) {
    LogCapture logs;
    registry::Partner p = Harness::default_partner();
    p.sasl = Negotiation::Required;  // SASL, else nothing
    Harness h(p, /*have_cert=*/false);
    h.through_tls();
    h.feed(prosody_header("post") + prosody_features_external());
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::PolicyViolation);
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_NE(
        logs.find("s2s.out.failed", {"no authentication method in common", "needs a certificate",
                                     "dialback not allowed by policy"}),
        "")
        << (logs.lines.empty() ? "" : logs.lines.back());
}

// --- dialback (XEP-0220 §2.1.1) ------------------------------------------------------------------

// XEP-0220 §2.1.1, Example 1 with its worked key: capulet.example -> montague.example, stream
// id D60000229F, secret s3cr3tf0rd14lb4ck; then Example 2, type='valid'.
TEST(OutboundDialback, Xep0220ExampleKeyAndValidResult) {
    registry::Partner p;
    p.domain = "montague.example";
    p.tls = Negotiation::NotSupported;
    p.sasl = Negotiation::NotSupported;
    Harness h(p);
    h.keys = DialbackKeys("s3cr3tf0rd14lb4ck");
    h.opts.local_domain = "capulet.example";
    h.opts.remote_domain = "montague.example";
    h.start();
    h.take_written();
    h.feed(
        "<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' "
        "xmlns:stream='http://etherx.jabber.org/streams' from='montague.example' "
        "to='capulet.example' id='D60000229F' version='1.0'><stream:features>"
        "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"
        "</stream:features>");
    EXPECT_EQ(h.take_written(),
              "<db:result from='capulet.example' to='montague.example'>"
              "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3</db:result>");
    EXPECT_TRUE(h.armed(TimerKind::Dialback));
    h.feed("<db:result from='montague.example' to='capulet.example' type='valid'/>");
    EXPECT_EQ(h.stream->state(), State::Ready);
    ASSERT_TRUE(h.first<DomainAuthenticated>());
    EXPECT_EQ(h.first<DomainAuthenticated>()->method, AuthMethod::Dialback);
    EXPECT_TRUE(h.first<StreamReady>());
    EXPECT_TRUE(h.cancelled(TimerKind::Dialback));
    EXPECT_TRUE(h.cancelled(TimerKind::Establishment));
}

// Happy path over TLS with Prosody when our certificate does not verify there (no EXTERNAL).
// COMPAT: Prosody answers with the key as text and an 'id' attribute.
TEST(OutboundDialback, ProsodyOverTlsHappyPath) {
    Harness h;
    h.through_tls();
    h.take_written();
    h.feed(prosody_header("tls-id-9") + prosody_features_dialback());
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]->attr("from"), kLocal);
    EXPECT_EQ(out[0]->attr("to"), kRemote);
    // The key covers the post-TLS stream id (RFC 6120 §5.4.3.3: a new stream).
    const std::string key = h.keys.generate(kRemote, kLocal, "tls-id-9");
    EXPECT_EQ(out[0]->text(), key);
    h.feed(prosody_dialback_answer("valid", key));
    EXPECT_EQ(h.stream->state(), State::Ready);
    EXPECT_EQ(h.stream->auth_method(), AuthMethod::Dialback);
}

// ejabberd after TLS: empty mechanisms, dialback feature with errors.
TEST(OutboundDialback, EjabberdOverTlsHappyPath) {
    registry::Partner p = Harness::default_partner();
    p.tls = Negotiation::Optional;
    Harness h(p);
    h.start();
    h.feed(ejabberd_header("1") + std::string(kEjabberdFeaturesBeforeTls));
    h.feed(kProceed);
    h.tls();
    h.feed(ejabberd_header("12345") + std::string(kEjabberdFeaturesAfterTls));
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
    h.feed("<db:result from='xmpp.example.org' to='sip.example.com' type='valid'/>");
    EXPECT_EQ(h.stream->state(), State::Ready);
}

// XEP-0220 §2.1.1: type='invalid' -> bounce with internal-server-error.
TEST(OutboundDialback, InvalidFailsWithInternalServerError) {
    LogCapture logs;
    Harness h;
    h.through_tls();
    h.feed(prosody_header("p") + prosody_features_dialback());
    h.take_written();
    // Prosody 0.12 sends this and keeps the stream open; we close it.
    h.feed(prosody_dialback_answer("invalid", "the-key"));
    ASSERT_TRUE(h.closed());
    EXPECT_FALSE(h.closed()->error);
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::InternalServerError);
    EXPECT_EQ(h.take_written(), "</stream:stream>");
    EXPECT_NE(logs.find("s2s.out.failed", {"rejected our dialback key"}), "");
}

// XEP-0220 §2.5 (Example 4): a dialback error -> bounce with remote-server-timeout.
TEST(OutboundDialback, ErrorFailsWithRemoteServerTimeout) {
    Harness h;
    h.through_tls();
    h.feed(prosody_header("p") + prosody_features_dialback());
    h.feed(
        "<db:result from='xmpp.example.org' to='sip.example.com' type='error'>"
        "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></db:result>");
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerTimeout);
    EXPECT_NE(h.closed()->reason.find("item-not-found"), std::string::npos);
}

TEST(OutboundDialback, TimerExpiryFailsWithRemoteServerTimeout) {
    Harness h;
    h.timers.dialback_ms = 30'000;
    h.through_tls();
    h.feed(prosody_header("p") + prosody_features_dialback(), 1000);
    ASSERT_TRUE(h.last_arm(TimerKind::Dialback));
    EXPECT_EQ(h.last_arm(TimerKind::Dialback)->after_ms, 30'000u);
    h.timer(TimerKind::Dialback, 31'000);
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerTimeout);
}

// XEP-0220 §2.1.1: a close while waiting for the result is handled like a dialback error.
TEST(OutboundDialback, PeerCloseWhileWaitingIsRemoteServerTimeout) {
    Harness h;
    h.through_tls();
    h.feed(prosody_header("p") + prosody_features_dialback());
    h.feed("</stream:stream>");
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerTimeout);
}

// XEP-0220 §3.1: an answer that does not correlate with our request is not acted upon.
TEST(OutboundDialback, UnsolicitedResultIsIgnored) {
    LogCapture logs;
    Harness h;
    h.through_tls();
    h.feed(prosody_header("p") + prosody_features_dialback());
    h.feed("<db:result from='evil.example' to='sip.example.com' type='valid'/>");
    h.feed("<db:result from='xmpp.example.org' to='other.example.com' type='valid'/>");
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
    EXPECT_FALSE(h.first<StreamReady>());
    EXPECT_NE(logs.find("s2s.out.unsolicited_dialback", {"from=evil.example"}), "");
}

TEST(OutboundDialback, UnsolicitedResultWhenReadyIsIgnored) {
    LogCapture logs;
    Harness h;
    make_ready(h);
    h.feed("<db:result from='xmpp.example.org' to='sip.example.com' type='invalid'/>");
    EXPECT_FALSE(h.closed());
    EXPECT_EQ(h.stream->auth_method(), AuthMethod::SaslExternal);
    EXPECT_NE(logs.find("s2s.out.unsolicited_dialback", {"state=ready"}), "");
}

TEST(OutboundDialback, ResultWithoutTypeIsAStreamError) {
    Harness h;
    h.through_tls();
    h.feed(prosody_header("p") + prosody_features_dialback());
    h.feed("<db:result from='xmpp.example.org' to='sip.example.com'>abc</db:result>");
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::UnsupportedStanzaType);
}

TEST(OutboundDialback, PeerWithoutDialbackSupportFails) {
    Harness h(Harness::default_partner(), /*have_cert=*/false);
    h.start();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    h.feed(kProceed);
    h.tls();
    // No xmlns:db on the header (XEP-0220 §2.4.1) and no dialback feature (§2.4.2).
    h.feed(
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        "id='x' version='1.0'><stream:features/>");
    ASSERT_TRUE(h.closed());
    EXPECT_NE(h.closed()->reason.find("dialback not offered by the peer"), std::string::npos);
}

}  // namespace
}  // namespace fedgw::proxy::test
