// OutboundStream: start (RFC 6120 §4.7, XEP-0368), the response header (§4.7, §4.8), STARTTLS
// (§5.4) and chunking. Also: outbound_session_test.cpp (close, timers, sending),
// outbound_auth_test.cpp (SASL EXTERNAL, dialback), outbound_verify_test.cpp (db:verify),
// outbound_queue_test.cpp. Peer bytes are what Prosody 0.12 and ejabberd send.
#include "proxy/s2s/outbound_stream.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "tests/unit/s2s/outbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = OutboundStream::State;
using registry::Negotiation;

// --- start ---------------------------------------------------------------------------------------

// RFC 6120 §4.7.1-§4.7.5: from = us, to = them, version 1.0, no id from the initiating entity;
// XEP-0220 §2.4.1: xmlns:db declared.
TEST(OutboundStart, WritesOurStreamHeaderAndArmsTimers) {
    Harness h;
    h.timers.establishment_ms = 60'000;
    h.timers.inactivity_ms = 600'000;
    h.start();
    EXPECT_EQ(h.stream->state(), State::WaitStreamHeader);
    auto open = parse_header(h.written);
    ASSERT_TRUE(open);
    EXPECT_TRUE(open->header.is("stream", kNsStreams));
    EXPECT_EQ(open->default_ns(), kNsServer);
    EXPECT_EQ(open->prefix_ns("db"), kNsDialback);
    EXPECT_EQ(open->header.attr("from"), kLocal);
    EXPECT_EQ(open->header.attr("to"), kRemote);
    EXPECT_EQ(open->header.attr("version"), "1.0");
    EXPECT_FALSE(open->header.has_attr("id"));
    ASSERT_TRUE(h.last_arm(TimerKind::Establishment));
    EXPECT_EQ(h.last_arm(TimerKind::Establishment)->after_ms, 60'000u);
    ASSERT_TRUE(h.last_arm(TimerKind::Inactivity));
    EXPECT_EQ(h.last_arm(TimerKind::Inactivity)->after_ms, 600'000u);
    EXPECT_FALSE(h.closed());
}

// XEP-0368: direct TLS starts with the handshake; the header goes inside TLS.
TEST(OutboundStart, DirectTlsHandshakesBeforeTheHeader) {
    Harness h;
    h.opts.direct_tls = true;
    h.start();
    EXPECT_EQ(h.stream->state(), State::WaitTlsHandshake);
    EXPECT_TRUE(h.written.empty());
    ASSERT_TRUE(h.first<StartTls>());
    EXPECT_EQ(h.first<StartTls>()->remote_domain, kRemote);
    EXPECT_EQ(h.feed("<stream:stream"), 0u) << "bytes during the handshake are TLS's";
    h.tls();
    EXPECT_EQ(h.stream->state(), State::WaitStreamHeader);
    EXPECT_TRUE(h.stream->is_tls());
    ASSERT_TRUE(parse_header(h.written));
    // No STARTTLS inside TLS: straight to EXTERNAL.
    h.take_written();
    h.feed(prosody_header("d1") + prosody_features_external());
    EXPECT_EQ(h.stream->state(), State::WaitSaslResult);
}

// --- the response header (RFC 6120 §4.7, §4.8) ---------------------------------------------------

TEST(OutboundHeader, RecordsTheStreamIdAndWaitsForFeatures) {
    Harness h;
    h.start();
    h.feed(prosody_header("a1b2c3"));
    EXPECT_EQ(h.stream->state(), State::WaitFeatures);
    EXPECT_EQ(h.stream->stream_id(), "a1b2c3");
}

struct BadHeader {
    const char* name;
    std::string bytes;
    StreamCondition condition;
};

class OutboundBadHeader : public ::testing::TestWithParam<BadHeader> {};

TEST_P(OutboundBadHeader, ClosesWithTheStreamErrorAndBounces) {
    LogCapture logs;
    Harness h;
    h.start();
    h.take_written();
    h.feed(GetParam().bytes);
    const auto* c = h.closed();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->error);
    EXPECT_EQ(c->error->condition, GetParam().condition);
    EXPECT_EQ(c->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_EQ(h.stream->state(), State::Closed);
    // RFC 6120 §4.9.1.2: the error, then the close tag.
    const std::string out = h.take_written();
    EXPECT_NE(out.find("<stream:error><" + std::string(wire_name(GetParam().condition))),
              std::string::npos)
        << out;
    EXPECT_TRUE(out.ends_with("</stream:stream>"));
    EXPECT_NE(logs.find("s2s.out.failed", {"remote=xmpp.example.org"}), "");
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6120, OutboundBadHeader,
    ::testing::Values(
        // §4.8.1: the stream namespace.
        BadHeader{"WrongStreamNamespace",
                  "<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:server' id='1' "
                  "version='1.0'>",
                  StreamCondition::InvalidNamespace},
        // §4.8.2: the content namespace of s2s is jabber:server.
        BadHeader{"ClientNamespace",
                  "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns='jabber:client' id='1' version='1.0'>",
                  StreamCondition::InvalidNamespace},
        // §4.7.5: no version means a pre-1.0 server without features or TLS.
        BadHeader{"NoVersion",
                  "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns='jabber:server' xmlns:db='jabber:server:dialback' id='1'>",
                  StreamCondition::UnsupportedVersion},
        BadHeader{"OldVersion",
                  "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns='jabber:server' id='1' version='0.9'>",
                  StreamCondition::UnsupportedVersion},
        // §4.7.3: the receiving entity MUST send an id (the dialback key depends on it).
        BadHeader{"NoId",
                  "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns='jabber:server' version='1.0'>",
                  StreamCondition::BadFormat}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(OutboundHeader, AcceptsALaterMinorVersionAndADifferentFrom) {
    LogCapture logs;
    Harness h;
    h.start();
    std::string header = prosody_header("x");
    header.replace(header.find("version='1.0'"), 13, "version='1.1'");
    h.feed(header);
    EXPECT_EQ(h.stream->state(), State::WaitFeatures);
    Harness h2;
    h2.start();
    h2.feed(prosody_header("y", "other.example.org"));
    EXPECT_EQ(h2.stream->state(), State::WaitFeatures);
    EXPECT_NE(logs.find("s2s.out.header_from", {"from=other.example.org"}), "");
}

TEST(OutboundHeader, BadXmlFromThePeerIsAStreamError) {
    Harness h;
    h.start();
    h.feed(prosody_header("1") + "<!-- a comment -->");  // RFC 6120 §11.1
    const auto* c = h.closed();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->error);
    EXPECT_EQ(c->error->condition, StreamCondition::RestrictedXml);
    EXPECT_EQ(c->bounce, StanzaCondition::RemoteServerNotFound);
}

TEST(OutboundHeader, ElementOtherThanFeaturesIsUnsupportedStanzaType) {
    Harness h;
    h.start();
    h.feed(prosody_header("1") + "<message from='a@xmpp.example.org' to='b@sip.example.com'/>");
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::UnsupportedStanzaType);
}

// --- STARTTLS (RFC 6120 §5.4) --------------------------------------------------------------------

// §5.4.2.1 / §5.4.3.3: <starttls/>, <proceed/>, and the bytes after it belong to TLS.
TEST(OutboundTls, ProsodyRequiredStarttlsThenProceed) {
    Harness h;
    h.start();
    h.take_written();
    h.feed(prosody_header("pre") + prosody_features_before_tls());
    EXPECT_EQ(h.stream->state(), State::WaitTlsProceed);
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0]->is("starttls", kNsTls));
    EXPECT_TRUE(out[0]->nodes().empty());

    const std::string tail = std::string(kProceed) + std::string(kTlsBytes);
    EXPECT_EQ(h.feed(tail), kProceed.size());
    EXPECT_EQ(h.stream->state(), State::WaitTlsHandshake);
    ASSERT_TRUE(h.first<StartTls>());
    EXPECT_EQ(h.first<StartTls>()->remote_domain, kRemote);
    EXPECT_EQ(h.feed(kTlsBytes), 0u);

    // §5.4.3.3 step 5: a new stream over TLS, with a new id.
    h.tls();
    EXPECT_TRUE(parse_header(h.take_written()));
    h.feed(prosody_header("post") + prosody_features_external());
    EXPECT_EQ(h.stream->stream_id(), "post");
}

