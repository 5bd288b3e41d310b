// Loop tier for registry changes on live streams (issue 3): when a partner is removed, blocked
// or disabled, or its settings no longer allow how its stream authenticated, the Router closes
// its streams with a policy-violation stream error and an s2s.refused log line naming the
// domain and the rule; stanzas for it are refused from then on. (ProxyServer feeds the Router
// every new policy: from the registry file it polls and from the gateway's snapshots; its own
// test covers the file path end to end.)
//
// Loop-bound test: real sockets on 127.0.0.1 (router_fixture.hpp).
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;

class RegistryChangeTest : public RouterLoopTest {
  protected:
    void federate(bool dialback) {
        auto ca_cert = ca_.issue({.dns = {"a.test"}});
        auto cb_cert = ca_.issue({.dns = {"b.test"}});
        const std::string trust = dialback ? nobody_.ca_path() : ca_.ca_path();
        prepare(a_, "a.test", ca_cert, trust);
        prepare(b_, "b.test", cb_cert, trust);
        start(a_, policy({partner("b.test", b_.port)}, "secret-a"));
        start(b_, policy({partner("a.test", a_.port)}, "secret-b"));
        a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
        run_until([&] { return b_.to_gateway.size() == 1; }, "the first stanza at B");
        EXPECT_EQ(b_.to_gateway.front().auth,
                  dialback ? AuthMethod::Dialback : AuthMethod::SaslExternal);
    }

    TestCa ca_;
    TestCa nobody_{{.common_name = "trusted by nobody here"}};
};

TEST_F(RegistryChangeTest, RemovedPartnerIsDisconnectedAndRefused) {
    federate(false);
    ASSERT_EQ(b_.live(Direction::Inbound), 1u);
    auto p = policy({}, "secret-b");
    p.version = 2;
    b_.router->update_policy(p);
    run_until([&] { return b_.live(Direction::Inbound) == 0; }, "B closing a.test's stream");
    EXPECT_EQ(
        logged({"s2s.refused", "domain=a.test", "rule=not-in-allow-list", "\"registry change\""}),
        1u);
    EXPECT_EQ(
        logged({"s2s.stream_closed", "direction=in", "policy-violation", "no longer admitted"}),
        1u);
    run_until([&] { return a_.live(Direction::Outbound) == 0; }, "A seeing the stream end");

    // A tries again: B refuses the new stream, and romeo learns it.
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m2")));
    run_until([&] { return a_.count("id='m2'") == 1; }, "the refusal back at A");
    EXPECT_NE(a_.to_gateway.back().xml.find("type='error'"), std::string::npos);
    EXPECT_EQ(b_.to_gateway.size(), 1u);
}

TEST_F(RegistryChangeTest, BlockedPartnerIsDisconnectedOnOurOutboundSideToo) {
    federate(false);
    auto p = policy({partner("b.test", b_.port)}, "secret-a");
    p.blocked.push_back({"b.test", "abuse report 42"});
    p.version = 2;
    a_.router->update_policy(p);
    run_until([&] { return a_.live(Direction::Outbound) == 0; }, "A closing its stream to b");
    EXPECT_EQ(logged({"s2s.refused", "direction=out", "domain=b.test", "rule=blocked",
                      "abuse report 42"}),
              1u);
    run_until([&] { return b_.live(Direction::Inbound) == 0; }, "B seeing the stream end");

    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m2")));
    run_until([&] { return a_.count("id='m2'") == 1; }, "the refusal at A's gateway side");
    EXPECT_NE(a_.to_gateway.back().xml.find("<not-allowed"), std::string::npos);
    EXPECT_TRUE(a_.conns(Direction::Outbound).empty()) << "no connection was attempted";
}

TEST_F(RegistryChangeTest, DisabledPartnerIsDisconnected) {
    federate(false);
    auto a = partner("a.test", a_.port);
    a.enabled = false;
    auto p = policy({a}, "secret-b");
    p.version = 2;
    b_.router->update_policy(p);
    run_until([&] { return b_.live(Direction::Inbound) == 0; }, "B closing a.test's stream");
    EXPECT_EQ(logged({"s2s.refused", "domain=a.test", "rule=partner-disabled"}), 1u);
}

// The partner's stream authenticated with dialback; the operator now requires SASL for it.
TEST_F(RegistryChangeTest, TightenedSettingsCloseAStreamTheyNoLongerAllow) {
    federate(true);
    auto a = partner("a.test", a_.port);
    a.sasl = registry::Negotiation::Required;
    auto p = policy({a}, "secret-b");
    p.version = 2;
    b_.router->update_policy(p);
    run_until([&] { return b_.live(Direction::Inbound) == 0; }, "B closing the dialback stream");
    EXPECT_EQ(logged({"s2s.refused", "direction=in", "domain=a.test", "rule=dialback-not-allowed"}),
              1u);
    // B's own stream to a.test authenticated with dialback too: it goes as well.
    run_until([&] { return b_.live(Direction::Outbound) == 0; }, "B closing its dialback stream");
}

// A change that does not concern the partner leaves its stream alone.
TEST_F(RegistryChangeTest, UnrelatedChangeKeepsTheStream) {
    federate(false);
    auto p = policy({partner("a.test", a_.port), partner("c.test", 0)}, "secret-b");
    p.blocked.push_back({"evil.test", ""});
    p.version = 2;
    b_.router->update_policy(p);
    run_for(200);
    EXPECT_EQ(b_.live(Direction::Inbound), 1u);
    EXPECT_EQ(logged({"s2s.refused"}), 0u);
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m2")));
    run_until([&] { return b_.to_gateway.size() == 2; }, "the next stanza on the same stream");
}

}  // namespace
}  // namespace fedgw::proxy
