// OutboundStream once negotiated, and its end: stream errors and close (RFC 6120 §4.4, §4.9),
// timers (establishment, inactivity, keepalive per §4.6.1 and XEP-0478) and sending stanzas.
#include "proxy/s2s/outbound_stream.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "tests/unit/s2s/outbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = OutboundStream::State;
using registry::Negotiation;

// --- stream errors and close (RFC 6120 §4.4, §4.9) -----------------------------------------------

TEST(OutboundClose, PeerStreamErrorIsLoggedAndBounced) {
    LogCapture logs;
    Harness h;
    h.start();
    h.take_written();
    // As in tests/fuzz/corpus/xml_stream/stream_error.xml.
    h.feed(prosody_header("1") +
           "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
           "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>This server does "
           "not serve sip.example.com</text></stream:error></stream:stream>");
    ASSERT_TRUE(h.closed());
    EXPECT_FALSE(h.closed()->error);
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_EQ(h.take_written(), "</stream:stream>");
    EXPECT_NE(logs.find("s2s.out.stream_error", {"condition=host-unknown", "does not serve"}), "");
}

TEST(OutboundClose, PeerCloseAfterReadyIsOrderlyWithoutBounce) {
    Harness h;
    make_ready(h);
    h.take_written();
    h.feed("</stream:stream>");
    ASSERT_TRUE(h.closed());
    EXPECT_FALSE(h.closed()->error);
    EXPECT_FALSE(h.closed()->bounce);
    EXPECT_EQ(h.take_written(), "</stream:stream>");
}

TEST(OutboundClose, OwnerCloseWritesTheErrorAndCancelsTimers) {
    Harness h;
    make_ready(h);
    h.take_written();
    h.stream->close(StreamError{StreamCondition::SystemShutdown, "bye"});
    h.pump();
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::SystemShutdown);
    EXPECT_FALSE(h.closed()->bounce);
    EXPECT_EQ(h.take_written(),
              "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
              "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>bye</text>"
              "</stream:error></stream:stream>");
    EXPECT_TRUE(h.cancelled(TimerKind::Inactivity));
    EXPECT_TRUE(h.cancelled(TimerKind::Keepalive));
    // Everything after the end is ignored.
    EXPECT_EQ(h.feed("<junk"), 5u);
    h.stream->close();
    h.pump();
    EXPECT_EQ(h.all<CloseStream>().size(), 1u);
}

TEST(OutboundClose, OwnerOrderlyCloseBeforeReadyBounces) {
    Harness h;
    h.start();
    h.take_written();
    h.stream->close();
    h.pump();
    ASSERT_TRUE(h.closed());
    EXPECT_FALSE(h.closed()->error);
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_EQ(h.take_written(), "</stream:stream>");
}

// Spec rule 7: transport lost before Ready -> remote-server-not-found; nothing written.
TEST(OutboundClose, TransportLostBeforeReadyBounces) {
    Harness h;
    h.start();
    h.feed(prosody_header("1"));
    h.take_written();
    h.stream->on_transport_closed();
    h.pump();
    ASSERT_TRUE(h.closed());
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerNotFound);
    EXPECT_EQ(h.take_written(), "");
}

TEST(OutboundClose, TransportLostAfterReadyDoesNotBounce) {
    Harness h;
    make_ready(h);
    h.stream->on_transport_closed();
    h.pump();
    ASSERT_TRUE(h.closed());
    EXPECT_FALSE(h.closed()->bounce);
}

TEST(OutboundClose, StanzaFromPeerOnOutboundStreamIsUnsupportedStanzaType) {
    Harness h;
    make_ready(h);
    h.feed("<message from='a@xmpp.example.org' to='b@sip.example.com'><body>x</body></message>");
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::UnsupportedStanzaType);
    EXPECT_FALSE(h.closed()->bounce);
}

TEST(OutboundClose, OversizedElementFromPeerIsPolicyViolation) {
    Harness h;
    h.limits.max_stanza_bytes = 256;  // Limits are a constructor parameter
    h.start();
    h.feed(prosody_header("1") + "<stream:features><x xmlns='urn:example:big'>" +
           std::string(400, 'a') + "</x></stream:features>");
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::PolicyViolation);
}