TEST(OutboundTls, OptionalStarttlsIsUsedWhenPolicyOffersTls) {
    Harness h(Harness::default_partner());
    h.opts.partner.tls = Negotiation::Optional;
    h.start();
    h.feed(ejabberd_header("11270346403437478406") + std::string(kEjabberdFeaturesBeforeTls));
    EXPECT_EQ(h.stream->state(), State::WaitTlsProceed);
}

TEST(OutboundTls, RequiredByPolicyButNotOfferedFails) {
    LogCapture logs;
    Harness h;  // TLS required
    h.start();
    h.feed(prosody_header("1") + prosody_features_dialback());
    const auto* c = h.closed();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->error);
    EXPECT_EQ(c->error->condition, StreamCondition::PolicyViolation);
    EXPECT_EQ(c->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_NE(logs.find("s2s.out.failed", {"remote=xmpp.example.org",
                                           "reason=\"TLS required by policy, not offered\""}),
              "")
        << (logs.lines.empty() ? "" : logs.lines.back());
}

TEST(OutboundTls, RequiredByPeerButNotSupportedByPolicyFails) {
    LogCapture logs;
    registry::Partner p = Harness::default_partner();
    p.tls = Negotiation::NotSupported;
    p.sasl = Negotiation::NotSupported;
    Harness h(p);
    h.start();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_NE(logs.find("s2s.out.failed", {"TLS required by peer, not supported by policy"}), "");
}

