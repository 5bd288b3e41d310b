// Unit tests for LinkSession (common/linkio/link_session.hpp): two sessions, a proxy and a
// gateway, fed into each other in memory; hand-made frames for what a well-behaved peer never
// sends. No sockets, no sleeps: time is plain milliseconds passed in.
#include "common/linkio/link_session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace fedgw::link {
namespace {

using ::testing::HasSubstr;

SessionConfig proxy_config(std::uint32_t window = 8) {
    SessionConfig c;
    c.role = Role::Proxy;
    c.node = "edge.internal";
    c.expected_peer = "gw.internal";
    c.limits.window = window;
    c.limits.hello_timeout_ms = 1000;
    c.limits.ping_interval_ms = 5000;
    c.limits.pong_timeout_ms = 2000;
    return c;
}

SessionConfig gateway_config(std::uint32_t window = 8) {
    SessionConfig c = proxy_config(window);
    c.role = Role::Gateway;
    c.node = "gw.internal";
    c.expected_peer = "edge.internal";
    return c;
}

std::string wire(const Frame& f) {
    auto r = encode(f);
    EXPECT_TRUE(r.has_value());
    return r.has_value() ? *r : std::string();
}

StanzaFrame stanza(std::string xml = "<message to='a@sip.test'><body>hi</body></message>") {
    return StanzaFrame{0,          "partner.test", "federated", AuthMethod::SaslExternal,
                       "sip.test", std::move(xml)};
}

// One side's session plus everything it reported.
struct Side {
    explicit Side(SessionConfig c) : session(std::move(c)) {}
    LinkSession session;
    std::vector<SessionEvent> events;

    void drain() {
        while (auto e = session.next_event())
            events.push_back(std::move(*e));
    }
    template <class T>
    std::vector<T> all() const {
        std::vector<T> v;
        for (const auto& e : events)
            if (const auto* p = std::get_if<T>(&e)) v.push_back(*p);
        return v;
    }
    template <class T>
    std::size_t count() const {
        return all<T>().size();
    }
    std::optional<CloseReason> closed() const {
        auto c = all<Closed>();
        if (c.empty()) return std::nullopt;
        EXPECT_EQ(c.size(), 1U) << "exactly one Closed event";
        return c.front().reason;
    }
    // The frames this side has sent since the last call.
    std::vector<Frame> sent_frames() {
        LinkDecoder d;
        EXPECT_TRUE(d.feed(session.take_output()).has_value());
        std::vector<Frame> v;
        while (auto f = d.next())
            v.push_back(std::move(*f));
        return v;
    }
};

struct Pair {
    Pair(SessionConfig p = proxy_config(), SessionConfig g = gateway_config())
        : proxy(std::move(p)), gateway(std::move(g)) {}

    void start(std::int64_t now = 0) {
        proxy.session.start(now);
        gateway.session.start(now);
        pump();
    }
    // Moves bytes both ways until both sides are quiet.
    void pump() {
        for (int i = 0; i < 100; ++i) {
            bool moved = false;
            if (proxy.session.has_output()) {
                gateway.session.feed(proxy.session.take_output());
                moved = true;
            }
            if (gateway.session.has_output()) {
                proxy.session.feed(gateway.session.take_output());
                moved = true;
            }
            proxy.drain();
            gateway.drain();
            if (!moved) return;
        }
        ADD_FAILURE() << "the sessions never went quiet";
    }

    Side proxy;
    Side gateway;
};

// ---- HELLO ------------------------------------------------------------------------------

TEST(LinkSession, HelloExchangeEstablishesBothSides) {
    Pair p(proxy_config(16), gateway_config(32));
    EXPECT_EQ(p.proxy.session.state(), SessionState::Idle);
    p.start();
    ASSERT_EQ(p.proxy.count<HelloDone>(), 1U);
    ASSERT_EQ(p.gateway.count<HelloDone>(), 1U);
    EXPECT_EQ(p.proxy.all<HelloDone>()[0].peer.node, "gw.internal");
    EXPECT_EQ(p.proxy.all<HelloDone>()[0].peer.role, Role::Gateway);
    EXPECT_EQ(p.gateway.all<HelloDone>()[0].peer.node, "edge.internal");
    EXPECT_TRUE(p.proxy.session.is_established());
    EXPECT_TRUE(p.proxy.session.can_send());
    // Each side's send credit is the window the other granted.
    EXPECT_EQ(p.proxy.session.send_credit(), 32U);
    EXPECT_EQ(p.gateway.session.send_credit(), 16U);
    EXPECT_EQ(p.proxy.session.peer()->node, "gw.internal");
    EXPECT_FALSE(p.proxy.closed());
}

TEST(LinkSession, HelloIsTheFirstFrameSent) {
    Side s(proxy_config(12));
    s.session.start(0);
    auto frames = s.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    auto hello = parse_hello(frames[0]);
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->role, Role::Proxy);
    EXPECT_EQ(hello->node, "edge.internal");
    EXPECT_EQ(hello->window, 12U);
}

