// parse_config: defaults, every section's keys, unknown keys, wrong types and bad values, with
// the exact message an operator sees (file:line:column: key: what is wrong).
#include <gtest/gtest.h>

#include <string>

#include "common/config/config.hpp"

namespace fedgw {
namespace {

Config parse_ok(std::string_view text) {
    auto c = parse_config(text, "test.toml");
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
    return c ? *c : Config{};
}

// The full one-line message.
std::string error_of(std::string_view text) {
    auto c = parse_config(text, "test.toml");
    EXPECT_FALSE(c.has_value()) << text;
    return c ? std::string() : c.error().describe();
}

ConfigErrorCode code_of(std::string_view text) {
    auto c = parse_config(text, "test.toml");
    EXPECT_FALSE(c.has_value()) << text;
    return c ? ConfigErrorCode::InvalidValue : c.error().code;
}

TEST(ParseConfig, EmptyFileGivesDefaults) {
    const Config c = parse_ok("");
    EXPECT_EQ(c.source, "test.toml");
    EXPECT_EQ(c.log.level, log::Level::Info);
    EXPECT_EQ(c.registry.path, "/var/lib/fedgw/registry.sqlite");
    EXPECT_FALSE(c.proxy.has_value());
    EXPECT_FALSE(c.gateway.has_value());
}

TEST(ParseConfig, EmptyProxySectionGivesDefaults) {
    const Config c = parse_ok("[proxy]\n");
    ASSERT_TRUE(c.proxy.has_value());
    const ProxyConfig& p = *c.proxy;
    ASSERT_EQ(p.listen.size(), 1u);
    EXPECT_EQ(p.listen[0].to_string(), "[::]:5269");
    EXPECT_EQ(p.control_socket, "/run/fedgw/proxy.sock");
    EXPECT_EQ(p.trust_file, "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_TRUE(p.direct_tls_listen.empty()) << "no XEP-0368 port unless asked for";
    EXPECT_TRUE(p.dns_servers.empty());
    EXPECT_TRUE(p.domains.empty());
    EXPECT_FALSE(p.gateway_link.has_value());
    EXPECT_EQ(p.timers.dialback, Duration::seconds(30));
    EXPECT_EQ(p.timers.dns, Duration::seconds(10));
    EXPECT_EQ(p.timers.connect, Duration::seconds(10));
    EXPECT_EQ(p.timers.reconnect_min, Duration::seconds(1));
    EXPECT_EQ(p.timers.reconnect_max, Duration::seconds(60));
    EXPECT_EQ(p.timers.shutdown_grace, Duration::seconds(5));
    EXPECT_FALSE(c.gateway.has_value());
}

TEST(ParseConfig, EmptyGatewaySectionGivesDefaults) {
    const Config c = parse_ok("[gateway]\n");
    ASSERT_TRUE(c.gateway.has_value());
    const GatewayConfig& g = *c.gateway;
    ASSERT_EQ(g.listen.size(), 1u);
    EXPECT_EQ(g.listen[0].to_string(), "[::]:23456");
    EXPECT_EQ(g.control_socket, "/run/fedgw/gateway.sock");
    EXPECT_TRUE(g.domains.empty());
    EXPECT_TRUE(g.cert.empty());
    EXPECT_TRUE(g.proxy_name.empty());
    ASSERT_EQ(g.sip.listen.size(), 2u);
    EXPECT_EQ(g.sip.listen[0].to_string(), "udp:0.0.0.0:5070");
    EXPECT_EQ(g.sip.listen[1].to_string(), "tcp:0.0.0.0:5070");
    EXPECT_TRUE(g.sip.next_hops.empty());
    EXPECT_TRUE(g.sip.trusted.empty());
    EXPECT_FALSE(g.sip.uses_tls());
    EXPECT_EQ(g.timers.t1, Duration::millis(500));
    EXPECT_EQ(g.timers.t2, Duration::seconds(4));
    EXPECT_EQ(g.timers.t4, Duration::seconds(5));
    EXPECT_DOUBLE_EQ(g.timers.refresh_fraction, 0.5);
    EXPECT_EQ(g.timers.shutdown_grace, Duration::seconds(5));
    EXPECT_FALSE(c.proxy.has_value());
}

TEST(ParseConfig, ProxySectionValues) {
    const Config c = parse_ok(R"(
[log]
level = "debug"
[registry]
path = "/srv/fedgw/reg.sqlite"
[proxy]
listen = ["192.0.2.1:5269", "[2001:db8::1]:5270"]
control_socket = "/tmp/p.sock"
trust_file = "/etc/fedgw/partners.pem"
dns_servers = ["127.0.0.1", "127.0.0.1:5353", "[::1]:5353", "0::2"]
[[proxy.domain]]
name = "Example.COM"
cert = "/etc/fedgw/a.pem"
key = "/etc/fedgw/a.key"
[[proxy.domain]]
name = "chat.example.org"
cert = "/etc/fedgw/b.pem"
key = "/etc/fedgw/b.key"
[proxy.gateway_link]
address = "[2001:db8::2]:23456"
name = "fe.example.internal"
cert = "/c"
key = "/k"
ca = "/ca"
[proxy.timers]
dialback = "1m"
dns = "2s"
connect = "3s"
reconnect_min = "100ms"
reconnect_max = "5m"
shutdown_grace = "0s"
)");
    EXPECT_EQ(c.log.level, log::Level::Debug);
    EXPECT_EQ(c.registry.path, "/srv/fedgw/reg.sqlite");
    ASSERT_TRUE(c.proxy.has_value());
    const ProxyConfig& p = *c.proxy;
    ASSERT_EQ(p.listen.size(), 2u);
    EXPECT_EQ(p.listen[1].to_string(), "[2001:db8::1]:5270");
    EXPECT_EQ(p.control_socket, "/tmp/p.sock");
    EXPECT_EQ(p.trust_file, "/etc/fedgw/partners.pem");
    ASSERT_EQ(p.dns_servers.size(), 4u);
    EXPECT_EQ(p.dns_servers[0].to_string(), "127.0.0.1:53");
    EXPECT_EQ(p.dns_servers[1].to_string(), "127.0.0.1:5353");
    EXPECT_EQ(p.dns_servers[2].to_string(), "[::1]:5353");
    EXPECT_EQ(p.dns_servers[3].to_string(), "[::2]:53");
    ASSERT_EQ(p.domains.size(), 2u);
    EXPECT_EQ(p.domains[0].name, "example.com");
    EXPECT_EQ(p.domains[1].cert, "/etc/fedgw/b.pem");
    EXPECT_EQ(p.domains[1].key, "/etc/fedgw/b.key");
    ASSERT_TRUE(p.gateway_link.has_value());
    EXPECT_EQ(p.gateway_link->address->to_string(), "[2001:db8::2]:23456");
    EXPECT_EQ(p.gateway_link->name, "fe.example.internal");
    EXPECT_EQ(p.gateway_link->ca, "/ca");
    EXPECT_EQ(p.timers.dialback, Duration::minutes(1));
    EXPECT_EQ(p.timers.reconnect_min, Duration::millis(100));
    EXPECT_EQ(p.timers.shutdown_grace, Duration{});
}

TEST(ParseConfig, GatewaySectionValues) {
    const Config c = parse_ok(R"(
[gateway]
listen = ["10.0.0.5:23456"]
control_socket = "/run/g.sock"
domains = ["example.com", "Sip.Example.org"]
cert = "/etc/fedgw/fe.pem"
key = "/etc/fedgw/fe.key"
ca = "/etc/fedgw/ca.pem"
proxy_name = "edge.example.internal"
[gateway.sip]
listen = ["tls:[::]:5061"]
next_hops = ["tls:sip.example.com:5061", "udp:10.0.0.9:5060"]
trusted = ["10.0.0.0/8", "::1"]
tls_cert = "/s.pem"
tls_key = "/s.key"
tls_ca = "/sca.pem"
[gateway.timers]
t1 = "100ms"
t2 = "1s"
t4 = "1s"
refresh_fraction = 0.75
shutdown_grace = "1m"
)");
    ASSERT_TRUE(c.gateway.has_value());
    const GatewayConfig& g = *c.gateway;
    EXPECT_EQ(g.listen[0].to_string(), "10.0.0.5:23456");
    EXPECT_EQ(g.control_socket, "/run/g.sock");
    ASSERT_EQ(g.domains.size(), 2u);
    EXPECT_EQ(g.domains[1], "sip.example.org");
    EXPECT_EQ(g.proxy_name, "edge.example.internal");
    EXPECT_EQ(g.sip.listen[0].to_string(), "tls:[::]:5061");
    EXPECT_EQ(g.sip.next_hops[0].to_string(), "tls:sip.example.com:5061");
    EXPECT_EQ(g.sip.trusted[1].to_string(), "::1/128");
    EXPECT_TRUE(g.sip.uses_tls());
    EXPECT_EQ(g.sip.tls_ca, "/sca.pem");
    EXPECT_EQ(g.timers.t1, Duration::millis(100));
    EXPECT_DOUBLE_EQ(g.timers.refresh_fraction, 0.75);
    EXPECT_EQ(g.timers.shutdown_grace, Duration::minutes(1));
}

TEST(ParseConfig, GatewayLinkNameDefaultsToAddressHost) {
    const Config named =
        parse_ok("[proxy.gateway_link]\naddress = \"FE.example.internal:23456\"\n");
    EXPECT_EQ(named.proxy->gateway_link->name, "fe.example.internal");
    const Config ip = parse_ok("[proxy.gateway_link]\naddress = \"10.0.0.5:23456\"\n");
    EXPECT_EQ(ip.proxy->gateway_link->name, "");
}

TEST(ParseConfig, IntegerRefreshFractionIsANumber) {
    const Config c = parse_ok("[gateway.timers]\nrefresh_fraction = 0.1\n");
    EXPECT_DOUBLE_EQ(c.gateway->timers.refresh_fraction, 0.1);
    EXPECT_EQ(error_of("[gateway.timers]\nrefresh_fraction = 1\n"),
              "test.toml:2:20: gateway.timers.refresh_fraction: must be between 0.1 and 0.9, "
              "not 1");
}

TEST(ParseConfig, SyntaxErrorHasLineAndColumn) {
    auto c = parse_config("[log]\nlevel = \"info\n", "test.toml");
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, ConfigErrorCode::Syntax);
    EXPECT_EQ(c.error().line, 2u);
    EXPECT_GT(c.error().column, 0u);
    EXPECT_EQ(c.error().key, "");
    EXPECT_EQ(c.error().describe().rfind("test.toml:2:", 0), 0u) << c.error().describe();
    EXPECT_NE(c.error().message.find("TOML syntax: "), std::string::npos);
}

TEST(ParseConfig, DuplicateTomlKeyIsASyntaxError) {
    EXPECT_EQ(code_of("[log]\nlevel = \"info\"\nlevel = \"debug\"\n"), ConfigErrorCode::Syntax);
}

TEST(ParseConfig, TooLargeIsRefused) {
    const std::string big(kMaxConfigBytes + 1, '\n');
    auto c = parse_config(big, "big.toml");
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, ConfigErrorCode::TooLarge);
    EXPECT_EQ(c.error().describe(), "big.toml: larger than 1048576 bytes");
}

TEST(ParseConfig, UnknownKeySuggestsTheNearest) {
    EXPECT_EQ(error_of("[proxy]\nlisen = [\"[::]:5269\"]\n"),
              "test.toml:2:1: proxy.lisen: unknown key; did you mean \"listen\"?");
    EXPECT_EQ(error_of("[proxy.timers]\ndialbak = \"5s\"\n"),
              "test.toml:2:1: proxy.timers.dialbak: unknown key; did you mean \"dialback\"?");
    EXPECT_EQ(code_of("[log]\nlevell = \"info\"\n"), ConfigErrorCode::UnknownKey);
}

TEST(ParseConfig, UnknownTableSuggestsTheNearest) {
    EXPECT_EQ(error_of("[proxi]\n"),
              "test.toml:1:2: proxi: unknown table; did you mean \"proxy\"?");
    EXPECT_EQ(error_of("[proxy.timer]\n"),
              "test.toml:1:8: proxy.timer: unknown table; did you mean \"timers\"?");
    EXPECT_EQ(error_of("[[proxy.domains]]\n"),
              "test.toml:1:9: proxy.domains: unknown table; did you mean \"domain\"?");
}

TEST(ParseConfig, UnknownKeyWithoutNearListsTheKnownOnes) {
    EXPECT_EQ(error_of("[log]\nformat = \"json\"\n"),
              "test.toml:2:1: log.format: unknown key (expected one of: level)");
    EXPECT_EQ(error_of("dialback_secret = \"x\"\n"),
              "test.toml:1:1: dialback_secret: unknown key (expected one of: log, registry, "
              "proxy, gateway)");
}

TEST(ParseConfig, UnknownKeyInArrayOfTablesNamesTheIndex) {
    EXPECT_EQ(error_of("[[proxy.domain]]\nname = \"a.example\"\n"
                       "[[proxy.domain]]\nname = \"b.example\"\ncrt = \"/x\"\n"),
              "test.toml:5:1: proxy.domain[1].crt: unknown key; did you mean \"cert\"?");
}

TEST(ParseConfig, OddKeysAreQuotedInMessages) {
    EXPECT_EQ(error_of("[log]\n\"my key\" = 1\n"),
              "test.toml:2:1: log.\"my key\": unknown key (expected one of: level)");
}

TEST(ParseConfig, WrongTypes) {
    EXPECT_EQ(error_of("[log]\nlevel = 3\n"),
              "test.toml:2:9: log.level: must be a string, not an integer");
    EXPECT_EQ(error_of("log = \"info\"\n"), "test.toml:1:7: log: must be a table, not a string");
    EXPECT_EQ(error_of("[proxy]\nlisten = \"[::]:5269\"\n"),
              "test.toml:2:10: proxy.listen: must be an array of strings, not a string");
    EXPECT_EQ(error_of("[proxy]\nlisten = [\"[::]:5269\", 5269]\n"),
              "test.toml:2:24: proxy.listen[1]: must be a string, not an integer");
    EXPECT_EQ(error_of("[proxy.timers]\ndialback = 30\n"),
              "test.toml:2:12: proxy.timers.dialback: must be a duration string with a unit, "
              "like \"30s\", not an integer");
    EXPECT_EQ(error_of("[proxy.timers]\ndialback = 1.5\n"),
              "test.toml:2:12: proxy.timers.dialback: must be a duration string with a unit, "
              "like \"30s\", not a float");
    EXPECT_EQ(error_of("[gateway.timers]\nrefresh_fraction = \"0.5\"\n"),
              "test.toml:2:20: gateway.timers.refresh_fraction: must be a number, not a string");
    EXPECT_EQ(error_of("[registry]\npath = true\n"),
              "test.toml:2:8: registry.path: must be a string, not a boolean");
    EXPECT_EQ(error_of("[gateway]\ndomains = [[\"a\"]]\n"),
              "test.toml:2:12: gateway.domains[0]: must be a string, not an array");
    EXPECT_EQ(error_of("[gateway]\ncert = 1979-05-27\n"),
              "test.toml:2:8: gateway.cert: must be a string, not a date");
}

TEST(ParseConfig, SingleTableWhereArrayOfTablesBelongs) {
    EXPECT_EQ(error_of("[proxy.domain]\nname = \"example.com\"\n"),
              "test.toml:1:1: proxy.domain: must be an array of tables, written "
              "[[proxy.domain]], not a table");
}

TEST(ParseConfig, BadValuesNameKeyAndValue) {
    EXPECT_EQ(error_of("[log]\nlevel = \"verbose\"\n"),
              "test.toml:2:9: log.level: unknown level \"verbose\"; expected debug, info, warn or "
              "error");
    EXPECT_EQ(error_of("[proxy.timers]\ndns = \"10\"\n"),
              "test.toml:2:7: proxy.timers.dns: invalid duration \"10\": missing unit; add ms, s, "
              "m or h, like \"10s\"");
    EXPECT_EQ(error_of("[proxy.timers]\nconnect = \"-1s\"\n"),
              "test.toml:2:11: proxy.timers.connect: invalid duration \"-1s\": must not be "
              "negative");
    EXPECT_EQ(error_of("[proxy]\nlisten = [\"[::]:5269\", \"::1:5269\"]\n"),
              "test.toml:2:24: proxy.listen[1]: \"::1:5269\": an IPv6 address needs brackets, "
              "like \"[2001:db8::1]:5269\"");
    EXPECT_EQ(error_of("[[proxy.domain]]\nname = \"a.example\"\n[[proxy.domain]]\n"
                       "name = \"b.example\"\ncert = \"certs/b.pem\"\n"),
              "test.toml:5:8: proxy.domain[1].cert: \"certs/b.pem\" is not an absolute path (it "
              "must start with \"/\")");
    EXPECT_EQ(error_of("[[proxy.domain]]\nname = \"example.com.\"\n"),
              "test.toml:2:8: proxy.domain[0].name: \"example.com.\" ends with a dot; leave the "
              "dot out");
    EXPECT_EQ(error_of("[registry]\npath = \"\"\n"),
              "test.toml:2:8: registry.path: must not be empty");
    EXPECT_EQ(error_of("[registry]\npath = \"/a\\u0000b\"\n"),
              "test.toml:2:8: registry.path: must not contain a NUL character");
}

TEST(ParseConfig, ListenAddressesMustBeIpLiterals) {
    EXPECT_EQ(error_of("[proxy]\nlisten = [\"localhost:5269\"]\n"),
              "test.toml:2:11: proxy.listen[0]: \"localhost:5269\": a listen address must be an "
              "IP address and a port, like \"[::]:5269\" or \"0.0.0.0:5269\"");
    EXPECT_EQ(error_of("[gateway.sip]\nlisten = [\"udp:sip.example.com:5070\"]\n"),
              "test.toml:2:11: gateway.sip.listen[0]: \"udp:sip.example.com:5070\": a listen "
              "address must be an IP address and a port, like \"udp:0.0.0.0:5070\"");
    EXPECT_EQ(error_of("[proxy]\ndns_servers = [\"dns.example:53\"]\n"),
              "test.toml:2:16: proxy.dns_servers[0]: \"dns.example:53\": a DNS server must be an "
              "IP address with an optional port, like \"127.0.0.1\" or \"[::1]:5353\"");
}

// proxy.direct_tls_listen (XEP-0368): the listen key's syntax, may be empty, and no entry may
// share a socket with proxy.listen (the default "[::]:5269" included).
TEST(ParseConfig, DirectTlsListen) {
    Config c = parse_ok(
        "[proxy]\nlisten = [\"192.0.2.1:5269\"]\n"
        "direct_tls_listen = [\"192.0.2.1:5270\", \"[2001:db8::1]:5269\"]\n");
    ASSERT_EQ(c.proxy->direct_tls_listen.size(), 2u);
    EXPECT_EQ(c.proxy->direct_tls_listen[0].to_string(), "192.0.2.1:5270");
    EXPECT_EQ(c.proxy->direct_tls_listen[1].to_string(), "[2001:db8::1]:5269");
    c = parse_ok("[proxy]\ndirect_tls_listen = []\n");
    EXPECT_TRUE(c.proxy->direct_tls_listen.empty());
    c = parse_ok("[proxy]\ndirect_tls_listen = [\"[::]:5270\"]\n");
    ASSERT_EQ(c.proxy->direct_tls_listen.size(), 1u);
    EXPECT_EQ(c.proxy->listen[0].to_string(), "[::]:5269");

    EXPECT_EQ(error_of("[proxy]\ndirect_tls_listen = [\"localhost:5270\"]\n"),
              "test.toml:2:22: proxy.direct_tls_listen[0]: \"localhost:5270\": a listen address "
              "must be an IP address and a port, like \"[::]:5269\" or \"0.0.0.0:5269\"");
    EXPECT_EQ(error_of("[proxy]\ndirect_tls_listen = \"[::]:5270\"\n"),
              "test.toml:2:21: proxy.direct_tls_listen: must be an array of strings, not a "
              "string");
    EXPECT_EQ(error_of("[proxy]\ndirect_tls_listen = [\"[::]:5270\", \"[::]:5270\"]\n"),
              "test.toml:2:35: proxy.direct_tls_listen[1]: duplicate of "
              "proxy.direct_tls_listen[0]");
    EXPECT_EQ(error_of("[proxy]\ndirect_tls_listen = [\"[::]:5270\", \"0.0.0.0:5269\"]\n"),
              "test.toml:2:21: proxy.direct_tls_listen: \"0.0.0.0:5269\" shares its port with "
              "proxy.listen[0] \"[::]:5269\"; direct TLS (XEP-0368) needs a port of its own, "
              "like \"[::]:5270\"");
    EXPECT_EQ(error_of("[proxy]\nlisten = [\"0.0.0.0:5269\"]\n"
                       "direct_tls_listen = [\"192.0.2.1:5269\"]\n"),
              "test.toml:3:21: proxy.direct_tls_listen: \"192.0.2.1:5269\" shares its port "
              "with proxy.listen[0] \"0.0.0.0:5269\"; direct TLS (XEP-0368) needs a port of "
              "its own, like \"[::]:5270\"");
    // The same port on two different addresses is two sockets.
    c = parse_ok(
        "[proxy]\nlisten = [\"192.0.2.1:5269\"]\n"
        "direct_tls_listen = [\"192.0.2.2:5269\"]\n");
    EXPECT_EQ(c.proxy->direct_tls_listen.size(), 1u);
}

TEST(ParseConfig, EmptyAndDuplicateLists) {
    EXPECT_EQ(error_of("[proxy]\nlisten = []\n"),
              "test.toml:2:10: proxy.listen: must not be empty");
    EXPECT_EQ(error_of("[gateway.sip]\nlisten = []\n"),
              "test.toml:2:10: gateway.sip.listen: must not be empty");
    EXPECT_EQ(error_of("[proxy]\nlisten = [\"[::]:5269\", \"[0::0]:5269\"]\n"),
              "test.toml:2:24: proxy.listen[1]: duplicate of proxy.listen[0]");
    EXPECT_EQ(error_of("[proxy]\ndns_servers = [\"::1\", \"[0:0::1]:53\"]\n"),
              "test.toml:2:23: proxy.dns_servers[1]: duplicate of proxy.dns_servers[0]");
    EXPECT_EQ(error_of("[gateway]\ndomains = [\"example.com\", \"EXAMPLE.com\"]\n"),
              "test.toml:2:27: gateway.domains[1]: duplicate of gateway.domains[0]");
}

TEST(ParseConfig, DuplicateLocalDomain) {
    EXPECT_EQ(error_of("[[proxy.domain]]\nname = \"example.com\"\n"
                       "[[proxy.domain]]\nname = \"Example.com\"\n"),
              "test.toml:4:8: proxy.domain[1].name: \"example.com\" is already configured in "
              "proxy.domain[0]");
}

TEST(ParseConfig, ControlSocketPathLimit) {
    const std::string ok = "/" + std::string(106, 's');
    EXPECT_EQ(parse_ok("[proxy]\ncontrol_socket = \"" + ok + "\"\n").proxy->control_socket, ok);
    const std::string long_path = "/" + std::string(107, 's');
    EXPECT_EQ(error_of("[gateway]\ncontrol_socket = \"" + long_path + "\"\n"),
              "test.toml:2:18: gateway.control_socket: \"" + long_path +
                  "\" is longer than 107 bytes, the limit for a Unix socket path");
}

TEST(ParseConfig, TimerRanges) {
    EXPECT_EQ(error_of("[proxy.timers]\ndialback = \"0s\"\n"),
              "test.toml:2:12: proxy.timers.dialback: must be at least 1ms");
    EXPECT_EQ(error_of("[proxy.timers]\ndns = \"1h1ms\"\n"),
              "test.toml:2:7: proxy.timers.dns: must be at most 1h");
    EXPECT_EQ(error_of("[gateway.timers]\nt1 = \"2m\"\n"),
              "test.toml:2:6: gateway.timers.t1: must be at most 1m");
    EXPECT_EQ(error_of("[gateway.timers]\nrefresh_fraction = 0.05\n"),
              "test.toml:2:20: gateway.timers.refresh_fraction: must be between 0.1 and 0.9, not "
              "0.05");
    EXPECT_EQ(error_of("[gateway.timers]\nrefresh_fraction = nan\n"),
              "test.toml:2:20: gateway.timers.refresh_fraction: must be between 0.1 and 0.9, not "
              "nan");
    EXPECT_EQ(
        parse_ok("[gateway.timers]\nshutdown_grace = \"0s\"\n").gateway->timers.shutdown_grace,
        Duration{});
}

TEST(ParseConfig, TimerOrdering) {
    EXPECT_EQ(error_of("[proxy.timers]\nreconnect_min = \"2m\"\nreconnect_max = \"1m\"\n"),
              "test.toml:3:17: proxy.timers.reconnect_max: must not be less than reconnect_min "
              "(2m)");
    // Against the default reconnect_max (60s): the key that is absent gets no position.
    EXPECT_EQ(error_of("[proxy.timers]\nreconnect_min = \"2m\"\n"),
              "test.toml:1:1: proxy.timers.reconnect_max: must not be less than reconnect_min "
              "(2m)");
    EXPECT_EQ(error_of("[gateway.timers]\nt1 = \"5s\"\n"),
              "test.toml:1:1: gateway.timers.t2: must not be less than t1 (5s)");
}

TEST(ParseConfig, InlineTablesAndDottedKeysWork) {
    const Config c = parse_ok(
        "proxy.timers = { dialback = \"5s\" }\n"
        "gateway.sip.next_hops = [\"udp:127.0.0.1:5060\"]\n");
    EXPECT_EQ(c.proxy->timers.dialback, Duration::seconds(5));
    EXPECT_EQ(c.gateway->sip.next_hops.size(), 1u);
}

TEST(ParseConfig, FirstErrorInSchemaOrder) {
    // [log] is read before [proxy], whatever the order in the file.
    EXPECT_EQ(code_of("[proxy]\nlisten = 1\n[log]\nlevel = \"x\"\n"),
              ConfigErrorCode::InvalidValue);
}

TEST(ConfigError, DescribeOmitsWhatIsUnknown) {
    ConfigError e{ConfigErrorCode::Missing, "f.toml", "gateway.cert", 0, 0, "missing; x"};
    EXPECT_EQ(e.describe(), "f.toml: gateway.cert: missing; x");
    e.line = 3;
    EXPECT_EQ(e.describe(), "f.toml:3: gateway.cert: missing; x");
    e.column = 9;
    EXPECT_EQ(e.describe(), "f.toml:3:9: gateway.cert: missing; x");
    e.key.clear();
    EXPECT_EQ(e.describe(), "f.toml:3:9: missing; x");
    EXPECT_EQ(describe(ConfigErrorCode::UnknownKey), "unknown key");
    EXPECT_EQ(describe(ConfigErrorCode::FileProblem), "unusable file");
}

}  // namespace
}  // namespace fedgw
