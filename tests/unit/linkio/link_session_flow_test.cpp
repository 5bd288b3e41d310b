// Unit tests for LinkSession (common/linkio/link_session.hpp), part 2: flow control by
// credits, the registry snapshot and liveness (PING/PONG, with time passed in as milliseconds).
// No sockets, no sleeps.
#include "common/linkio/link_session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/linkio/link_session_pair.hpp"

namespace fedgw::link::test {
namespace {

using ::testing::HasSubstr;

// ---- flow control -------------------------------------------------------------------------

TEST(LinkSession, SendingConsumesCreditUntilRefused) {
    Pair p(proxy_config(), gateway_config(4));
    p.start();
    for (int i = 0; i < 4; ++i)
        EXPECT_TRUE(p.proxy.session.send_stanza(stanza()).has_value()) << i;
    EXPECT_FALSE(p.proxy.session.can_send());
    auto refused = p.proxy.session.send_stanza(stanza());
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), SendRefusal::NoCredit);
    EXPECT_EQ(p.proxy.session.in_flight(), 4U);
    p.pump();
    ASSERT_EQ(p.gateway.count<StanzaReceived>(), 4U);
    EXPECT_EQ(p.gateway.session.unacknowledged_in(), 4U);
    // Received stanzas carry what was sent, numbered by the sender.
    auto got = p.gateway.all<StanzaReceived>();
    EXPECT_EQ(got[0].stanza.seq, 1U);
    EXPECT_EQ(got[3].stanza.seq, 4U);
    EXPECT_EQ(got[0].stanza.partner, "partner.test");
    EXPECT_EQ(got[0].stanza.auth, AuthMethod::SaslExternal);
    EXPECT_EQ(got[0].stanza.local, "sip.test");
}

TEST(LinkSession, CreditComesBackInBatchesAndSignalsWritable) {
    Pair p(proxy_config(), gateway_config(4));
    p.start();
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
    p.pump();
    // Batch is half the window: one done is not enough for a CREDIT.
    p.gateway.session.stanza_done(1);
    EXPECT_FALSE(p.gateway.session.has_output());
    EXPECT_EQ(p.gateway.session.pending_credit(), 1U);
    p.gateway.session.stanza_done(1);
    auto frames = p.gateway.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(parse_credit(frames[0]).value_or(0), 2U);
    p.proxy.session.feed(wire(frames[0]));
    p.proxy.drain();
    EXPECT_EQ(p.proxy.count<Writable>(), 1U);
    EXPECT_EQ(p.proxy.session.send_credit(), 2U);
    EXPECT_EQ(p.gateway.session.unacknowledged_in(), 2U);
    // A second CREDIT while not blocked is no new Writable.
    p.gateway.session.stanza_done(2);
    p.pump();
    EXPECT_EQ(p.proxy.count<Writable>(), 1U);
    EXPECT_EQ(p.proxy.session.send_credit(), 4U);
    EXPECT_EQ(p.proxy.session.counters().credit_frames_in, 2U);
}

TEST(LinkSession, NoWritableWhenCreditWasNeverExhausted) {
    Pair p(proxy_config(), gateway_config(4));
    p.start();
    ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
    p.pump();
    p.gateway.session.stanza_done(1);
    p.gateway.session.flush_credit();
    p.pump();
    EXPECT_EQ(p.proxy.count<Writable>(), 0U);
    EXPECT_EQ(p.proxy.session.send_credit(), 4U);
}

TEST(LinkSession, BatchIsHalfTheWindowAndFlushSendsTheRest) {
    Pair p(proxy_config(), gateway_config(10));
    p.start();
    for (int i = 0; i < 7; ++i)
        ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
    p.pump();
    for (int i = 0; i < 4; ++i)
        p.gateway.session.stanza_done();
    EXPECT_FALSE(p.gateway.session.has_output());
    p.gateway.session.stanza_done();
    auto frames = p.gateway.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(parse_credit(frames[0]).value_or(0), 5U);
    p.gateway.session.stanza_done(2);
    EXPECT_FALSE(p.gateway.session.has_output());
    p.gateway.session.flush_credit();
    frames = p.gateway.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(parse_credit(frames[0]).value_or(0), 2U);
    p.gateway.session.flush_credit();
    EXPECT_FALSE(p.gateway.session.has_output()) << "nothing pending: no empty CREDIT";
}