TEST(LinkSession, WrongNodeClosesWithAGoodbyeNamingIt) {
    auto g = gateway_config();
    g.expected_peer = "other-edge.internal";
    Pair p(proxy_config(), g);
    p.start();
    auto gw = p.gateway.closed();
    ASSERT_TRUE(gw.has_value());
    EXPECT_EQ(gw->code, CloseCode::PeerMismatch);
    EXPECT_THAT(gw->text, HasSubstr("'edge.internal'"));
    EXPECT_THAT(gw->text, HasSubstr("'other-edge.internal'"));
    // The proxy hears why, in the GOODBYE.
    auto px = p.proxy.closed();
    ASSERT_TRUE(px.has_value());
    EXPECT_EQ(px->code, CloseCode::PeerGoodbye);
    EXPECT_THAT(px->text, HasSubstr("peer-mismatch"));
    EXPECT_THAT(px->text, HasSubstr("edge.internal"));
    EXPECT_EQ(p.gateway.count<HelloDone>(), 0U);
}

TEST(LinkSession, EmptyExpectedNameAcceptsAnyNode) {
    auto g = gateway_config();
    g.expected_peer.clear();
    Pair p(proxy_config(), g);
    p.start();
    EXPECT_TRUE(p.gateway.session.is_established());
}

TEST(LinkSession, SameRoleOnBothEndsIsAMismatch) {
    auto other = proxy_config();
    other.node = "gw.internal";
    other.expected_peer = "edge.internal";
    Pair p(proxy_config(), other);
    p.start();
    auto c = p.proxy.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::PeerMismatch);
    EXPECT_THAT(c->text, HasSubstr("expected a gateway"));
}

TEST(LinkSession, OtherVersionIsAMismatch) {
    Side s(gateway_config());
    s.session.start(0);
    (void)s.session.take_output();
    Frame hello = make_frame(Hello{Role::Proxy, "edge.internal", 8});
    hello.headers.set("version", "2");
    s.session.feed(wire(hello));
    s.drain();
    auto c = s.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::PeerMismatch);
    EXPECT_THAT(c->text, HasSubstr("version 2"));
    auto frames = s.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].type, FrameType::Goodbye);
}

TEST(LinkSession, ZeroWindowInHelloIsRefused) {
    Side s(gateway_config());
    s.session.start(0);
    s.session.feed(wire(make_frame(Hello{Role::Proxy, "edge.internal", 0})));
    s.drain();
    auto c = s.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::ProtocolError);
    EXPECT_THAT(c->text, HasSubstr("window of 0"));
}

TEST(LinkSession, StanzaBeforeHelloIsAProtocolError) {
    Side s(gateway_config());
    s.session.start(0);
    (void)s.session.take_output();
    s.session.feed(wire(make_frame(stanza())));
    s.drain();
    auto c = s.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::ProtocolError);
    EXPECT_EQ(c->text, "STANZA before HELLO");
    EXPECT_EQ(s.count<StanzaReceived>(), 0U);
    auto frames = s.sent_frames();
    ASSERT_EQ(frames.size(), 1U);
    EXPECT_EQ(frames[0].type, FrameType::Goodbye);
    EXPECT_EQ(frames[0].headers.get("reason"), "protocol-error: STANZA before HELLO");
}

TEST(LinkSession, PingBeforeHelloIsAProtocolError) {
    Side s(gateway_config());
    s.session.start(0);
    s.session.feed(wire(make_ping(1)));
    s.drain();
    ASSERT_TRUE(s.closed().has_value());
    EXPECT_EQ(s.closed()->text, "PING before HELLO");
}

TEST(LinkSession, SecondHelloIsAProtocolError) {
    Pair p;
    p.start();
    p.gateway.session.feed(wire(make_frame(Hello{Role::Proxy, "edge.internal", 8})));
    p.gateway.drain();
    ASSERT_TRUE(p.gateway.closed().has_value());
    EXPECT_EQ(p.gateway.closed()->text, "a second HELLO");
}

TEST(LinkSession, GoodbyeInsteadOfHelloEndsCleanly) {
    Side s(gateway_config());
    s.session.start(0);
    (void)s.session.take_output();
    s.session.feed(wire(make_goodbye("maintenance")));
    s.drain();
    auto c = s.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::PeerGoodbye);
    EXPECT_EQ(c->text, "maintenance");
    EXPECT_FALSE(s.session.has_output()) << "no GOODBYE in answer to a GOODBYE";
}

TEST(LinkSession, BytesBeforeStartAreAProtocolError) {
    Side s(gateway_config());
    s.session.feed(wire(make_frame(Hello{Role::Proxy, "edge.internal", 8})));
    s.drain();
    ASSERT_TRUE(s.closed().has_value());
    EXPECT_EQ(s.closed()->code, CloseCode::ProtocolError);
    EXPECT_FALSE(s.session.has_output()) << "nothing was started: nothing to say goodbye to";
}

