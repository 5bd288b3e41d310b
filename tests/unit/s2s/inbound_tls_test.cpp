// InboundStream and TLS: STARTTLS stopping the XML stream at the exact byte (RFC 6120 §5.4.2,
// §5.4.3.3), the features after TLS by certificate and policy (XEP-0178 §3, XEP-0220 §2.4.2,
// XEP-0288 §2.1, XEP-0478), the header rules on restart, and direct TLS (XEP-0368).
#include <gtest/gtest.h>

#include "proxy/s2s/inbound_stream.hpp"
#include "tests/unit/s2s/inbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = InboundStream::State;

// --- STARTTLS (RFC 6120 §5.4.2, §5.4.3.3) ------------------------------------------------------

// <starttls/> and the ClientHello in one read (tests/fuzz/corpus/xml_stream/
// starttls_request_then_clienthello.bin): feed() stops right after the element and returns how
// many bytes were XML; the rest belongs to TLS.
TEST(InboundStream, StarttlsStopsTheXmlStreamAtTheExactByte) {
    Harness h;
    h.feed(prosody_header());
    const std::string client_hello("\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03", 11);
    const std::string bytes = starttls() + client_hello;
    auto s = h.feed(bytes);
    EXPECT_EQ(s.consumed, starttls().size());
    ASSERT_NE(s.element("proceed", kNsTls), nullptr);
    ASSERT_NE(s.action<StartTls>(), nullptr);
    EXPECT_EQ(s.action<StartTls>()->remote_domain, kProsody);
    // The proceed is written before TLS starts.
    ASSERT_GE(s.actions.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<WriteBytes>(s.actions[0]));
    EXPECT_TRUE(std::holds_alternative<StartTls>(s.actions[1]));
    EXPECT_EQ(h.stream->state(), State::WaitTlsHandshake);
    // Until the handshake is done, no bytes are taken.
    EXPECT_EQ(h.stream->feed("<x/>", 0), 0u);
}

// RFC 6120 §5.4.3.3: after TLS, a new stream with a new id; features for the certificate.
TEST(InboundStream, AfterTlsNewHeaderNewIdAndFullFeatures) {
    LogCapture logs;
    Harness h;
    auto s = open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(attr(&s.headers[0].header, "id"), "id-2");
    EXPECT_TRUE(h.stream->is_tls());
    ASSERT_NE(h.stream->tls_facts(), nullptr);
    EXPECT_EQ(h.stream->tls_facts()->protocol, "TLSv1.3");
    EXPECT_TRUE(logs.has("s2s.in.tls", {"protocol=TLSv1.3", "verified=true"}));
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->find_child("starttls", kNsTls), nullptr);
    // XEP-0178 §3: EXTERNAL offered, the chain verified and the certificate covers the 'from'.
    const Element* mechs = f->find_child("mechanisms", kNsSasl);
    ASSERT_NE(mechs, nullptr);
    EXPECT_EQ(mechs->child_text("mechanism"), "EXTERNAL");
    EXPECT_NE(f->find_child("dialback", kNsDialbackFeature), nullptr);
    EXPECT_NE(f->find_child("bidi", inbound_wire::kNsBidiFeature), nullptr);  // XEP-0288 §2.1
    // XEP-0478: the limits we enforce.
    const Element* limits = f->find_child("limits", inbound_wire::kNsStreamLimits);
    ASSERT_NE(limits, nullptr);
    EXPECT_EQ(limits->child_text("max-bytes"), "524288");
    EXPECT_EQ(limits->child_text("idle-seconds"), "600");
}

TEST(InboundStream, LimitsFollowTheConfiguredParserLimitAndTimeout) {
    StreamTimers t;
    t.inactivity_ms = 840'000;
    Limits l;
    l.max_stanza_bytes = 10'000;
    Harness h({}, t, l);
    auto s = open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    const Element* limits =
        s.element("features", kNsStreams)->find_child("limits", inbound_wire::kNsStreamLimits);
    ASSERT_NE(limits, nullptr);
    EXPECT_EQ(limits->child_text("max-bytes"), "10000");
    EXPECT_EQ(limits->child_text("idle-seconds"), "840");
}

// XEP-0178 §3: no EXTERNAL when the chain does not verify or does not name the peer; dialback
// over TLS is still offered when the policy allows it.
TEST(InboundStream, UnverifiedCertificateOffersDialbackOnly) {
    for (TlsFacts facts :
         {unverified("self-signed certificate"), verified_for("someone-else.example")}) {
        Harness h;
        auto s = open_with_tls(h, kProsody, facts);
        const Element* f = s.element("features", kNsStreams);
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->find_child("mechanisms", kNsSasl), nullptr);
        EXPECT_NE(f->find_child("dialback", kNsDialbackFeature), nullptr);
    }
}

