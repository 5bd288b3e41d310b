// validate(): each role's required settings; check_files() and load_config() against files in
// a private temporary directory.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/config/config.hpp"

namespace fedgw {
namespace {

const char kProxy[] = R"(
[[proxy.domain]]
name = "example.com"
cert = "/tls/example.com.pem"
key = "/tls/example.com.key"
[proxy.gateway_link]
address = "frontend.example.internal:23456"
cert = "/tls/edge.pem"
key = "/tls/edge.key"
ca = "/tls/ca.pem"
)";

const char kGateway[] = R"(
[gateway]
domains = ["example.com"]
cert = "/tls/fe.pem"
key = "/tls/fe.key"
ca = "/tls/ca.pem"
proxy_name = "edge.example.internal"
[gateway.sip]
next_hops = ["udp:127.0.0.1:5060"]
)";

Config parse_ok(const std::string& text) {
    auto c = parse_config(text, "test.toml");
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
    return c ? *c : Config{};
}

std::string validate_error(const std::string& text, Role role) {
    auto v = validate(parse_ok(text), role);
    EXPECT_FALSE(v.has_value()) << text;
    if (v) return {};
    EXPECT_EQ(v.error().code, ConfigErrorCode::Missing);
    return v.error().describe();
}

// Drops the line that starts with `prefix` (the first one).
std::string without(std::string text, const std::string& prefix) {
    const std::size_t at = text.find("\n" + prefix);
    EXPECT_NE(at, std::string::npos) << prefix;
    const std::size_t end = text.find('\n', at + 1);
    text.erase(at, end - at);
    return text;
}

TEST(Validate, CompleteSectionsPass) {
    EXPECT_TRUE(validate(parse_ok(kProxy), Role::Proxy).has_value());
    EXPECT_TRUE(validate(parse_ok(kGateway), Role::Gateway).has_value());
    const Config both = parse_ok(std::string(kProxy) + kGateway);
    EXPECT_TRUE(validate(both, Role::Proxy).has_value());
    EXPECT_TRUE(validate(both, Role::Gateway).has_value());
}

TEST(Validate, EachRoleNeedsOnlyItsOwnSection) {
    // A proxy host need not carry [gateway], and an incomplete [gateway] does not stop it.
    EXPECT_TRUE(validate(parse_ok(std::string(kProxy) + "[gateway]\n"), Role::Proxy).has_value());
    EXPECT_TRUE(validate(parse_ok(std::string(kGateway) + "[proxy]\n"), Role::Gateway).has_value());
}

TEST(Validate, MissingSection) {
    EXPECT_EQ(validate_error(kGateway, Role::Proxy),
              "test.toml: proxy: missing; fedgw-proxy needs a [proxy] section");
    EXPECT_EQ(validate_error(kProxy, Role::Gateway),
              "test.toml: gateway: missing; fedgw-gateway needs a [gateway] section");
}

TEST(Validate, ProxyRequirements) {
    EXPECT_EQ(validate_error("[proxy]\n", Role::Proxy),
              "test.toml: proxy.domain: missing; add a [[proxy.domain]] table for each local XMPP "
              "domain, with its name, cert and key");
    EXPECT_EQ(validate_error(without(kProxy, "name = "), Role::Proxy),
              "test.toml: proxy.domain[0].name: missing; the local XMPP domain this entry serves");
    EXPECT_EQ(validate_error(without(kProxy, "cert = \"/tls/example"), Role::Proxy),
              "test.toml: proxy.domain[0].cert: missing; the certificate chain (PEM) for "
              "example.com");
    EXPECT_EQ(validate_error(without(kProxy, "key = \"/tls/example"), Role::Proxy),
              "test.toml: proxy.domain[0].key: missing; the private key (PEM) for example.com");
    const std::string no_link = kProxy;
    EXPECT_EQ(validate_error(no_link.substr(0, no_link.find("[proxy.gateway_link]")), Role::Proxy),
              "test.toml: proxy.gateway_link: missing; add [proxy.gateway_link] with the gateway's "
              "address and the internal CA certificates");
    EXPECT_EQ(validate_error(without(kProxy, "address = "), Role::Proxy),
              "test.toml: proxy.gateway_link.address: missing; the gateway's host:port, like "
              "\"frontend.example.internal:23456\"");
    EXPECT_EQ(validate_error(without(kProxy, "cert = \"/tls/edge"), Role::Proxy),
              "test.toml: proxy.gateway_link.cert: missing; the proxy's client certificate (PEM) "
              "from the internal CA");
    EXPECT_EQ(validate_error(without(kProxy, "key = \"/tls/edge"), Role::Proxy),
              "test.toml: proxy.gateway_link.key: missing; the private key (PEM) for cert");
    EXPECT_EQ(validate_error(without(kProxy, "ca = "), Role::Proxy),
              "test.toml: proxy.gateway_link.ca: missing; the internal CA certificate (PEM) that "
              "signed the gateway's certificate");
}

