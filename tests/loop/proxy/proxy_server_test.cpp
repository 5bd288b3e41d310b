// Loop tier for the assembled ProxyServer: its configuration built in the test (listener on
// 127.0.0.1 port 0, a registry file in a temporary directory, the control socket), a real
// LinkServer standing in for the gateway, and a Router playing the partner a.test. The control
// socket's `status` (CONTROL_SPEC) is read with the blocking query() client from a second
// thread and checked field by field; removing the partner from the registry file closes its
// streams at the next poll; a second ProxyServer on the same control socket is refused. With
// [proxy] direct_tls_listen, a.test finds the XEP-0368 port through a dnsmasq and its stanza
// arrives over direct TLS; status marks the listener and the stream direct_tls.
//
// Loop-bound test: real sockets on 127.0.0.1, certificates from the throwaway TestCa.
#include <filesystem>

#include "common/control/control_client.hpp"
#include "common/linkio/link_server.hpp"
#include "common/registry/registry_store.hpp"
#include "proxy/server/proxy_server.hpp"
#include "tests/loop/proxy/dnsmasq.hpp"
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;
using namespace std::chrono_literals;

HostPort loopback(std::uint16_t port) {
    return HostPort{"127.0.0.1", port, *parse_ip_address("127.0.0.1")};
}

class ProxyServerTest : public RouterLoopTest {
  protected:
    void SetUp() override {
        RouterLoopTest::SetUp();
        char tmpl[] = "/tmp/fedgw-proxy-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        RouterLoopTest::TearDown();
        std::filesystem::remove_all(dir_);
    }
    void stop_extra() override {
        if (proxy_) proxy_->stop();
        if (gateway_) gateway_->close("test over");
    }
    void release_extra() override {
        proxy_.reset();
        gateway_.reset();
    }

    void start_gateway() {
        link::LinkServerOptions o;
        o.listen = {loopback(0)};
        o.cert_file = gateway_cert_.chain_path;
        o.key_file = gateway_cert_.key_path;
        o.ca_file = ca_.ca_path();
        o.proxy_name = "proxy.test";
        link::LinkServerCallbacks cb;
        cb.on_up = [this](link::ConnId id, const link::Hello&) { gateway_conn_ = id; };
        cb.on_down = [](link::ConnId, const link::CloseReason&) {};
        cb.on_stanza = [this](link::ConnId id, link::StanzaFrame f) {
            at_gateway_.push_back(std::move(f));
            gateway_->stanza_done(id);
        };
        cb.on_writable = [](link::ConnId) {};
        auto s = link::LinkServer::create(&loop_, o, cb);
        ASSERT_TRUE(s.has_value()) << s.error().describe();
        gateway_ = std::move(*s);
    }

    Config proxy_config() {
        Config c;
        c.source = "test.toml";
        c.registry.path = dir_ + "/registry.sqlite";
        ProxyConfig& p = c.proxy.emplace();
        p.listen = {loopback(0)};
        p.control_socket = dir_ + "/proxy.sock";
        p.trust_file = ca_.ca_path();
        p.dns_servers = {loopback(9)};
        p.domains = {LocalDomain{"b.test", b_cert_.chain_path, b_cert_.key_path}};
        GatewayLink gl;
        gl.address = gateway_->local_addresses().front();
        gl.name = "gateway.test";
        gl.cert = link_cert_.chain_path;
        gl.key = link_cert_.key_path;
        gl.ca = ca_.ca_path();
        p.gateway_link = gl;
        p.timers.reconnect_min = Duration::millis(100);
        p.timers.reconnect_max = Duration::millis(500);
        p.timers.shutdown_grace = Duration::millis(1000);
        return c;
    }

    int proxy_port(std::size_t listener = 0) {
        std::string a = proxy_->status()["listeners"][listener]["address"];
        return std::stoi(a.substr(a.rfind(':') + 1));
    }

    nlohmann::json status() {
        Result<nlohmann::json, control::ControlError> r =
            Unexpected(control::ControlError{"not run"});
        in_thread([&] { r = control::query(dir_ + "/proxy.sock", "status"); });
        EXPECT_TRUE(r.has_value()) << r.error().text;
        return r ? *r : nlohmann::json();
    }

