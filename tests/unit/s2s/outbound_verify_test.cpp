// OutboundStream as the receiving server asking an authoritative server: db:verify (XEP-0220
// §2.1.2), on verify-only streams and alongside our own dialback or SASL negotiation.
#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "proxy/s2s/outbound_stream.hpp"
#include "tests/unit/s2s/outbound_test_support.hpp"

namespace fedgw::proxy::test {
namespace {

using State = OutboundStream::State;
using registry::Negotiation;

// --- db:verify (XEP-0220 §2.1.2) -----------------------------------------------------------------

// A verify-only stream (XEP-0220 §2.1.2 note): no authentication, Example 5 on the wire,
// Example 6 back, and the stream closes once nothing is pending.
TEST(OutboundVerify, VerifyOnlyStreamWithXepExamples) {
    registry::Partner p;
    p.domain = "montague.example";
    p.tls = Negotiation::Optional;
    Harness h(p);
    h.opts.local_domain = "capulet.example";
    h.opts.remote_domain = "montague.example";
    h.opts.verify_only = true;
    h.make();
    const std::string key = "225cc5aa6a071133249d25fef42ae516fc7a86c523aa1c6980a7f73e784c972d";
    EXPECT_TRUE(h.stream->send_verify("capulet.example", "montague.example", "417GAF25", key, 0));
    h.start();
    h.take_written();
    h.feed(
        "<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' "
        "xmlns:stream='http://etherx.jabber.org/streams' from='montague.example' "
        "to='capulet.example' id='abc' version='1.0'><stream:features>"
        "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"
        "</stream:features>");
    EXPECT_EQ(h.stream->state(), State::VerifyOnly);
    EXPECT_TRUE(h.cancelled(TimerKind::Establishment));
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0]->is("verify", kNsDialback));
    EXPECT_EQ(out[0]->attr("from"), "capulet.example");
    EXPECT_EQ(out[0]->attr("to"), "montague.example");
    EXPECT_EQ(out[0]->attr("id"), "417GAF25");
    EXPECT_EQ(out[0]->text(), key);
    EXPECT_FALSE(h.first<StreamReady>());
    Element m("message", std::string(kNsServer));
    m.set_attr("from", "a@capulet.example").set_attr("to", "b@montague.example");
    EXPECT_EQ(h.stream->send(m).error(), SendError::VerifyOnly);

    h.feed(
        "<db:verify from='montague.example' id='417GAF25' to='capulet.example' "
        "type='valid'/>");
    ASSERT_TRUE(h.first<DialbackVerifyAnswer>());
    const auto* a = h.first<DialbackVerifyAnswer>();
    EXPECT_EQ(a->local, "capulet.example");
    EXPECT_EQ(a->remote, "montague.example");
    EXPECT_EQ(a->stream_id, "417GAF25");
    EXPECT_TRUE(a->valid);
    ASSERT_TRUE(h.closed()) << "XEP-0220 §2.1.2: close once the result is in";
    EXPECT_FALSE(h.closed()->error);
    EXPECT_FALSE(h.closed()->bounce);
    EXPECT_EQ(h.take_written(), "</stream:stream>");
}

TEST(OutboundVerify, VerifyOnlyStreamStillHonoursTlsPolicy) {
    Harness h;  // TLS required
    h.opts.verify_only = true;
    h.make();
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "id1", "k1", 0));
    h.start();
    h.take_written();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    EXPECT_EQ(h.stream->state(), State::WaitTlsProceed) << "no verify before TLS";
    EXPECT_EQ(h.take_written().find("db:verify"), std::string::npos);
    h.feed(kProceed);
    h.tls();
    h.take_written();
    h.feed(prosody_header("2") + prosody_features_external());
    EXPECT_EQ(h.stream->state(), State::VerifyOnly) << "no SASL on a verify-only stream";
    EXPECT_NE(h.take_written().find("<db:verify"), std::string::npos);
}

// Example 7 (invalid) and Example 8 (error): answered valid=false; unknown answers ignored.
TEST(OutboundVerify, InvalidErrorAndUnsolicitedAnswers) {
    LogCapture logs;
    Harness h;
    make_ready(h);
    h.take_written();
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "i1", "k1", 0));
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "i2", "k2", 0));
    h.pump();
    EXPECT_EQ(parse_fragment(h.take_written()).size(), 2u) << "written at once when ready";
    EXPECT_EQ(h.stream->pending_verifications(), 2u);
    h.feed("<db:verify from='xmpp.example.org' id='nope' to='sip.example.com' type='valid'/>");
    EXPECT_TRUE(h.all<DialbackVerifyAnswer>().empty());
    EXPECT_NE(logs.find("s2s.out.unsolicited_dialback", {"id=nope"}), "");
    h.feed("<db:verify from='xmpp.example.org' id='i1' to='sip.example.com' type='invalid'/>");
    h.feed(
        "<db:verify from='xmpp.example.org' id='i2' to='sip.example.com' type='error'>"
        "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></db:verify>");
    auto answers = h.all<DialbackVerifyAnswer>();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0]->stream_id, "i1");
    EXPECT_FALSE(answers[0]->valid);
    EXPECT_FALSE(answers[0]->unverifiable) << "type='invalid' is an answer";
    EXPECT_EQ(answers[1]->stream_id, "i2");
    EXPECT_FALSE(answers[1]->valid);
    EXPECT_EQ(answers[1]->unverifiable, StanzaCondition::ItemNotFound) << "type='error' is none";
    EXPECT_FALSE(h.closed()) << "a normal stream stays up";
    EXPECT_TRUE(h.cancelled(TimerKind::Dialback));
    EXPECT_NE(logs.find("s2s.out.verify_error", {"condition=item-not-found"}), "");
}