TEST(OutboundClose, BytesAfterThePeersCloseAreIgnored) {
    Harness h;
    make_ready(h);
    EXPECT_EQ(h.feed("</stream:stream><garbage"), 24u);
    EXPECT_EQ(h.all<CloseStream>().size(), 1u);
}

// --- timers --------------------------------------------------------------------------------------

// Spec rule 7: Establishment expiry before Ready -> remote-server-timeout.
TEST(OutboundTimers, EstablishmentTimeoutBeforeReady) {
    LogCapture logs;
    Harness h;
    h.start();
    h.feed(prosody_header("1"));
    h.take_written();
    h.timer(TimerKind::Establishment, 60'000);
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::ConnectionTimeout);
    EXPECT_EQ(h.closed()->bounce, StanzaCondition::RemoteServerTimeout);
    EXPECT_TRUE(h.take_written().starts_with("<stream:error><connection-timeout"));
    EXPECT_NE(logs.find("s2s.out.failed", {"state=wait-features"}), "");
}

TEST(OutboundTimers, EstablishmentCancelledWhenReady) {
    Harness h;
    make_ready(h);
    EXPECT_TRUE(h.cancelled(TimerKind::Establishment));
    h.timer(TimerKind::Establishment, 60'000);  // a late expiry is harmless
    EXPECT_FALSE(h.closed());
}

TEST(OutboundTimers, InactivityRearmsForTheRemainderThenCloses) {
    Harness h;
    h.timers.inactivity_ms = 1000;
    make_ready(h);  // all input at t=0
    h.feed(" ", 400);
    h.clear();
    h.timer(TimerKind::Inactivity, 1000);
    EXPECT_FALSE(h.closed());
    ASSERT_TRUE(h.last_arm(TimerKind::Inactivity));
    EXPECT_EQ(h.last_arm(TimerKind::Inactivity)->after_ms, 400u);
    h.timer(TimerKind::Inactivity, 1400);
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::ConnectionTimeout);
    EXPECT_FALSE(h.closed()->bounce);
}

TEST(OutboundTimers, SendingCountsAsActivity) {
    Harness h;
    h.timers.inactivity_ms = 1000;
    make_ready(h);
    Element m("message", std::string(kNsServer));
    m.set_attr("from", "alice@sip.example.com").set_attr("to", "bob@xmpp.example.org");
    ASSERT_TRUE(h.stream->send(m));
    h.clear();
    h.timer(TimerKind::Inactivity, 5000);
    EXPECT_FALSE(h.closed());
    EXPECT_EQ(h.last_arm(TimerKind::Inactivity)->after_ms, 1000u);
}

