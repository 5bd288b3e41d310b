// Loop tier for the proxy's limits and backpressure (issue 3): the total connection limit
// (the excess peer gets a resource-constraint stream error and a log line, the others are still
// served), the per-partner limit (counted over the partner's primary and additional domains;
// policy-violation), the gateway link without credit (stanzas held up to a bound, the rest
// answered with resource-constraint, never silence), and a partner that stops reading (stanzas
// from the gateway beyond the write queue's high watermark come back as resource-constraint).
//
// Loop-bound test: real sockets on 127.0.0.1 (router_fixture.hpp).
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;

class LimitsTest : public RouterLoopTest {};

TEST_F(LimitsTest, ConnectionsBeyondTheTotalLimitAreRefused) {
    TestCa ca;
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    auto p = policy({partner("a.test", 0)}, "secret-b");
    p.settings.total_connection_limit = 2;
    start(b_, p, [](RouterOptions& o) { o.stream_timers = timers(60'000, 0); });

    std::string refused, served;
    bool refused_closed = false;
    in_thread([&] {
        RawPeer first(b_.port);
        RawPeer second(b_.port);
        // Both accepted before the third arrives: accept order is connection order.
        first.send(stream_header("a.test", "b.test"));
        first.read_until("</stream:features>", 5000);
        RawPeer third(b_.port);
        refused_closed = third.read_to_eof(5000);
        refused = third.received;
        second.send(stream_header("a.test", "b.test"));
        second.read_until("</stream:features>", 5000);
        served = second.received;
    });
    EXPECT_TRUE(refused_closed);
    EXPECT_NE(refused.find("<resource-constraint"), std::string::npos) << refused;
    EXPECT_NE(refused.find("</stream:stream>"), std::string::npos) << refused;
    EXPECT_NE(served.find("<stream:features"), std::string::npos) << "the others are served";
    EXPECT_EQ(logged({"s2s.limit", "rule=total-connection-limit", "limit=2"}), 1u);
}

// A serves a.test and a2.test; B knows them as one partner (a2.test an additional domain)
// limited to one connection: the second stream is refused, the first still carries stanzas.
TEST_F(LimitsTest, ConnectionsBeyondThePartnerLimitAreRefused) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test", "a2.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, std::vector<std::string>{"a.test", "a2.test"}, ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    auto a_partner = partner("a.test", a_.port);
    a_partner.additional_domains = {"a2.test"};
    a_partner.connection_limit = 1;
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    start(b_, policy({a_partner}, "secret-b"));

    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "a.test's stanza at B");
    a_.router->from_gateway(frame("a2.test", message("x@a2.test/y", "juliet@b.test", "m2")));
    run_until([&] { return a_.count("id='m2'") == 1; }, "a2.test's stanza back at A");
    EXPECT_NE(a_.to_gateway.back().xml.find("type='error'"), std::string::npos);
    EXPECT_EQ(logged({"s2s.limit", "rule=partner-connection-limit", "partner=a.test"}), 1u);
    EXPECT_GE(logged({"s2s.stream_closed", "policy-violation", "too many connections"}), 1u);

    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m3")));
    run_until([&] { return b_.to_gateway.size() == 2; }, "a.test still served");
    EXPECT_EQ(b_.count("id='m2'"), 0u);
}

// The link grants no credit: B holds two stanzas and answers the rest with resource-constraint
// at once; once credit comes the held ones flow. Every stanza is accounted for.
TEST_F(LimitsTest, FullLinkHoldsABoundedNumberAndAnswersTheRest) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    GatewaySend b_link = GatewaySend::Sent;
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    start_with(
        b_, policy({partner("a.test", a_.port)}, "secret-b"),
        [&](link::StanzaFrame& f) {
            if (b_link == GatewaySend::Sent) b_.to_gateway.push_back(f);
            return b_link;
        },
        [](RouterOptions& o) { o.max_waiting_for_credit = 2; });

    // The stream first, so that the burst below arrives in one piece.
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "warm")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "the first stanza");
    b_link = GatewaySend::Full;
    constexpr int kBurst = 20;
    for (int i = 0; i < kBurst; ++i)
        a_.router->from_gateway(
            frame("a.test", message("romeo@a.test/x", "juliet@b.test", "b" + std::to_string(i))));
    run_until([&] { return b_.router->waiting_for_credit() == 2; }, "two held at B");
    run_until([&] { return a_.count("<resource-constraint") >= kBurst - 2; }, "the rest answered");
    EXPECT_GE(logged({"proxy.gateway_unavailable", "no credit"}), 1u);

    b_link = GatewaySend::Sent;
    b_.router->gateway_writable();
    run_until(
        [&] {
            std::size_t delivered = b_.count("id='b");
            std::size_t bounced = a_.count("<resource-constraint");
            return delivered + bounced == kBurst;
        },
        "every stanza delivered or answered");
    EXPECT_EQ(b_.count("id='b"), 2u);
    EXPECT_EQ(a_.count("type='error'"), static_cast<std::size_t>(kBurst - 2));
}

