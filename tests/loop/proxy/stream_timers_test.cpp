// Loop tier for the stream timers of issue 3 (RFC 6120 §4.6.1 whitespace keepalives, §4.9.3.4
// connection-timeout): a peer that connects and says nothing, or stalls after its stream
// header, is closed with connection-timeout after the establishment timeout; an authenticated
// stream on which nothing arrives is closed after the inactivity timeout; keepalives, when on,
// keep an idle stream alive in both directions. Timers come from RouterOptions::stream_timers
// in milliseconds, so nothing waits out production values.
//
// Loop-bound test: real sockets on 127.0.0.1 (router_fixture.hpp).
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;

class StreamTimersTest : public RouterLoopTest {};

// Establishment timeout: a silent peer, and one that stalls after its header, are closed with
// a connection-timeout stream error after about the configured time — not sooner.
TEST_F(StreamTimersTest, SilentOrStalledPeerIsClosedAtTheEstablishmentTimeout) {
    TestCa ca;
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    StreamTimers t = timers(60'000, 0);
    t.establishment_ms = 300;
    start(b_, policy({partner("a.test", 0)}, "secret-b"),
          [&](RouterOptions& o) { o.stream_timers = t; });

    std::string silent, stalled;
    bool silent_closed = false, stalled_closed = false;
    std::int64_t silent_ms = 0, stalled_ms = 0;
    in_thread([&] {
        auto t0 = std::chrono::steady_clock::now();
        RawPeer quiet(b_.port);
        RawPeer slow(b_.port);
        slow.send(stream_header("a.test", "b.test"));
        stalled_closed = slow.read_to_eof(5000);
        stalled_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
        silent_closed = quiet.read_to_eof(5000);
        silent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
        silent = quiet.received;
        stalled = slow.received;
    });
    EXPECT_TRUE(silent_closed);
    EXPECT_TRUE(stalled_closed);
    EXPECT_NE(silent.find("<connection-timeout"), std::string::npos) << silent;
    EXPECT_NE(stalled.find("<stream:features"), std::string::npos) << "it was served first";
    EXPECT_NE(stalled.find("<connection-timeout"), std::string::npos) << stalled;
    EXPECT_NE(stalled.find("</stream:stream>"), std::string::npos) << stalled;
    EXPECT_GE(stalled_ms, 250);
    EXPECT_GE(silent_ms, 250);
    EXPECT_LT(silent_ms, 4000);
    EXPECT_GE(logged({"s2s.stream_closed", "connection-timeout"}), 2u);
    run_until([&] { return b_.router->connections().empty(); }, "both connections gone");
}

// A peer that asks for STARTTLS and then never starts the handshake is closed at the
// establishment timeout too; nothing is written into the pending handshake.
TEST_F(StreamTimersTest, PeerStalledInTheTlsHandshakeIsClosed) {
    TestCa ca;
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    StreamTimers t = timers(60'000, 0);
    t.establishment_ms = 300;
    start(b_, policy({partner("a.test", 0)}, "secret-b"),
          [&](RouterOptions& o) { o.stream_timers = t; });

    std::string got;
    bool closed = false;
    in_thread([&] {
        RawPeer peer(b_.port);
        peer.send(stream_header("a.test", "b.test"));
        peer.read_until("</stream:features>", 5000);
        peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        peer.read_until("<proceed", 5000);
        closed = peer.read_to_eof(5000);
        got = peer.received;
    });
    EXPECT_TRUE(closed);
    ASSERT_NE(got.find("<proceed"), std::string::npos) << got;
    EXPECT_EQ(got.find('>', got.find("<proceed")), got.size() - 1)
        << "nothing after <proceed/>: " << got;
    EXPECT_EQ(logged({"s2s.stream_closed", "connection-timeout"}), 1u);
}

// Inactivity timeout: once the stanza is through and nothing more arrives (A sends no
// keepalives), B closes its inbound stream with connection-timeout; A's route recovers with
// a fresh stream for the next stanza.
TEST_F(StreamTimersTest, IdleStreamIsClosedAtTheInactivityTimeout) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    auto to_b = partner("b.test", b_.port);
    to_b.keepalive = false;
    start(a_, policy({to_b}, "secret-a"),
          [](RouterOptions& o) { o.stream_timers = timers(60'000, 100); });
    start(b_, policy({partner("a.test", a_.port)}, "secret-b"),
          [](RouterOptions& o) { o.stream_timers = timers(400, 0); });

    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "the first stanza at B");
    std::uint64_t quiet_since = uv_now(&loop_);
    run_until([&] { return b_.live(Direction::Inbound) == 0; }, "B closing the idle stream");
    EXPECT_GE(uv_now(&loop_) - quiet_since, 300u);
    EXPECT_EQ(logged({"s2s.stream_closed", "direction=in", "connection-timeout"}), 1u);
    run_until([&] { return a_.live(Direction::Outbound) == 0; }, "A seeing its stream end");
    EXPECT_EQ(a_.count("type='error'"), 0u) << "nothing was waiting, nothing bounced";

    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m2")));
    run_until([&] { return b_.to_gateway.size() == 2; }, "the second stanza on a new stream");
}

// Keepalives: with keepalive on and an interval shorter than the inactivity timeout on both
// sides, an idle pair of streams lives on, and whitespace flows both ways.
TEST_F(StreamTimersTest, KeepalivesHoldAnIdleStreamOpen) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"),
          [](RouterOptions& o) { o.stream_timers = timers(600, 100); });
    start(b_, policy({partner("a.test", a_.port)}, "secret-b"),
          [](RouterOptions& o) { o.stream_timers = timers(600, 100); });

    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "the stanza at B");
    auto in0 = b_.conns(Direction::Inbound).at(0);
    auto out0 = a_.conns(Direction::Outbound).at(0);
    run_for(1500);  // well past the 600 ms inactivity timeout
    ASSERT_EQ(b_.live(Direction::Inbound), 1u) << "B's inbound stream died idle";
    ASSERT_EQ(a_.live(Direction::Outbound), 1u) << "A's outbound stream died idle";
    auto in1 = b_.conns(Direction::Inbound).at(0);
    auto out1 = a_.conns(Direction::Outbound).at(0);
    EXPECT_EQ(in1.id, in0.id) << "the same stream";
    EXPECT_GT(out1.keepalives_out, out0.keepalives_out + 3) << "A sends whitespace";
    EXPECT_GT(in1.bytes_out, in0.bytes_out + 3) << "B sends whitespace";
    EXPECT_EQ(logged({"connection-timeout"}), 0u);
}

}  // namespace
}  // namespace fedgw::proxy