    TestCa ca_;
    IssuedCert b_cert_ = ca_.issue({.dns = {"b.test"}});
    IssuedCert link_cert_ = ca_.issue({.dns = {"proxy.test"}});
    IssuedCert gateway_cert_ = ca_.issue({.dns = {"gateway.test"}});
    std::string dir_;
    std::unique_ptr<link::LinkServer> gateway_;
    std::optional<link::ConnId> gateway_conn_;
    std::vector<link::StanzaFrame> at_gateway_;
    std::unique_ptr<ProxyServer> proxy_;
};

TEST_F(ProxyServerTest, StatusShowsListenersLinkStreamsDomainsAndRegistry) {
    start_gateway();
    // The registry file: a.test is a partner, at A's listener.
    auto a_cert = ca_.issue({.dns = {"a.test"}});
    prepare(a_, "a.test", a_cert, ca_.ca_path());
    {
        auto store = registry::RegistryStore::open(dir_ + "/registry.sqlite");
        ASSERT_TRUE(store.has_value()) << store.error().describe();
        auto added = store->add_partner(partner("a.test", a_.port));
        ASSERT_TRUE(added.has_value()) << added.error().describe();
    }
    auto p = ProxyServer::start(&loop_, proxy_config(), "test.toml");
    ASSERT_TRUE(p.has_value()) << p.error();
    proxy_ = std::move(*p);
    start(a_, policy({partner("b.test", proxy_port())}, "secret-a"));
    run_until([&] { return gateway_conn_.has_value(); }, "the link up");

    // In: a.test -> b.test reaches the gateway. Out: the gateway answers to a.test.
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
    run_until([&] { return at_gateway_.size() == 1; }, "the stanza at the gateway");
    EXPECT_EQ(at_gateway_[0].partner, "a.test");
    link::StanzaFrame back;
    back.seq = 1;
    back.xml = message("juliet@b.test/sip", "romeo@a.test/x", "r1");
    ASSERT_TRUE(gateway_->send_stanza(*gateway_conn_, back).has_value());
    run_until([&] { return a_.count("id='r1'") == 1; }, "the answer at a.test");

    nlohmann::json s = status();
    EXPECT_EQ(s["service"], "fedgw-proxy");
    EXPECT_EQ(s["version"], FEDGW_VERSION);
    EXPECT_EQ(s["pid"], static_cast<std::int64_t>(::getpid()));
    EXPECT_TRUE(s["uptime_s"].is_number_unsigned());
    ASSERT_EQ(s["listeners"].size(), 1u);
    EXPECT_EQ(s["listeners"][0]["address"], "127.0.0.1:" + std::to_string(proxy_port()));

    const auto& link = s["link"];
    EXPECT_EQ(link["state"], "up");
    EXPECT_EQ(link["remote"], gateway_->local_addresses().front().to_string());
    EXPECT_EQ(link["tls_version"], "TLSv1.3");
    EXPECT_FALSE(link["cipher"].get<std::string>().empty());
    EXPECT_TRUE(link["since_s"].is_number());
    EXPECT_EQ(link["stanzas_out"], 1);
    EXPECT_EQ(link["stanzas_in"], 1);

    nlohmann::json in, out;
    for (const auto& st : s["streams"]) {
        if (st["direction"] == "in") in = st;
        if (st["direction"] == "out") out = st;
    }
    ASSERT_TRUE(in.is_object()) << s.dump(2);
    EXPECT_EQ(in["local_domain"], "b.test");
    EXPECT_EQ(in["partner_domain"], "a.test");
    EXPECT_EQ(in["state"], "established");
    EXPECT_EQ(in["auth"], "sasl-external");
    EXPECT_EQ(in["tls_version"], "TLSv1.3");
    EXPECT_FALSE(in["cipher"].get<std::string>().empty());
    EXPECT_EQ(in["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
    EXPECT_EQ(in["stanzas_in"], 1);
    EXPECT_TRUE(in["age_s"].is_number());
    EXPECT_EQ(in["queue"], 0);
    ASSERT_TRUE(out.is_object()) << s.dump(2);
    EXPECT_EQ(out["partner_domain"], "a.test");
    EXPECT_EQ(out["remote"], "127.0.0.1:" + std::to_string(a_.port));
    EXPECT_EQ(out["auth"], "sasl-external");
    EXPECT_EQ(out["stanzas_out"], 1);
    EXPECT_EQ(out["state"], "established");

    ASSERT_EQ(s["domains"].size(), 1u);
    EXPECT_EQ(s["domains"][0]["name"], "b.test");
    EXPECT_EQ(s["domains"][0]["cert"], b_cert_.chain_path);
    // TestCa leaves end 30 days after they were made, a moment ago.
    std::int64_t days = s["domains"][0]["days_left"];
    EXPECT_TRUE(days == 29 || days == 30) << days;
    EXPECT_EQ(s["domains"][0]["not_after"].get<std::string>().size(), 20u);
    EXPECT_EQ(s["registry"]["path"], dir_ + "/registry.sqlite");
    std::uint64_t version = s["registry"]["version"];
    EXPECT_GT(version, 0u);

    // Unknown commands are answered as such.
    Result<nlohmann::json, control::ControlError> unknown =
        Unexpected(control::ControlError{"not run"});
    in_thread([&] { unknown = control::query(dir_ + "/proxy.sock", "frobnicate"); });
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().text, "unknown command \"frobnicate\"");

    // The operator removes a.test from the registry file: its streams end at the next poll.
    {
        auto store = registry::RegistryStore::open(dir_ + "/registry.sqlite");
        ASSERT_TRUE(store.has_value());
        ASSERT_TRUE(store->remove_partner("a.test").has_value());
    }
    run_until(
        [&] {
            for (const auto& c : proxy_->router().connections())
                if (c.state != "closing") return false;
            return true;
        },
        "a.test's streams closed");
    EXPECT_GE(logged({"s2s.refused", "domain=a.test", "rule=not-in-allow-list"}), 1u);
    nlohmann::json after = status();
    EXPECT_GT(after["registry"]["version"].get<std::uint64_t>(), version);

    // A second proxy on the same control socket is refused, naming it.
    auto second = ProxyServer::start(&loop_, proxy_config(), "test.toml");
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error(), "another fedgw-proxy is running on " + dir_ + "/proxy.sock");
}

