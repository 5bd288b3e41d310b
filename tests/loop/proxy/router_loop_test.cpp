// Loop tier for the proxy's Router and S2sConnection: two Routers in one libuv loop, each
// serving one domain (a.test, b.test) on 127.0.0.1 port 0 and knowing the other as a registry
// partner with a static route to that port. A stanza handed to A as if from the gateway travels
// A's outbound stream (STARTTLS, then SASL EXTERNAL or dialback: RFC 6120 §5, §6, XEP-0178,
// XEP-0220) to B's inbound stream and out of B's link side; what cannot be delivered comes back
// to A's link side as an error stanza (RFC 6120 §8.3). Each test ends with both routers shut
// down and proves the loop closes clean (router_fixture.hpp).
//
// Loop-bound test: real sockets on 127.0.0.1, certificates from the throwaway TestCa.
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;

// Both certificates verify against the CA both trust: SASL EXTERNAL on A's outbound stream.
TEST_F(RouterLoopTest, StanzaCrossesWithSaslExternal) {
    TestCa ca;
    auto ca_cert =
        ca.issue({.dns = {"a.test"}, .srv = {"_xmpp-server.a.test"}, .xmpp = {"a.test"}});
    auto cb_cert =
        ca.issue({.dns = {"b.test"}, .srv = {"_xmpp-server.b.test"}, .xmpp = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    start(b_, policy({partner("a.test", a_.port)}, "secret-b"));

    a_.router->from_gateway(frame(
        "a.test",
        "<message from='romeo@a.test/x' to='juliet@b.test' id='m1'><body>hi</body></message>"));
    run_until([&] { return !b_.to_gateway.empty(); }, "the stanza at B's gateway side");
    const auto& f = b_.to_gateway.front();
    EXPECT_EQ(f.partner, "a.test");
    EXPECT_EQ(f.local, "b.test");
    EXPECT_EQ(f.auth, AuthMethod::SaslExternal);
    EXPECT_EQ(f.partner_type, "federated");
    EXPECT_NE(f.xml.find("<body>hi</body>"), std::string::npos) << f.xml;
    EXPECT_NE(f.xml.find("from='romeo@a.test/x'"), std::string::npos) << f.xml;
    EXPECT_TRUE(a_.to_gateway.empty()) << a_.to_gateway.front().xml;

    // A second stanza rides the stream already up.
    a_.router->from_gateway(
        frame("a.test", "<message from='romeo@a.test/x' to='juliet@b.test' id='m2'/>"));
    run_until([&] { return b_.to_gateway.size() == 2; }, "the second stanza");
    auto routes = a_.router->routes();
    ASSERT_EQ(routes.size(), 1u);
    EXPECT_EQ(routes[0].state, "ready");
}

// Each side trusts only a CA the other's certificate does not come from: dialback, with B
// verifying A's key over its own outbound stream to A (XEP-0220 §2.1.2, §2.2).
TEST_F(RouterLoopTest, StanzaCrossesWithDialback) {
    TestCa ca;
    TestCa nobody({.common_name = "trusted by nobody here"});
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, nobody.ca_path());
    prepare(b_, "b.test", cb_cert, nobody.ca_path());
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    start(b_, policy({partner("a.test", a_.port)}, "secret-b"));

    a_.router->from_gateway(
        frame("a.test", "<message from='romeo@a.test/x' to='juliet@b.test' id='m1'/>"));
    run_until([&] { return !b_.to_gateway.empty(); }, "the stanza at B's gateway side");
    EXPECT_EQ(b_.to_gateway.front().auth, AuthMethod::Dialback);
    EXPECT_EQ(b_.to_gateway.front().partner, "a.test");
    EXPECT_TRUE(a_.to_gateway.empty());

    // And back: B's outbound stream to A (opened for the db:verify) now carries stanzas too.
    b_.router->from_gateway(
        frame("b.test", "<message from='juliet@b.test/y' to='romeo@a.test/x' id='r1'/>"));
    run_until([&] { return !a_.to_gateway.empty(); }, "the answer at A's gateway side");
    EXPECT_EQ(a_.to_gateway.front().auth, AuthMethod::Dialback);
    EXPECT_NE(a_.to_gateway.front().xml.find("id='r1'"), std::string::npos);
}

// The link has no credit: B holds what arrives (in order) and sends it once the link is
// writable again; while the link is down, held stanzas go back to their sender.
TEST_F(RouterLoopTest, StanzasWaitForLinkCreditThenFlowInOrder) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    GatewaySend b_link = GatewaySend::Full;
    std::size_t b_offered = 0;
    start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
    start_with(b_, policy({partner("a.test", a_.port)}, "secret-b"), [&](link::StanzaFrame& f) {
        ++b_offered;
        if (b_link == GatewaySend::Sent) b_.to_gateway.push_back(f);
        return b_link;
    });

    for (int i = 0; i < 5; ++i)
        a_.router->from_gateway(frame(
            "a.test",
            "<message from='romeo@a.test/x' to='juliet@b.test' id='m" + std::to_string(i) + "'/>"));
    run_until([&] { return b_offered >= 1; }, "B offering the first to its full link");
    // B holds what it has read and stops reading from A: nothing more is offered meanwhile.
    std::size_t offered = b_offered;
    std::uint64_t until = uv_now(&loop_) + 200;
    run_until([&] { return uv_now(&loop_) >= until; }, "200 ms");
    EXPECT_EQ(b_offered, offered) << "B went on reading from a partner while the link was full";
    EXPECT_TRUE(b_.to_gateway.empty());

    b_link = GatewaySend::Sent;
    b_.router->gateway_writable();
    run_until([&] { return b_.to_gateway.size() == 5; }, "all five at B's gateway side");
    for (int i = 0; i < 5; ++i)
        EXPECT_NE(
            b_.to_gateway[static_cast<std::size_t>(i)].xml.find("id='m" + std::to_string(i) + "'"),
            std::string::npos)
            << "out of order at " << i;

    // Now the link goes down with a stanza held: it comes back to romeo as service-unavailable.
    b_link = GatewaySend::Full;
    a_.router->from_gateway(
        frame("a.test", "<message from='romeo@a.test/x' to='juliet@b.test' id='late'/>"));
    offered = b_offered;
    run_until([&] { return b_offered > offered; }, "B offering the late one");
    b_link = GatewaySend::Down;
    b_.router->gateway_writable();
    run_until(
        [&] {
            for (const auto& f : a_.to_gateway)
                if (f.xml.find("id='late'") != std::string::npos) return true;
            return false;
        },
        "the late stanza back at A's gateway side");
    bool bounced = false;
    for (const auto& f : a_.to_gateway)
        if (f.xml.find("id='late'") != std::string::npos)
            bounced = f.xml.find("<service-unavailable") != std::string::npos &&
                      f.xml.find("type='error'") != std::string::npos;
    EXPECT_TRUE(bounced);
}