// B shuts down while it holds a stanza for link credit: the sender hears service-unavailable
// before the stream closes.
TEST_F(LimitsTest, HeldStanzasAreAnsweredAtShutdown) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    start_with(b_, policy({partner("a.test", a_.port)}, "secret-b"),
               [](link::StanzaFrame&) { return GatewaySend::Full; });
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "h1")));
    run_until([&] { return b_.router->waiting_for_credit() == 1; }, "the stanza held at B");
    // B answers on its own stream to A, which must be up for the answer to travel.
    b_.router->from_gateway(frame("b.test", message("juliet@b.test/y", "romeo@a.test/x", "r1")));
    run_until([&] { return a_.count("id='r1'") == 1; }, "B's stream to A up");

    bool b_done = false;
    b_.router->shutdown([&] { b_done = true; });
    run_until([&] { return a_.count("id='h1'") == 1; }, "the held stanza answered");
    EXPECT_NE(a_.to_gateway.back().xml.find("<service-unavailable"), std::string::npos)
        << a_.to_gateway.back().xml;
    run_until([&] { return b_done; }, "B shut down");
}

// B's link is full, so B stops reading from A; A keeps sending large stanzas from its gateway
// side until its write queue passes the high watermark; from then on they come back to A's
// gateway as resource-constraint. When B's link opens again, everything not answered arrives.
TEST_F(LimitsTest, PartnerThatStopsReadingGetsNoUnboundedQueue) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    GatewaySend b_link = GatewaySend::Sent;
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    auto b_policy = policy({partner("a.test", a_.port)}, "secret-b");
    b_policy.settings.stanza_rate_per_s = 0;  // this test floods on purpose
    start_with(b_, b_policy, [&](link::StanzaFrame& f) {
        if (b_link == GatewaySend::Sent) b_.to_gateway.push_back(f);
        return b_link;
    });
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "warm")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "the first stanza");
    b_link = GatewaySend::Full;

    const std::string body(64 * 1024, 'z');
    constexpr int kStanzas = 200;  // 12.5 MiB: more than the kernel buffers on loopback
    int sent = 0;
    run_until(
        [&] {
            // A few per loop turn, so A's writes really go to the socket in between.
            for (int i = 0; i < 5 && sent < kStanzas; ++i, ++sent)
                a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test",
                                                                "s" + std::to_string(sent), body)));
            return sent == kStanzas;
        },
        "A's gateway side sending");
    run_until([&] { return a_.count("<resource-constraint") > 0; }, "A refusing some");
    EXPECT_GE(logged({"s2s.partner_congested", "remote=b.test"}), 1u);

    b_link = GatewaySend::Sent;
    b_.router->gateway_writable();
    run_until(
        [&] {
            return b_.count("id='s") + a_.count("<resource-constraint") ==
                   static_cast<std::size_t>(kStanzas);
        },
        "every stanza delivered or answered");
    EXPECT_GT(b_.count("id='s"), 0u);
}

}  // namespace
}  // namespace fedgw::proxy