TEST(OutboundTls, NotSupportedByPolicySkipsOptionalStarttls) {
    registry::Partner p = Harness::default_partner();
    p.tls = Negotiation::NotSupported;
    p.sasl = Negotiation::NotSupported;
    Harness h(p);
    h.start();
    h.take_written();
    // ejabberd with s2s_use_starttls: optional, dialback traditional (xmlns:db on the header).
    h.feed(ejabberd_header("e1") + std::string(kEjabberdFeaturesBeforeTls));
    EXPECT_EQ(h.stream->state(), State::WaitDialbackResult);
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0]->is("result", kNsDialback));
}

// §5.4.2.2: <failure/> and the receiving entity closes.
TEST(OutboundTls, FailureFromPeerFails) {
    Harness h;
    h.start();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    h.feed(std::string(kTlsFailure) + "</stream:stream>");
    ASSERT_TRUE(h.closed());
    EXPECT_FALSE(h.closed()->error);
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_TRUE(h.written.ends_with("</stream:stream>"));
}

TEST(OutboundTls, HandshakeFailureClosesWithoutWriting) {
    LogCapture logs;
    Harness h;
    h.start();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    h.feed(kProceed);
    h.take_written();
    h.stream->on_tls_failed("certificate verify failed");
    h.pump();
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_EQ(h.take_written(), "");
    EXPECT_NE(logs.find("s2s.out.failed", {"certificate verify failed"}), "");
}

TEST(OutboundTls, FactsAreKeptForDiagnostics) {
    Harness h;
    h.through_tls();
    ASSERT_TRUE(h.stream->tls_facts());
    EXPECT_EQ(h.stream->tls_facts()->protocol, "TLSv1.3");
    EXPECT_EQ(h.stream->tls_facts()->cipher, "TLS_AES_256_GCM_SHA384");
}

// --- chunking ------------------------------------------------------------------------------------

TEST(OutboundChunking, ByteByByteGivesTheSameResult) {
    Harness h;
    h.start();
    const std::string pre = prosody_header("p1") + prosody_features_before_tls();
    for (char c : pre)
        h.feed(std::string_view(&c, 1));
    EXPECT_EQ(h.stream->state(), State::WaitTlsProceed);
    for (std::size_t i = 0; i + 1 < kProceed.size(); ++i)
        EXPECT_EQ(h.feed(kProceed.substr(i, 1)), 1u);
    EXPECT_EQ(h.feed(std::string(kProceed.substr(kProceed.size() - 1)) + "\x16\x03"), 1u);
    h.tls();
    const std::string post =
        prosody_header("p2") + prosody_features_external() + std::string(kSaslSuccess);
    for (char c : post)
        h.feed(std::string_view(&c, 1));
    const std::string last = prosody_header("p3") + prosody_features_after_sasl();
    for (char c : last)
        h.feed(std::string_view(&c, 1));
    EXPECT_EQ(h.stream->state(), State::Ready);
    EXPECT_EQ(h.stream->auth_method(), AuthMethod::SaslExternal);
}

}  // namespace
}  // namespace fedgw::proxy::test