// A partner whose static route leads nowhere: the stanza comes back to the gateway as
// remote-server-not-found, naming the address that refused.
TEST_F(RouterLoopTest, UnreachablePartnerBouncesToTheGateway) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    auto cb_cert = ca.issue({.dns = {"b.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    prepare(b_, "b.test", cb_cert, ca.ca_path());
    int dead_port = b_.port;
    // b's listener goes away before anyone dials it: its port refuses connections.
    uv_close(reinterpret_cast<uv_handle_t*>(b_.listener),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    b_.listener = nullptr;
    start(a_, policy({partner("b.test", dead_port)}, "secret-a"));

    a_.router->from_gateway(frame(
        "a.test",
        "<message from='romeo@a.test/x' to='juliet@b.test' id='m1'><body>hi</body></message>"));
    run_until([&] { return !a_.to_gateway.empty(); }, "the bounce at A's gateway side");
    const auto& f = a_.to_gateway.front();
    EXPECT_EQ(f.local, "a.test");
    EXPECT_EQ(f.partner, "b.test");
    EXPECT_NE(f.xml.find("type='error'"), std::string::npos) << f.xml;
    EXPECT_NE(f.xml.find("<remote-server-not-found"), std::string::npos) << f.xml;
    EXPECT_NE(f.xml.find("to='romeo@a.test/x'"), std::string::npos) << f.xml;
    EXPECT_NE(f.xml.find("connection refused"), std::string::npos) << f.xml;
}

// A domain the policy does not admit is refused before any connection is made.
TEST_F(RouterLoopTest, StanzaToANonPartnerIsRefused) {
    TestCa ca;
    auto ca_cert = ca.issue({.dns = {"a.test"}});
    prepare(a_, "a.test", ca_cert, ca.ca_path());
    start(a_, policy({}, "secret-a"));
    a_.router->from_gateway(
        frame("a.test", "<message from='romeo@a.test/x' to='juliet@c.test' id='m1'/>"));
    run_until([&] { return !a_.to_gateway.empty(); }, "the refusal");
    EXPECT_NE(a_.to_gateway.front().xml.find("<not-allowed"), std::string::npos);
    EXPECT_TRUE(a_.router->connections().empty());
}

}  // namespace
}  // namespace fedgw::proxy