TEST(Validate, GatewayLinkByIpAddressNeedsAName) {
    std::string text = kProxy;
    text.replace(text.find("frontend.example.internal"), 25, "10.0.0.5");
    EXPECT_EQ(validate_error(text, Role::Proxy),
              "test.toml: proxy.gateway_link.name: missing; the address is an IP address, so give "
              "the name the gateway's certificate carries");
    text += "name = \"frontend.example.internal\"\n";
    EXPECT_TRUE(validate(parse_ok(text), Role::Proxy).has_value());
}

TEST(Validate, GatewayRequirements) {
    EXPECT_EQ(validate_error(without(kGateway, "domains = "), Role::Gateway),
              "test.toml: gateway.domains: missing; list the SIP/XMPP domains the gateway fronts, "
              "like [\"example.com\"]");
    std::string empty_domains = kGateway;
    empty_domains.replace(empty_domains.find("[\"example.com\"]"), 15, "[]");
    EXPECT_EQ(validate_error(empty_domains, Role::Gateway),
              "test.toml: gateway.domains: missing; list the SIP/XMPP domains the gateway fronts, "
              "like [\"example.com\"]");
    EXPECT_EQ(validate_error(without(kGateway, "cert = "), Role::Gateway),
              "test.toml: gateway.cert: missing; the gateway's server certificate (PEM) from the "
              "internal CA");
    EXPECT_EQ(validate_error(without(kGateway, "key = "), Role::Gateway),
              "test.toml: gateway.key: missing; the private key (PEM) for cert");
    EXPECT_EQ(validate_error(without(kGateway, "ca = "), Role::Gateway),
              "test.toml: gateway.ca: missing; the internal CA certificate (PEM) that signed the "
              "proxy's certificate");
    EXPECT_EQ(validate_error(without(kGateway, "proxy_name = "), Role::Gateway),
              "test.toml: gateway.proxy_name: missing; the name the proxy's certificate must "
              "carry");
    EXPECT_EQ(validate_error(without(kGateway, "next_hops = "), Role::Gateway),
              "test.toml: gateway.sip.next_hops: missing; where SIP requests go, like "
              "[\"udp:127.0.0.1:5060\"]");
}

TEST(Validate, SipTlsNeedsItsFiles) {
    std::string text = kGateway;
    text.replace(text.find("udp:"), 4, "tls:");
    EXPECT_EQ(validate_error(text, Role::Gateway),
              "test.toml: gateway.sip.tls_cert: missing; the SIP TLS certificate (PEM) (a tls "
              "transport is used in gateway.sip)");
    text += "tls_cert = \"/s.pem\"\n";
    EXPECT_EQ(validate_error(text, Role::Gateway),
              "test.toml: gateway.sip.tls_key: missing; the private key (PEM) for tls_cert (a tls "
              "transport is used in gateway.sip)");
    text += "tls_key = \"/s.key\"\n";
    EXPECT_EQ(validate_error(text, Role::Gateway),
              "test.toml: gateway.sip.tls_ca: missing; the CA certificates (PEM) for the SIP "
              "platform's certificates (a tls transport is used in gateway.sip)");
    text += "tls_ca = \"/ca.pem\"\n";
    EXPECT_TRUE(validate(parse_ok(text), Role::Gateway).has_value());
    // A tls listener alone also needs them.
    EXPECT_EQ(
        validate_error(std::string(kGateway) + "listen = [\"tls:0.0.0.0:5061\"]\n", Role::Gateway),
        "test.toml: gateway.sip.tls_cert: missing; the SIP TLS certificate (PEM) (a tls "
        "transport is used in gateway.sip)");
}

TEST(Validate, RoleNames) {
    EXPECT_EQ(role_name(Role::Proxy), "proxy");
    EXPECT_EQ(role_name(Role::Gateway), "gateway");
}

// A private directory under $TMPDIR, removed at the end of the test.
class Files : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "fedgw-config-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        std::filesystem::create_directory(dir_ / "tls");
        std::filesystem::create_directory(dir_ / "run");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string path(const std::string& rel) const { return (dir_ / rel).string(); }
    void write(const std::string& rel, const std::string& content) const {
        std::ofstream(dir_ / rel) << content;
    }
    // kProxy/kGateway with every absolute path moved under dir_.
    std::string rooted(std::string text) const {
        for (std::size_t at = 0; (at = text.find("\"/", at)) != std::string::npos; at += 2) {
            text.insert(at + 1, dir_.string());
        }
        return text;
    }
    // Both sections, every path under dir_; the text ends inside [gateway.sip].
    std::string all_files() const {
        std::string gateway = kGateway;
        gateway.insert(gateway.find("[gateway]\n") + 10, "control_socket = \"/run/g.sock\"\n");
        return rooted(
            "[registry]\npath = \"/reg.sqlite\"\n"
            "[proxy]\ncontrol_socket = \"/run/p.sock\"\n"
            "trust_file = \"/tls/trust.pem\"\n" +
            std::string(kProxy) + gateway);
    }
    void write_all() const {
        for (const char* f :
             {"tls/example.com.pem", "tls/example.com.key", "tls/edge.pem", "tls/edge.key",
              "tls/ca.pem", "tls/fe.pem", "tls/fe.key", "tls/trust.pem"}) {
            write(f, "pem\n");
        }
    }

    std::filesystem::path dir_;
};