// RFC 6120 §4.6.1 whitespace keepalive; XEP-0478 idle-seconds (840 from Prosody) caps it.
TEST(OutboundTimers, KeepaliveWhenIdleOnly) {
    Harness h;
    h.timers.keepalive_ms = 300'000;
    make_ready(h);
    ASSERT_TRUE(h.last_arm(TimerKind::Keepalive));
    EXPECT_EQ(h.last_arm(TimerKind::Keepalive)->after_ms, 300'000u);
    h.take_written();
    h.timer(TimerKind::Keepalive, 300'000);
    EXPECT_EQ(h.take_written(), " ");
    EXPECT_EQ(h.stream->counters().keepalives_out, 1u);
    Element m("message", std::string(kNsServer));
    m.set_attr("from", "alice@sip.example.com").set_attr("to", "bob@xmpp.example.org");
    ASSERT_TRUE(h.stream->send(m));
    h.pump();
    h.take_written();
    h.timer(TimerKind::Keepalive, 600'000);
    EXPECT_EQ(h.take_written(), "") << "a stanza was written in this interval";
}

TEST(OutboundTimers, PeerIdleSecondsShortensTheKeepalive) {
    Harness h;
    h.timers.keepalive_ms = 3'600'000;
    make_ready(h, /*peer_limits=*/true);  // idle-seconds 840
    ASSERT_TRUE(h.last_arm(TimerKind::Keepalive));
    EXPECT_EQ(h.last_arm(TimerKind::Keepalive)->after_ms, 420'000u);
    EXPECT_EQ(h.stream->peer_max_stanza_bytes(), 524288u);
}

TEST(OutboundTimers, NoKeepaliveWhenThePartnerDisablesIt) {
    registry::Partner p = Harness::default_partner();
    p.keepalive = false;
    Harness h(p);
    make_ready(h);
    EXPECT_FALSE(h.armed(TimerKind::Keepalive));
}

TEST(OutboundTimers, ManualKeepaliveOnlyOnceNegotiated) {
    Harness h;
    h.start();
    h.take_written();
    h.stream->send_keepalive();
    h.pump();
    EXPECT_EQ(h.take_written(), "");
    Harness r;
    make_ready(r);
    r.take_written();
    r.stream->send_keepalive();
    r.pump();
    EXPECT_EQ(r.take_written(), " ");
}

TEST(OutboundTimers, CountersAndLimitsPerStream) {
    Harness h;
    h.start();
    // Prosody advertises limits before TLS; after TLS this peer advertises none, and what was
    // said before TLS does not carry over (RFC 6120 §5.4.3.3).
    h.feed(prosody_header("1") + prosody_features_before_tls_with_limits());
    EXPECT_EQ(h.stream->peer_max_stanza_bytes(), 524288u);
    h.feed(kProceed);
    h.tls();
    h.feed(
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        "xmlns:db='jabber:server:dialback' id='2' version='1.0'><stream:features>"
        "<dialback xmlns='urn:xmpp:features:dialback'/></stream:features>");
    EXPECT_FALSE(h.stream->peer_max_stanza_bytes());
    EXPECT_EQ(h.stream->counters().elements_in, 3u);  // features, proceed, features
    EXPECT_GT(h.stream->counters().bytes_in, 0u);
    EXPECT_EQ(h.stream->counters().bytes_out, h.written.size());
}

// --- sending (spec rule 6) -----------------------------------------------------------------------

TEST(OutboundSend, WritesTheStanzaInJabberServer) {
    Harness h;
    make_ready(h);
    h.take_written();
    Element m("message", std::string(kNsClient));
    m.set_attr("from", "alice@sip.example.com/phone")
        .set_attr("to", "bob@xmpp.example.org")
        .set_attr("type", "chat")
        .set_attr("id", "m1");
    m.add_child("body").add_text("hi <there>");
    ASSERT_TRUE(h.stream->send(m));
    h.pump();
    const std::string out = h.take_written();
    EXPECT_EQ(out,
              "<message from='alice@sip.example.com/phone' to='bob@xmpp.example.org' type='chat' "
              "id='m1'><body>hi &lt;there&gt;</body></message>");
    auto parsed = parse_fragment(out);
    ASSERT_EQ(parsed.size(), 1u);
    EXPECT_TRUE(parsed[0]->is("message", kNsServer));
    EXPECT_EQ(h.stream->counters().stanzas_out, 1u);
}

TEST(OutboundSend, RefusesWhatTheStreamCannotCarry) {
    Harness h;
    h.start();
    Element m("message", std::string(kNsServer));
    m.set_attr("from", "alice@sip.example.com").set_attr("to", "bob@xmpp.example.org");
    EXPECT_EQ(h.stream->send(m).error(), SendError::NotReady);
    Harness r;
    make_ready(r, /*peer_limits=*/true);
    Element other("message", std::string(kNsServer));
    other.set_attr("from", "alice@elsewhere.example").set_attr("to", "bob@xmpp.example.org");
    EXPECT_EQ(r.stream->send(other).error(), SendError::WrongDomainPair);
    Element no_to("presence", std::string(kNsServer));
    no_to.set_attr("from", "alice@sip.example.com");
    EXPECT_EQ(r.stream->send(no_to).error(), SendError::WrongDomainPair);
    Element db("result", std::string(kNsDialback), "db");
    EXPECT_EQ(r.stream->send(db).error(), SendError::NotAStanza);
    Element big("message", std::string(kNsServer));
    big.set_attr("from", "alice@sip.example.com").set_attr("to", "bob@xmpp.example.org");
    big.add_child("body").add_text(std::string(600'000, 'x'));  // Prosody's max-bytes 524288
    EXPECT_EQ(r.stream->send(big).error(), SendError::TooLarge);
    EXPECT_EQ(r.stream->counters().stanzas_out, 0u);
}

TEST(OutboundSend, DescribesEveryError) {
    for (auto e : {SendError::NotReady, SendError::VerifyOnly, SendError::NotAStanza,
                   SendError::WrongDomainPair, SendError::TooLarge})
        EXPECT_NE(describe(e), "unknown");
}

}  // namespace
}  // namespace fedgw::proxy::test
