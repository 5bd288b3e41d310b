// Unit tests for LinkSession (common/linkio/link_session.hpp), part 1: the HELLO exchange,
// garbage from the peer and closing. Two sessions, a proxy and a gateway, are fed into each other
// in memory; hand-made frames stand for what a well-behaved peer never sends. No sockets, no
// sleeps.
#include "common/linkio/link_session.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/linkio/link_session_pair.hpp"

namespace fedgw::link::test {
namespace {

using ::testing::HasSubstr;

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
}  // namespace fedgw::link::test