// Spec rule 5: queued until the stream is negotiated; with dialback it shares the stream with
// our db:result (XEP-0220 §2.1.1 note).
TEST(OutboundVerify, QueuedUntilNegotiatedThenWrittenWithTheDialbackKey) {
    Harness h;
    h.start();
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "v1", "key1", 0));
    h.pump();
    h.take_written();
    h.feed(prosody_header("1") + prosody_features_before_tls());
    h.feed(kProceed);
    h.tls();
    EXPECT_EQ(h.written.find("db:verify"), std::string::npos);
    h.take_written();
    h.feed(prosody_header("2") + prosody_features_dialback());
    auto out = parse_fragment(h.take_written());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0]->is("result", kNsDialback));
    EXPECT_TRUE(out[1]->is("verify", kNsDialback));
}

TEST(OutboundVerify, WaitsForSaslToFinish) {
    Harness h;
    h.through_tls();
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "v1", "key1", 0));
    h.feed(prosody_header("2") + prosody_features_external());
    h.feed(kSaslSuccess);
    EXPECT_EQ(h.written.find("db:verify"), std::string::npos)
        << "nothing may follow <auth/> before the restart";
    h.take_written();
    h.feed(prosody_header("3") + prosody_features_after_sasl());
    EXPECT_NE(h.take_written().find("<db:verify"), std::string::npos);
}

// Spec rule 5: pending verifications are answered valid=false when the stream fails.
TEST(OutboundVerify, AnsweredFalseWhenTheStreamFails) {
    Harness h;
    h.start();
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "v1", "key1", 0));
    h.stream->on_transport_closed();
    h.pump();
    auto answers = h.all<DialbackVerifyAnswer>();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_FALSE(answers[0]->valid);
    EXPECT_EQ(answers[0]->unverifiable, StanzaCondition::RemoteServerNotFound);
    EXPECT_EQ(answers[0]->stream_id, "v1");
    EXPECT_FALSE(h.stream->send_verify(kLocal, kRemote, "v2", "key2", 0)) << "closed";
}

TEST(OutboundVerify, AnsweredFalseWhenTheirTimerExpires) {
    LogCapture logs;
    Harness h;
    h.timers.dialback_ms = 10'000;
    h.opts.verify_only = true;
    h.opts.partner.tls = Negotiation::Optional;
    h.start();
    h.feed(prosody_header("1") + prosody_features_dialback());
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "v1", "key1", 0));
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "v2", "key2", 5'000));
    h.pump();
    EXPECT_EQ(h.last_arm(TimerKind::Dialback)->after_ms, 10'000u);
    h.timer(TimerKind::Dialback, 10'000);
    ASSERT_EQ(h.all<DialbackVerifyAnswer>().size(), 1u);
    EXPECT_EQ(h.all<DialbackVerifyAnswer>()[0]->stream_id, "v1");
    EXPECT_EQ(h.all<DialbackVerifyAnswer>()[0]->unverifiable, StanzaCondition::RemoteServerTimeout);
    EXPECT_EQ(h.last_arm(TimerKind::Dialback)->after_ms, 5'000u) << "re-armed for v2";
    EXPECT_FALSE(h.closed());
    h.timer(TimerKind::Dialback, 15'000);
    ASSERT_EQ(h.all<DialbackVerifyAnswer>().size(), 2u);
    EXPECT_FALSE(h.all<DialbackVerifyAnswer>()[1]->valid);
    EXPECT_TRUE(h.closed()) << "a verify-only stream with nothing left closes";
    EXPECT_NE(logs.find("s2s.out.verify_timeout", {"id=v1"}), "");
}

TEST(OutboundVerify, VerifyOnlyStreamIgnoresTheEstablishmentTimer) {
    Harness h;
    h.opts.verify_only = true;
    h.opts.partner.tls = Negotiation::Optional;
    h.start();
    ASSERT_TRUE(h.stream->send_verify(kLocal, kRemote, "v1", "key1", 0));
    h.feed(prosody_header("1") + prosody_features_dialback());
    ASSERT_EQ(h.stream->state(), State::VerifyOnly);
    h.timer(TimerKind::Establishment, 60'000);
    EXPECT_FALSE(h.closed());
}

TEST(OutboundVerify, RequestWithoutTypeOnOurStreamIsAStreamError) {
    Harness h;
    make_ready(h);
    // A db:verify request from the receiving entity would need XEP-0288.
    h.feed("<db:verify from='xmpp.example.org' to='sip.example.com' id='x'>k</db:verify>");
    ASSERT_TRUE(h.closed());
    ASSERT_TRUE(h.closed()->error);
    EXPECT_EQ(h.closed()->error->condition, StreamCondition::UnsupportedStanzaType);
}

TEST(OutboundVerify, RefusesOtherRemotesAndFloods) {
    Harness h;
    h.opts.max_pending_verifications = 2;
    h.start();
    EXPECT_FALSE(h.stream->send_verify(kLocal, "other.example", "v", "k", 0));
    EXPECT_TRUE(h.stream->send_verify(kLocal, kRemote, "v1", "k", 0));
    EXPECT_TRUE(h.stream->send_verify(kLocal, kRemote, "v2", "k", 0));
    EXPECT_FALSE(h.stream->send_verify(kLocal, kRemote, "v3", "k", 0));
    EXPECT_EQ(h.stream->pending_verifications(), 2u);
}

}  // namespace
}  // namespace fedgw::proxy::test
