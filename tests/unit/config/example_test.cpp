// config/fedgw.toml.example stays loadable and truthful: it parses, passes validation for both
// roles, every optional setting it shows equals the built-in default it claims to be, and the
// settings it shows disabled ("#key = value") parse too once enabled. meson passes the file's
// path in FEDGW_EXAMPLE_CONFIG.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "common/config/config.hpp"

namespace fedgw {
namespace {

std::string example_path() {
    const char* p = std::getenv("FEDGW_EXAMPLE_CONFIG");
    EXPECT_NE(p, nullptr) << "FEDGW_EXAMPLE_CONFIG is not set (run through meson test)";
    return p != nullptr ? p : "";
}

Config load_example() {
    auto c = load_config(example_path());
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
    return c ? *c : Config{};
}

TEST(ExampleConfig, LoadsAndValidatesForBothRoles) {
    const Config c = load_example();
    auto proxy = validate(c, Role::Proxy);
    EXPECT_TRUE(proxy.has_value()) << (proxy ? "" : proxy.error().describe());
    auto gateway = validate(c, Role::Gateway);
    EXPECT_TRUE(gateway.has_value()) << (gateway ? "" : gateway.error().describe());
}

TEST(ExampleConfig, OptionalSettingsShowTheDefaults) {
    const Config c = load_example();
    EXPECT_EQ(c.log.level, LogConfig{}.level);
    EXPECT_EQ(c.registry.path, RegistryConfig{}.path);

    ASSERT_TRUE(c.proxy.has_value());
    const ProxyConfig defaults;
    EXPECT_EQ(c.proxy->listen, defaults.listen);
    EXPECT_EQ(c.proxy->direct_tls_listen, defaults.direct_tls_listen);
    EXPECT_EQ(c.proxy->control_socket, defaults.control_socket);
    EXPECT_EQ(c.proxy->trust_file, defaults.trust_file);
    EXPECT_EQ(c.proxy->dns_servers, defaults.dns_servers);
    EXPECT_EQ(c.proxy->timers, defaults.timers);

    ASSERT_TRUE(c.gateway.has_value());
    const GatewayConfig gw;
    EXPECT_EQ(c.gateway->listen, gw.listen);
    EXPECT_EQ(c.gateway->control_socket, gw.control_socket);
    EXPECT_EQ(c.gateway->sip.listen, gw.sip.listen);
    EXPECT_EQ(c.gateway->sip.trusted, gw.sip.trusted);
    EXPECT_EQ(c.gateway->timers, gw.timers);
}

TEST(ExampleConfig, RequiredSettingsHoldTheExampleValues) {
    const Config c = load_example();
    ASSERT_TRUE(c.proxy.has_value());
    ASSERT_EQ(c.proxy->domains.size(), 1u);
    EXPECT_EQ(c.proxy->domains[0].name, "example.com");
    ASSERT_TRUE(c.proxy->gateway_link.has_value());
    EXPECT_EQ(c.proxy->gateway_link->address->to_string(), "frontend.example.internal:23456");
    EXPECT_EQ(c.proxy->gateway_link->name, "frontend.example.internal");  // from address
    ASSERT_TRUE(c.gateway.has_value());
    EXPECT_EQ(c.gateway->domains, std::vector<std::string>{"example.com"});
    EXPECT_EQ(c.gateway->proxy_name, "edge.example.internal");
    ASSERT_EQ(c.gateway->sip.next_hops.size(), 1u);
    EXPECT_EQ(c.gateway->sip.next_hops[0].to_string(), "udp:127.0.0.1:5060");
}

TEST(ExampleConfig, DisabledSettingsParseWhenEnabled) {
    std::ifstream in(example_path());
    ASSERT_TRUE(in) << example_path();
    std::stringstream text;
    text << in.rdbuf();
    // "#key = value" (no space after '#') marks a setting left out on purpose.
    std::string enabled;
    int count = 0;
    std::string line;
    while (std::getline(text, line)) {
        const std::size_t eq = line.find(" = ");
        const bool disabled =
            line.size() > 1 && line[0] == '#' && eq != std::string::npos && eq > 1 &&
            std::all_of(line.begin() + 1, line.begin() + static_cast<long>(eq),
                        [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
        if (disabled) ++count;
        enabled += (disabled ? line.substr(1) : line) + "\n";
    }
    EXPECT_EQ(count, 4);  // gateway_link.name and the three SIP TLS files

    auto c = parse_config(enabled, "example (enabled)");
    ASSERT_TRUE(c.has_value()) << c.error().describe();
    EXPECT_TRUE(validate(*c, Role::Proxy).has_value());
    EXPECT_TRUE(validate(*c, Role::Gateway).has_value());
    EXPECT_EQ(c->proxy->gateway_link->name, "frontend.example.internal");
    EXPECT_EQ(c->gateway->sip.tls_cert, "/etc/fedgw/tls/sip.example.com.pem");
    EXPECT_EQ(c->gateway->sip.tls_key, "/etc/fedgw/tls/sip.example.com.key");
    EXPECT_EQ(c->gateway->sip.tls_ca, "/etc/fedgw/tls/sip-ca.pem");
}

}  // namespace
}  // namespace fedgw
