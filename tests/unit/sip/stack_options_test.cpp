// stack_options_from_config: [gateway.sip] and [gateway.timers] as SipStackOptions. No
// sockets (the stack is not created).
#include <gtest/gtest.h>

#include "gateway/sip/sip_stack.hpp"

namespace fedgw::gateway::sip {
namespace {

TEST(StackOptions, FromConfig) {
    const auto parsed = parse_config(R"(
[gateway]
domains = ["sip.example"]
cert = "/etc/c.pem"
key = "/etc/k.pem"
ca = "/etc/ca.pem"
proxy_name = "edge.example"
[gateway.sip]
listen = ["udp:127.0.0.1:5070", "tcp:127.0.0.1:5070"]
next_hops = ["udp:192.0.2.10:5060", "tcp:sip.example:5060"]
trusted = ["10.0.0.0/8"]
[gateway.timers]
t1 = "100ms"
t2 = "1s"
t4 = "2s"
)",
                                     "test.toml");
    ASSERT_TRUE(parsed.has_value()) << parsed.error().describe();
    const GatewayConfig& g = *parsed->gateway;
    const SipStackOptions o = stack_options_from_config(g.sip, g.timers);
    ASSERT_EQ(o.listen.size(), 2u);
    EXPECT_EQ(o.listen[1].to_string(), "tcp:127.0.0.1:5070");
    ASSERT_EQ(o.next_hops.size(), 2u);
    EXPECT_FALSE(o.next_hops[1].address.is_ip());
    ASSERT_EQ(o.trusted.size(), 1u);
    EXPECT_EQ(o.timers.t1_ms, 100u);
    EXPECT_EQ(o.timers.t2_ms, 1000u);
    EXPECT_EQ(o.timers.t4_ms, 2000u);
    EXPECT_EQ(o.tls_server, nullptr);
}

}  // namespace
}  // namespace fedgw::gateway::sip