TEST_F(ProxyServerTest, DirectTlsListenerCarriesAStanzaAndShowsInStatus) {
    start_gateway();
    {
        auto store = registry::RegistryStore::open(dir_ + "/registry.sqlite");
        ASSERT_TRUE(store.has_value()) << store.error().describe();
        ASSERT_TRUE(store->add_partner(partner("a.test", 0)).has_value());
    }
    Config c = proxy_config();
    c.proxy->direct_tls_listen = {loopback(0)};
    auto p = ProxyServer::start(&loop_, std::move(c), "test.toml");
    ASSERT_TRUE(p.has_value()) << p.error();
    proxy_ = std::move(*p);
    run_until([&] { return gateway_conn_.has_value(); }, "the link up");
    const int direct = proxy_port(1);
    EXPECT_EQ(logged({"proxy.listening", "direct_tls=true"}), 1u);

    // a.test resolves b.test through dnsmasq: only the direct TLS service is published.
    Dnsmasq dns(
        {"--srv-host=_xmpps-server._tcp.b.test,xmpp.b.test," + std::to_string(direct) + ",10,0",
         "--host-record=xmpp.b.test,127.0.0.1"});
    std::string why;
    ASSERT_TRUE(dns.start(&why)) << why;
    auto a_cert = ca_.issue({.dns = {"a.test"}});
    prepare(a_, std::vector<std::string>{"a.test"}, a_cert, ca_.ca_path(), dns.servers());
    start(a_, policy({partner("b.test", 0)}, "secret-a"));
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "d1")));
    run_until([&] { return at_gateway_.size() == 1; }, "the stanza at the gateway");
    EXPECT_EQ(at_gateway_[0].partner, "a.test");

    nlohmann::json s = status();
    ASSERT_EQ(s["listeners"].size(), 2u) << s.dump(2);
    EXPECT_EQ(s["listeners"][0]["direct_tls"], false);
    EXPECT_EQ(s["listeners"][1]["direct_tls"], true);
    EXPECT_EQ(s["listeners"][1]["address"], "127.0.0.1:" + std::to_string(direct));
    nlohmann::json in;
    for (const auto& st : s["streams"])
        if (st["direction"] == "in") in = st;
    ASSERT_TRUE(in.is_object()) << s.dump(2);
    EXPECT_EQ(in["direct_tls"], true);
    EXPECT_EQ(in["partner_domain"], "a.test");
    EXPECT_EQ(in["auth"], "sasl-external");
    EXPECT_EQ(in["state"], "established");
    EXPECT_EQ(in["tls_version"], "TLSv1.3");
}

}  // namespace
}  // namespace fedgw::proxy