TEST(LinkSession, StanzaDoneBeyondWhatWasReceivedIsClamped) {
    Pair p(proxy_config(), gateway_config(4));
    p.start();
    ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
    p.pump();
    p.gateway.session.stanza_done(3);
    p.gateway.session.flush_credit();
    auto frames = p.gateway.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(parse_credit(frames[0]).value_or(0), 1U);
}

TEST(LinkSession, CreditOverflowIsAProtocolError) {
    Pair p;
    p.start();
    ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
    p.pump();
    p.proxy.session.feed(wire(make_credit(2)));
    p.proxy.drain();
    auto c = p.proxy.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::ProtocolError);
    EXPECT_THAT(c->text, HasSubstr("credit overflow"));
}

TEST(LinkSession, PeerExceedingOurWindowIsAProtocolError) {
    Pair p(proxy_config(), gateway_config(2));
    p.start();
    auto f = make_frame(stanza());
    f.headers.set("seq", "9");
    for (int i = 0; i < 3; ++i)
        p.gateway.session.feed(wire(f));
    p.gateway.drain();
    EXPECT_EQ(p.gateway.count<StanzaReceived>(), 2U);
    auto c = p.gateway.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::ProtocolError);
    EXPECT_THAT(c->text, HasSubstr("window of 2"));
}

TEST(LinkSession, CreditedStanzasFreeTheWindow) {
    Pair p(proxy_config(), gateway_config(2));
    p.start();
    for (int round = 0; round < 5; ++round) {
        ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
        ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
        p.pump();
        p.gateway.session.stanza_done(2);
        p.pump();
    }
    EXPECT_EQ(p.gateway.count<StanzaReceived>(), 10U);
    EXPECT_FALSE(p.gateway.closed().has_value());
    EXPECT_EQ(p.proxy.session.send_credit(), 2U);
}

TEST(LinkSession, ExplicitSeqIsKeptAndTheCounterFollows) {
    Pair p;
    p.start();
    auto s = stanza();
    s.seq = 41;
    ASSERT_TRUE(p.proxy.session.send_stanza(s).has_value());
    ASSERT_TRUE(p.proxy.session.send_stanza(stanza()).has_value());
    p.pump();
    auto got = p.gateway.all<StanzaReceived>();
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0].stanza.seq, 41U);
    EXPECT_EQ(got[1].stanza.seq, 42U);
}

TEST(LinkSession, UnsendableStanzasAreRefusedWithoutUsingCredit) {
    Pair p;
    p.start();
    auto bad = stanza();
    bad.partner = "evil\n.test";
    auto r = p.proxy.session.send_stanza(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SendRefusal::Unencodable);
    auto big = stanza(std::string(DecoderLimits{}.max_frame_bytes, 'x'));
    r = p.proxy.session.send_stanza(big);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SendRefusal::TooLarge);
    EXPECT_EQ(p.proxy.session.in_flight(), 0U);
    EXPECT_FALSE(p.proxy.session.has_output());
}

TEST(LinkSession, SendBeforeHelloIsRefused) {
    Side s(proxy_config());
    auto r = s.session.send_stanza(stanza());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SendRefusal::NotEstablished);
    s.session.start(0);
    r = s.session.send_stanza(stanza());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SendRefusal::NotEstablished);
}

// ---- registry -----------------------------------------------------------------------------

TEST(LinkSession, GatewaySendsRegistryToProxy) {
    Pair p;
    p.start();
    ASSERT_TRUE(p.gateway.session.send_registry(7, R"({"partners":[]})").has_value());
    p.pump();
    auto r = p.proxy.all<RegistryReceived>();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].version, 7U);
    EXPECT_EQ(r[0].json, R"({"partners":[]})");
    EXPECT_EQ(p.proxy.session.counters().registries_in, 1U);
}