TEST_F(Files, AllPresentPass) {
    write_all();
    const Config c = parse_ok(all_files());
    auto p = check_files(c, Role::Proxy);
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().describe());
    auto g = check_files(c, Role::Gateway);
    EXPECT_TRUE(g.has_value()) << (g ? "" : g.error().describe());
}

TEST_F(Files, MissingFileNamesTheKey) {
    write_all();
    std::filesystem::remove(dir_ / "tls/edge.key");
    auto r = check_files(parse_ok(all_files()), Role::Proxy);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ConfigErrorCode::FileProblem);
    EXPECT_EQ(r.error().describe(),
              "test.toml: proxy.gateway_link.key: \"" + path("tls/edge.key") + "\" does not exist");
    // The gateway does not use that file.
    EXPECT_TRUE(check_files(parse_ok(all_files()), Role::Gateway).has_value());
}

TEST_F(Files, DirectoryIsNotAFile) {
    write_all();
    std::filesystem::remove(dir_ / "tls/fe.pem");
    std::filesystem::create_directory(dir_ / "tls/fe.pem");
    auto r = check_files(parse_ok(all_files()), Role::Gateway);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().describe(),
              "test.toml: gateway.cert: \"" + path("tls/fe.pem") + "\" is a directory, not a file");
}

TEST_F(Files, SocketAndRegistryDirectoriesMustExist) {
    write_all();
    std::filesystem::remove(dir_ / "run");
    auto r = check_files(parse_ok(all_files()), Role::Gateway);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().describe(), "test.toml: gateway.control_socket: the directory \"" +
                                        path("run") + "\" for \"" + path("run/g.sock") +
                                        "\" does not exist");
    std::string moved = all_files();
    moved.replace(moved.find(path("reg.sqlite")), path("reg.sqlite").size(),
                  path("nowhere/reg.sqlite"));
    auto reg = check_files(parse_ok(moved), Role::Proxy);
    ASSERT_FALSE(reg.has_value());
    EXPECT_EQ(reg.error().key, "registry.path");
}

TEST_F(Files, SipTlsFilesCheckedOnlyWhenUsed) {
    write_all();
    std::string text = all_files() + "tls_cert = \"/nonexistent/sip.pem\"\n";
    EXPECT_TRUE(check_files(parse_ok(text), Role::Gateway).has_value());
    text.replace(text.find("udp:127"), 4, "tls:");
    text += "tls_key = \"/nonexistent/sip.key\"\ntls_ca = \"/nonexistent/ca.pem\"\n";
    auto r = check_files(parse_ok(text), Role::Gateway);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().describe(),
              "test.toml: gateway.sip.tls_cert: \"/nonexistent/sip.pem\" does not exist");
}

TEST_F(Files, LoadConfigReadsTheFile) {
    write("fedgw.toml", "[log]\nlevel = \"warn\"\n");
    auto c = load_config(path("fedgw.toml"));
    ASSERT_TRUE(c.has_value()) << c.error().describe();
    EXPECT_EQ(c->log.level, log::Level::Warn);
    EXPECT_EQ(c->source, path("fedgw.toml"));
}

TEST_F(Files, LoadConfigNamesTheFileInErrors) {
    write("fedgw.toml", "[log]\nlevel = \"loud\"\n");
    auto c = load_config(path("fedgw.toml"));
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().describe(),
              path("fedgw.toml") +
                  ":2:9: log.level: unknown level \"loud\"; expected debug, info, warn or error");
}

TEST_F(Files, LoadConfigUnreadable) {
    auto missing = load_config(path("absent.toml"));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ConfigErrorCode::Unreadable);
    EXPECT_EQ(missing.error().describe(),
              path("absent.toml") + ": cannot open: No such file or directory");
    auto dir = load_config(path("tls"));
    ASSERT_FALSE(dir.has_value());
    EXPECT_EQ(dir.error().describe(), path("tls") + ": cannot read: Is a directory");
}

TEST_F(Files, LoadConfigTooLarge) {
    write("big.toml", std::string(kMaxConfigBytes + 1, '#'));
    auto c = load_config(path("big.toml"));
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, ConfigErrorCode::TooLarge);
}

TEST_F(Files, LoadConfigForRunsEveryStep) {
    write_all();
    write("fedgw.toml", all_files());
    auto ok = load_config_for(Role::Proxy, path("fedgw.toml"));
    EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().describe());

    write("incomplete.toml", "[proxy]\n");
    auto incomplete = load_config_for(Role::Proxy, path("incomplete.toml"));
    ASSERT_FALSE(incomplete.has_value());
    EXPECT_EQ(incomplete.error().code, ConfigErrorCode::Missing);

    std::filesystem::remove(dir_ / "tls/ca.pem");
    auto no_ca = load_config_for(Role::Gateway, path("fedgw.toml"));
    ASSERT_FALSE(no_ca.has_value());
    EXPECT_EQ(no_ca.error().code, ConfigErrorCode::FileProblem);
    EXPECT_EQ(no_ca.error().key, "gateway.ca");
}

}  // namespace
}  // namespace fedgw