// Rule 3: SASL required (dialback unused) and the certificate does not verify: no method
// left, not-authorized naming the domain and why, logged.
TEST(InboundStream, SaslRequiredWithBadCertificateIsNotAuthorized) {
    LogCapture logs;
    Harness h;
    auto s = open_with_tls(h, kSecure, unverified("certificate has expired"));
    EXPECT_EQ(s.stream_error(), "not-authorized");
    EXPECT_EQ(s.stream_error_text(),
              "certificate for secure.example.net does not verify: certificate has expired");
    EXPECT_TRUE(logs.has("s2s.in.cert_refused",
                         {"domain=secure.example.net", "reason=\"certificate has expired\""}));
}

TEST(InboundStream, SaslRequiredWithUncoveredNameIsNotAuthorized) {
    Harness h;
    auto s = open_with_tls(h, kSecure, verified_for("other.example"));
    EXPECT_EQ(s.stream_error(), "not-authorized");
    EXPECT_EQ(s.stream_error_text(),
              "certificate for secure.example.net does not verify: name not covered");
}

// Rule 3: the header after TLS must keep the 'from'.
TEST(InboundStream, FromChangedAfterTlsIsInvalidFrom) {
    Harness h;
    h.feed(prosody_header());
    h.feed(starttls());
    h.tls(verified_for(std::string(kProsody)));
    auto s = h.feed(prosody_header(kEjabberd));
    EXPECT_EQ(s.stream_error(), "invalid-from");
    // The error goes in a new stream: our new header first (RFC 6120 §4.9.1.1).
    ASSERT_EQ(s.headers.size(), 1u);
    EXPECT_EQ(attr(&s.headers[0].header, "id"), "id-2");
}

TEST(InboundStream, ToChangedAfterTlsIsHostUnknown) {
    Harness h;
    h.feed(prosody_header());
    h.feed(starttls());
    h.tls(verified_for(std::string(kProsody)));
    auto s = h.feed(prosody_header(kProsody, kLocal2));
    EXPECT_EQ(s.stream_error(), "host-unknown");
}

// A peer that hid its name before TLS may give it after (RFC 6120 §4.7.1).
TEST(InboundStream, FromGivenOnlyAfterTlsIsAdmittedThen) {
    Harness h;
    h.feed(prosody_header(""));
    h.feed(starttls());
    h.tls(verified_for(std::string(kProsody)));
    auto s = h.feed(prosody_header(kProsody));
    EXPECT_TRUE(s.stream_error().empty());
    EXPECT_EQ(h.stream->partner_domain(), kProsody);
    EXPECT_NE(s.element("features", kNsStreams)->find_child("mechanisms", kNsSasl), nullptr);
}

TEST(InboundStream, StarttlsTwiceIsRefused) {
    Harness h;
    open_with_tls(h, kProsody, verified_for(std::string(kProsody)));
    auto s = h.feed(starttls());
    EXPECT_NE(s.element("failure", kNsTls), nullptr);
    EXPECT_TRUE(s.closed);
    EXPECT_FALSE(s.has_action<StartTls>());
}

TEST(InboundStream, TlsHandshakeFailureCloses) {
    LogCapture logs;
    Harness h;
    h.feed(prosody_header());
    h.feed(starttls());
    auto s = h.call([](InboundStream& st) { st.on_tls_failed("no shared cipher"); });
    EXPECT_TRUE(s.bytes.empty());
    ASSERT_NE(s.close(), nullptr);
    EXPECT_EQ(s.close()->reason, "TLS handshake failed: no shared cipher");
    EXPECT_TRUE(logs.has("s2s.in.tls_failed", {"reason=\"no shared cipher\""}));
}

// XEP-0368: TLS from the first byte; the first features are the after-TLS ones.
TEST(InboundStream, DirectTlsOffersAfterTlsFeaturesAtOnce) {
    InboundStream::Options o;
    o.direct_tls = true;
    o.tls = verified_for(std::string(kProsody));
    Harness h(o);
    auto s = h.feed(prosody_header());
    const Element* f = s.element("features", kNsStreams);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->find_child("starttls", kNsTls), nullptr);
    EXPECT_NE(f->find_child("mechanisms", kNsSasl), nullptr);
    EXPECT_TRUE(h.stream->is_tls());
}

TEST(InboundStream, DirectTlsFactsMayComeThroughOnTlsEstablished) {
    InboundStream::Options o;
    o.direct_tls = true;
    Harness h(o);
    h.tls(verified_for(std::string(kProsody)));
    auto s = h.feed(prosody_header());
    EXPECT_NE(s.element("features", kNsStreams)->find_child("mechanisms", kNsSasl), nullptr);
}

}  // namespace
}  // namespace fedgw::proxy::test
