// Loop tier for XEP-0368 direct TLS on s2s: A finds B through a dnsmasq serving
// _xmpps-server._tcp.b.test (B's direct TLS port) and _xmpp-server._tcp.b.test (B's STARTTLS
// port) at the same priority, connects with TLS from the first byte (SNI b.test, ALPN
// "xmpp-server"), and the stanza crosses with SASL EXTERNAL. When the direct TLS port refuses,
// A falls back to the STARTTLS target.
//
// Loop-bound test: real sockets on 127.0.0.1, a real dnsmasq (router_fixture.hpp, dnsmasq.hpp).
#include "tests/loop/proxy/dnsmasq.hpp"
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;

class DirectTlsTest : public RouterLoopTest {
  protected:
    // B first (its ports go into the zone), then dnsmasq, then A resolving through it.
    void set_up(bool direct_port_refuses) {
        auto ca_cert = ca_.issue({.dns = {"a.test"}, .xmpp = {"a.test"}});
        auto cb_cert = ca_.issue({.dns = {"b.test"}, .xmpp = {"b.test"}});
        prepare(b_, "b.test", cb_cert, ca_.ca_path());
        int direct = b_.direct_port;
        if (direct_port_refuses) {
            uv_close(reinterpret_cast<uv_handle_t*>(b_.direct_listener),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
            b_.direct_listener = nullptr;
        }
        dns_ = std::make_unique<Dnsmasq>(std::vector<std::string>{
            "--srv-host=_xmpps-server._tcp.b.test,direct.b.test," + std::to_string(direct) +
                ",10,0",
            "--srv-host=_xmpp-server._tcp.b.test,starttls.b.test," + std::to_string(b_.port) +
                ",10,0",
            "--host-record=direct.b.test,127.0.0.1",
            "--host-record=starttls.b.test,127.0.0.1",
        });
        std::string why;
        ASSERT_TRUE(dns_->start(&why)) << why;
        prepare(a_, std::vector<std::string>{"a.test"}, ca_cert, ca_.ca_path(), dns_->servers());
        start(a_, policy({partner("b.test", 0)}, "secret-a"));  // no static route: DNS
        start(b_, policy({partner("a.test", a_.port)}, "secret-b"));
    }

    TestCa ca_;
    std::unique_ptr<Dnsmasq> dns_;
};

TEST_F(DirectTlsTest, StanzaCrossesOverDirectTls) {
    set_up(false);
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "the stanza at B");
    EXPECT_EQ(b_.to_gateway.front().auth, AuthMethod::SaslExternal);

    auto out = a_.conns(Direction::Outbound);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].direct_tls);
    EXPECT_EQ(out[0].alpn, "xmpp-server");
    EXPECT_EQ(out[0].tls_protocol, "TLSv1.3");
    EXPECT_EQ(out[0].remote_address, "127.0.0.1:" + std::to_string(b_.direct_port));
    auto in = b_.conns(Direction::Inbound);
    ASSERT_EQ(in.size(), 1u);
    EXPECT_TRUE(in[0].direct_tls);
    EXPECT_EQ(in[0].alpn, "xmpp-server");
    EXPECT_EQ(in[0].auth, AuthMethod::SaslExternal);
    EXPECT_EQ(in[0].state, "established");
    EXPECT_EQ(logged({"s2s.connecting", "direct_tls=true"}), 1u);
}

TEST_F(DirectTlsTest, RefusedDirectTlsPortFallsBackToStartTls) {
    set_up(true);
    a_.router->from_gateway(frame("a.test", message("romeo@a.test/x", "juliet@b.test", "m1")));
    run_until([&] { return b_.to_gateway.size() == 1; }, "the stanza at B");
    auto out = a_.conns(Direction::Outbound);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].direct_tls);
    EXPECT_EQ(out[0].remote_address, "127.0.0.1:" + std::to_string(b_.port));
    EXPECT_EQ(logged({"s2s.connecting", "direct_tls=true"}), 1u) << "direct TLS was tried first";
    EXPECT_EQ(logged({"s2s.connecting", "direct_tls=false"}), 1u);
    EXPECT_TRUE(a_.to_gateway.empty());
}

}  // namespace
}  // namespace fedgw::proxy
