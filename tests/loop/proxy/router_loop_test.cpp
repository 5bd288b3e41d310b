// Loop tier for the proxy's Router and S2sConnection: two Routers in one libuv loop, each
// serving one domain (a.test, b.test) on 127.0.0.1 port 0 and knowing the other as a registry
// partner with a static route to that port. A stanza handed to A as if from the gateway travels
// A's outbound stream (STARTTLS, then SASL EXTERNAL or dialback: RFC 6120 §5, §6, XEP-0178,
// XEP-0220) to B's inbound stream and out of B's link side; what cannot be delivered comes back
// to A's link side as an error stanza (RFC 6120 §8.3). Each test ends with both routers shut
// down and proves the loop closes clean.
//
// Loop-bound test: real sockets on 127.0.0.1, certificates from the throwaway TestCa.
#include <gtest/gtest.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns/resolver.hpp"
#include "common/tls/tls_context.hpp"
#include "proxy/server/router.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::proxy {
namespace {

using fedgw::test::IssuedCert;
using fedgw::test::TestCa;

constexpr std::uint64_t kWatchdogMs = 15000;

// One side: a Router for `domain`, its listener, its TLS contexts and resolver, and what it
// handed to the gateway.
struct Side {
    std::string domain;
    uv_tcp_t* listener = nullptr;
    int port = 0;
    std::unique_ptr<TlsContext> server_tls;
    std::unique_ptr<TlsContext> client_tls;
    std::unique_ptr<dns::Resolver> resolver;
    std::unique_ptr<Router> router;
    std::vector<link::StanzaFrame> to_gateway;
};

TlsContext make_ctx(TlsRole role, const IssuedCert& cert, const std::string& domain,
                    const std::string& trust) {
    TlsContextOptions o;
    o.role = role;
    o.credentials = {cert.chain_path, cert.key_path};
    if (role == TlsRole::Server) o.domains.push_back({domain, {cert.chain_path, cert.key_path}});
    o.ca_file = trust;
    auto ctx = TlsContext::create(o);
    if (!ctx) throw std::runtime_error(ctx.error().describe());
    return std::move(*ctx);
}

class RouterLoopTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        ASSERT_EQ(uv_timer_init(&loop_, &poll_), 0);
        poll_.data = this;
    }

    void TearDown() override {
        // Routers shut down, listeners and resolvers closed, then the loop must run dry.
        int pending = 0;
        for (Side* s : {&a_, &b_}) {
            if (!s->router) continue;
            ++pending;
            s->router->shutdown([&pending] { --pending; });
        }
        run_until([&] { return pending == 0; }, "both routers shut down");
        for (Side* s : {&a_, &b_}) {
            if (s->listener)
                uv_close(reinterpret_cast<uv_handle_t*>(s->listener),
                         [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
            if (s->resolver) s->resolver->close();
            s->router.reset();
        }
        uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        for (Side* s : {&a_, &b_})
            s->resolver.reset();
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
    }

    // Listener and TLS for one side; the router comes later, once both ports are known.
    void prepare(Side& s, std::string domain, const IssuedCert& cert, const std::string& trust) {
        s.domain = std::move(domain);
        s.server_tls =
            std::make_unique<TlsContext>(make_ctx(TlsRole::Server, cert, s.domain, trust));
        s.client_tls =
            std::make_unique<TlsContext>(make_ctx(TlsRole::Client, cert, s.domain, trust));
        dns::ResolverOptions ro;
        ro.servers = "127.0.0.1:9";  // never asked: every route here is static
        auto r = dns::Resolver::create(&loop_, ro);
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        s.resolver = std::move(*r);
        s.listener = new uv_tcp_t;
        ASSERT_EQ(uv_tcp_init(&loop_, s.listener), 0);
        s.listener->data = &s;
        sockaddr_in addr{};
        ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
        ASSERT_EQ(uv_tcp_bind(s.listener, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
        ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(s.listener), 16,
                            [](uv_stream_t* l, int status) {
                                auto* side = static_cast<Side*>(l->data);
                                if (status == 0 && side->router) side->router->accept(l);
                            }),
                  0);
        sockaddr_storage bound{};
        int len = sizeof bound;
        ASSERT_EQ(uv_tcp_getsockname(s.listener, reinterpret_cast<sockaddr*>(&bound), &len), 0);
        s.port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }

    void start(Side& s, registry::Policy policy) {
        start(s, std::move(policy), [&s](link::StanzaFrame& f) {
            s.to_gateway.push_back(f);
            return GatewaySend::Sent;
        });
    }

    void start(Side& s, registry::Policy policy,
               std::function<GatewaySend(link::StanzaFrame&)> to_gateway) {
        RouterOptions o;
        o.local_domains = {s.domain};
        o.server_tls[s.domain] = s.server_tls.get();
        o.client_tls[s.domain] = s.client_tls.get();
        o.resolver = s.resolver.get();
        o.connect_timeout_ms = 3000;
        o.dialback_timeout_ms = 5000;
        o.to_gateway = std::move(to_gateway);
        s.router = std::make_unique<Router>(&loop_, std::move(o), std::move(policy));
    }

    static registry::Partner partner(const std::string& domain, int port) {
        registry::Partner p;
        p.domain = domain;
        p.type = registry::PartnerType::Federated;
        p.static_route = "127.0.0.1:" + std::to_string(port);
        return p;
    }

    static registry::Policy policy(std::vector<registry::Partner> partners, std::string secret) {
        registry::Policy p;
        p.partners = std::move(partners);
        p.settings.dialback_secret = std::move(secret);
        p.version = 1;
        return p;
    }

    // Runs the loop until `done()` holds (checked every 10 ms) or the watchdog fires.
    void run_until(const std::function<bool()>& done, const std::string& what) {
        done_ = done;
        timed_out_ = false;
        started_ = uv_now(&loop_);
        uv_timer_start(
            &poll_,
            [](uv_timer_t* t) {
                auto* self = static_cast<RouterLoopTest*>(t->data);
                if (self->done_()) {
                    uv_timer_stop(t);
                    uv_stop(t->loop);
                } else if (uv_now(t->loop) - self->started_ > kWatchdogMs) {
                    self->timed_out_ = true;
                    uv_timer_stop(t);
                    uv_stop(t->loop);
                }
            },
            0, 10);
        uv_run(&loop_, UV_RUN_DEFAULT);
        ASSERT_FALSE(timed_out_) << "timed out waiting for " << what;
    }

    static link::StanzaFrame frame(const std::string& local, std::string xml) {
        link::StanzaFrame f;
        f.local = local;
        f.xml = std::move(xml);
        return f;
    }

    uv_loop_t loop_{};
    uv_timer_t poll_{};
    std::function<bool()> done_;
    std::uint64_t started_ = 0;
    bool timed_out_ = false;
    Side a_, b_;
};

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
    start(b_, policy({partner("a.test", a_.port)}, "secret-b"), [&](link::StanzaFrame& f) {
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