TEST(LinkSession, RegistryFromAProxyIsAProtocolError) {
    Pair p;
    p.start();
    p.gateway.session.feed(wire(make_registry(1, "{}")));
    p.gateway.drain();
    ASSERT_TRUE(p.gateway.closed().has_value());
    EXPECT_EQ(p.gateway.closed()->text, "REGISTRY from a proxy");
}

TEST(LinkSession, RegistryWithABadVersionIsAProtocolError) {
    Pair p;
    p.start();
    Frame f{FrameType::Registry, {}, "{}"};
    f.headers.set("version", "x1");
    p.proxy.session.feed(wire(f));
    p.proxy.drain();
    ASSERT_TRUE(p.proxy.closed().has_value());
    EXPECT_THAT(p.proxy.closed()->text, HasSubstr("not a number"));
}

// ---- liveness -----------------------------------------------------------------------------

TEST(LinkSession, HelloTimeout) {
    Side s(proxy_config());
    s.session.start(100);
    EXPECT_EQ(s.session.next_deadline_ms(), 1100);
    s.session.on_timer(1099);
    s.drain();
    EXPECT_FALSE(s.closed().has_value());
    s.session.on_timer(1100);
    s.drain();
    auto c = s.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::HelloTimeout);
    EXPECT_EQ(s.session.next_deadline_ms(), std::nullopt);
}

TEST(LinkSession, PingIsAnsweredAndTheNextOneScheduled) {
    Pair p;
    p.start(0);
    EXPECT_EQ(p.proxy.session.next_deadline_ms(), 5000);
    p.proxy.session.on_timer(4999);
    EXPECT_FALSE(p.proxy.session.has_output());
    p.proxy.session.on_timer(5000);
    EXPECT_EQ(p.proxy.session.next_deadline_ms(), 7000) << "the PONG deadline";
    p.pump();  // PING over, PONG back
    EXPECT_EQ(p.proxy.session.counters().pings_out, 1U);
    EXPECT_EQ(p.proxy.session.counters().pongs_in, 1U);
    EXPECT_EQ(p.proxy.session.next_deadline_ms(), 10000) << "the next PING";
    p.proxy.session.on_timer(7000);  // the old PONG deadline passes harmlessly
    p.proxy.drain();
    EXPECT_FALSE(p.proxy.closed().has_value());
}

TEST(LinkSession, MissingPongClosesTheLink) {
    Pair p;
    p.start(0);
    p.proxy.session.on_timer(5000);
    (void)p.proxy.session.take_output();  // the PING is lost
    p.proxy.session.on_timer(6999);
    p.proxy.drain();
    EXPECT_FALSE(p.proxy.closed().has_value());
    p.proxy.session.on_timer(7000);
    p.proxy.drain();
    auto c = p.proxy.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::PingTimeout);
    auto frames = p.proxy.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].type, FrameType::Goodbye);
}

TEST(LinkSession, StalePongDoesNotClearTheCurrentPing) {
    Pair p;
    p.start(0);
    p.proxy.session.on_timer(5000);
    (void)p.proxy.session.take_output();
    p.proxy.session.feed(wire(make_pong(99)));
    p.proxy.session.on_timer(7000);
    p.proxy.drain();
    ASSERT_TRUE(p.proxy.closed().has_value());
    EXPECT_EQ(p.proxy.closed()->code, CloseCode::PingTimeout);
}

TEST(LinkSession, PingIntervalZeroMeansNoPings) {
    auto c = proxy_config();
    c.limits.ping_interval_ms = 0;
    Pair p(c, gateway_config());
    p.start(0);
    EXPECT_EQ(p.proxy.session.next_deadline_ms(), std::nullopt);
    p.proxy.session.on_timer(1000000);
    EXPECT_FALSE(p.proxy.session.has_output());
}

}  // namespace
}  // namespace fedgw::link::test