// ---- garbage ------------------------------------------------------------------------------

TEST(LinkSession, GarbageClosesWithTheDecodersReason) {
    for (std::string garbage :
         {std::string("\0\0\0\0", 4), std::string("\0\0\0\x02\x63x", 6),
          std::string("\x7f\xff\xff\xff", 4), std::string("\0\0\0\x03\x05no", 7)}) {
        Pair p;
        p.start();
        p.gateway.session.feed(garbage);
        p.gateway.drain();
        auto c = p.gateway.closed();
        ASSERT_TRUE(c.has_value()) << testing::PrintToString(garbage);
        EXPECT_EQ(c->code, CloseCode::ProtocolError);
        auto frames = p.gateway.sent_frames();
        ASSERT_EQ(frames.size(), 1U);
        EXPECT_EQ(frames[0].type, FrameType::Goodbye);
        // Input after the end is ignored.
        p.gateway.session.feed(wire(make_frame(stanza())));
        p.gateway.drain();
        EXPECT_EQ(p.gateway.count<StanzaReceived>(), 0U);
        EXPECT_EQ(p.gateway.count<Closed>(), 1U);
    }
}

TEST(LinkSession, FramesBeforeGarbageStillCount) {
    Pair p;
    p.start();
    auto s = make_frame(stanza());
    s.headers.set("seq", "1");
    p.gateway.session.feed(wire(s) + std::string("\0\0\0\0", 4));
    p.gateway.drain();
    EXPECT_EQ(p.gateway.count<StanzaReceived>(), 1U);
    ASSERT_TRUE(p.gateway.closed().has_value());
    EXPECT_THAT(p.gateway.closed()->text, HasSubstr("empty-frame"));
}

TEST(LinkSession, StanzaWithoutSeqIsAProtocolError) {
    Pair p;
    p.start();
    Frame f{FrameType::Stanza, {}, "<message/>"};
    p.gateway.session.feed(wire(f));
    p.gateway.drain();
    ASSERT_TRUE(p.gateway.closed().has_value());
    EXPECT_THAT(p.gateway.closed()->text, HasSubstr("missing-field"));
}

TEST(LinkSession, ByteByByteFeedingWorks) {
    Pair p;
    p.proxy.session.start(0);
    p.gateway.session.start(0);
    std::string bytes = p.proxy.session.take_output();
    EXPECT_FALSE(p.proxy.session.send_stanza(stanza()).has_value());  // no HELLO yet
    for (char c : bytes)
        p.gateway.session.feed(std::string_view(&c, 1));
    p.gateway.drain();
    EXPECT_EQ(p.gateway.count<HelloDone>(), 1U);
}

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

// ---- closing ------------------------------------------------------------------------------

TEST(LinkSession, GoodbyeEndsBothSides) {
    Pair p;
    p.start();
    p.proxy.session.close("shutting down");
    p.pump();
    auto px = p.proxy.closed();
    ASSERT_TRUE(px.has_value());
    EXPECT_EQ(px->code, CloseCode::Local);
    EXPECT_EQ(px->text, "shutting down");
    auto gw = p.gateway.closed();
    ASSERT_TRUE(gw.has_value());
    EXPECT_EQ(gw->code, CloseCode::PeerGoodbye);
    EXPECT_EQ(gw->text, "shutting down");
    EXPECT_EQ(gw->describe(), "peer-goodbye: shutting down");
    // Idempotent, and nothing flows afterwards.
    p.proxy.session.close("again");
    p.proxy.session.transport_closed("eof");
    p.proxy.drain();
    EXPECT_EQ(p.proxy.count<Closed>(), 1U);
    EXPECT_FALSE(p.proxy.session.has_output());
    auto r = p.proxy.session.send_stanza(stanza());
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), SendRefusal::NotEstablished);
}

TEST(LinkSession, TransportEndWithoutGoodbye) {
    Pair p;
    p.start();
    p.gateway.session.transport_closed("peer-eof");
    p.gateway.drain();
    auto c = p.gateway.closed();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, CloseCode::TransportClosed);
    EXPECT_EQ(c->describe(), "transport-closed: peer-eof");
    EXPECT_FALSE(p.gateway.session.has_output());
}

TEST(LinkSession, DescribeNamesEveryCode) {
    EXPECT_EQ(describe(CloseCode::HandshakeTimeout), "handshake-timeout");
    EXPECT_EQ(describe(CloseCode::TlsFailed), "tls-failed");
    EXPECT_EQ(describe(SendRefusal::NoCredit), "no-credit");
    EXPECT_EQ(describe(SessionState::WaitHello), "wait-hello");
    EXPECT_EQ((CloseReason{CloseCode::Local, ""}).describe(), "local");
}

}  // namespace
}  // namespace fedgw::link
