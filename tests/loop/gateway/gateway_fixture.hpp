// Loop-tier harness for GatewayServer: one libuv loop holding the gateway (link and SIP on
// 127.0.0.1 port 0, short SIP timers, a throwaway registry), a LinkClient playing the proxy
// (certificates from a TestCa), and a second SipStack playing the SIP platform (the gateway's
// next hop) that records what it receives and answers with a chosen status. TearDown stops
// the gateway gracefully, closes everything and proves uv_loop_close() == 0.
//
// Loop-bound test support.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/linkio/link_client.hpp"
#include "common/log/log.hpp"
#include "common/registry/registry_store.hpp"
#include "common/xml/fragment.hpp"
#include "common/xml/namespaces.hpp"
#include "gateway/server/gateway_server.hpp"
#include "gateway/sip/sip_builder.hpp"
#include "gateway/sip/sip_stack.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::gateway::test {

using fedgw::test::IssuedCert;
using fedgw::test::TestCa;

inline HostPort loopback(std::uint16_t port) {
    return HostPort{"127.0.0.1", port, *parse_ip_address("127.0.0.1")};
}
inline SipTransportAddr udp(std::uint16_t port) {
    return SipTransportAddr{SipTransport::Udp, loopback(port)};
}

// What the SIP platform received.
struct PlatformRequest {
    std::string method;
    std::string request_uri;
    std::string from;
    std::string to;
    std::string content_type;
    std::string body;
    std::string event;
};

// The proxy's view of the link.
struct ProxyEnd {
    std::unique_ptr<link::LinkClient> client;
    std::vector<std::unique_ptr<Element>> stanzas;
    std::vector<std::pair<std::uint64_t, std::string>> registries;
    std::vector<link::CloseReason> downs;
    int ups = 0;
    bool grant_credit = true;
    bool closed = false;
};

// The outcome of a request the platform sent to the gateway.
struct Answer {
    std::optional<int> status;
    std::string reason;
    std::optional<sip::RequestFailure> failure;
    std::vector<std::string> retry_after;
    bool done() const { return status || failure; }
};

class GatewayLoopTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new TestCa();
        gateway_cert_ = new IssuedCert(ca_->issue({.dns = {"gateway.test"}}));
        proxy_cert_ = new IssuedCert(ca_->issue({.dns = {"proxy.test"}}));
    }
    static void TearDownTestSuite() {
        delete proxy_cert_;
        delete gateway_cert_;
        delete ca_;
    }

    void SetUp() override {
        log_lines_.clear();
        log::set_level(log::Level::Debug);
        log::set_sink([this](log::Level, std::string_view line) { log_lines_.emplace_back(line); });
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        ASSERT_EQ(uv_timer_init(&loop_, &tick_), 0);
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        registry_path_ = ca_->path(std::string(info->name()) + ".sqlite");
        for (const char* suffix : {"", "-wal", "-shm"})
            std::remove((registry_path_ + suffix).c_str());
        auto store = registry::RegistryStore::open(registry_path_);
        ASSERT_TRUE(store.has_value()) << store.error().describe();
        store_.emplace(std::move(*store));
        ASSERT_TRUE(store_->set_user_access("juliet@sip.test", true).has_value());
        start_platform();
    }

    void TearDown() override {
        if (gateway_ && !gateway_->is_stopped()) {
            gateway_->stop();
            EXPECT_TRUE(run_until([this] { return gateway_->is_stopped(); }, 10000))
                << "the gateway did not stop";
        }
        for (auto& p : proxies_)
            if (p->client && !p->client->is_closed()) p->client->close("test over");
        EXPECT_TRUE(run_until(
            [this] {
                for (auto& p : proxies_)
                    if (p->client && !p->client->is_closed()) return false;
                return true;
            },
            10000));
        gateway_.reset();
        proxies_.clear();
        if (platform_) platform_->close();
        platform_.reset();
        if (silent_open_) {
            uv_close(reinterpret_cast<uv_handle_t*>(&silent_), nullptr);
            silent_open_ = false;
        }
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle or request was left open";
        store_.reset();
        log::set_sink({});
        log::set_log_bodies(false);
        log::set_level(log::Level::Info);
        if (HasFailure())
            for (const auto& l : log_lines_)
                std::fprintf(stderr, "  log: %s\n", l.c_str());
    }

    // ---- the SIP platform ----------------------------------------------------------------

    void start_platform() {
        sip::SipStackOptions o;
        o.listen = {udp(0)};
        o.trusted = {*parse_cidr("127.0.0.0/8")};
        o.timers = {20, 160, 200};
        auto s = sip::SipStack::create(&loop_, std::move(o));
        ASSERT_TRUE(s.has_value()) << s.error().text;
        platform_ = std::move(*s);
        platform_->on_request([this](const sip::SipMessage& m, const sip::ServerTransaction& tx) {
            received_.push_back({m.method(), m.request_uri(), m.from().uri, m.to().uri,
                                 m.content_type(), m.body(), m.event().value_or("")});
            if (platform_answers_) (void)platform_->respond(tx, platform_status_);
        });
    }
    std::uint16_t platform_port() const { return platform_->local_addresses().at(0).address.port; }

    // A UDP socket that swallows everything: a next hop that never answers.
    std::uint16_t start_silent_next_hop() {
        EXPECT_EQ(uv_udp_init(&loop_, &silent_), 0);
        silent_open_ = true;
        sockaddr_in a{};
        uv_ip4_addr("127.0.0.1", 0, &a);
        EXPECT_EQ(uv_udp_bind(&silent_, reinterpret_cast<const sockaddr*>(&a), 0), 0);
        uv_udp_recv_start(
            &silent_,
            [](uv_handle_t*, std::size_t, uv_buf_t* b) {
                static char buf[65536];
                *b = uv_buf_init(buf, sizeof buf);
            },
            [](uv_udp_t*, ssize_t, const uv_buf_t*, const sockaddr*, unsigned) {});
        sockaddr_storage bound{};
        int len = sizeof bound;
        uv_udp_getsockname(&silent_, reinterpret_cast<sockaddr*>(&bound), &len);
        return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }

    // ---- the gateway ---------------------------------------------------------------------

    Config make_config(std::optional<std::uint16_t> next_hop_port = std::nullopt) const {
        Config c;
        c.source = "test";
        c.registry.path = registry_path_;
        GatewayConfig g;
        g.listen = {loopback(0)};
        g.control_socket = ca_->path("gateway.sock");
        g.domains = {"sip.test"};
        g.cert = gateway_cert_->chain_path;
        g.key = gateway_cert_->key_path;
        g.ca = ca_->ca_path();
        g.proxy_name = "proxy.test";
        g.sip.listen = {udp(0)};
        g.sip.next_hops = {udp(next_hop_port.value_or(platform_port()))};
        g.timers.t1 = Duration::millis(20);
        g.timers.t2 = Duration::millis(160);
        g.timers.t4 = Duration::millis(200);
        g.timers.shutdown_grace = Duration::seconds(1);
        c.gateway = std::move(g);
        return c;
    }

    static link::SessionLimits fast_limits(std::uint32_t window = 16) {
        link::SessionLimits l;
        l.window = window;
        l.hello_timeout_ms = 3000;
        l.ping_interval_ms = 30000;
        l.pong_timeout_ms = 5000;
        return l;
    }

    GatewayServer& start_gateway(Config c) {
        GatewayServerOptions o;
        o.registry_poll_ms = 20;
        o.install_signals = false;
        o.link_session = fast_limits();
        o.link_timers = link::ConnectionTimers{3000, 500};
        auto g = GatewayServer::start(&loop_, std::move(c), "test.toml", std::move(o));
        EXPECT_TRUE(g.has_value()) << (g ? "" : g.error());
        if (!g) std::abort();
        gateway_ = std::move(*g);
        return *gateway_;
    }
    GatewayServer& start_gateway() { return start_gateway(make_config()); }

    std::uint16_t gateway_sip_port() const { return gateway_->sip_addresses().at(0).address.port; }

    // ---- the proxy -----------------------------------------------------------------------

    ProxyEnd& start_proxy(std::uint32_t window = 16) {
        proxies_.push_back(std::make_unique<ProxyEnd>());
        ProxyEnd& end = *proxies_.back();
        link::LinkClientOptions o;
        o.gateway = loopback(gateway_->link_addresses().at(0).port);
        o.gateway_name = "gateway.test";
        o.cert_file = proxy_cert_->chain_path;
        o.key_file = proxy_cert_->key_path;
        o.ca_file = ca_->ca_path();
        o.session = fast_limits(window);
        o.timers = link::ConnectionTimers{3000, 500};
        o.reconnect_min_ms = 20;
        o.reconnect_max_ms = 80;
        o.random_seed = 7;
        link::LinkClientCallbacks cb;
        cb.on_up = [&end](const link::Hello&) { ++end.ups; };
        cb.on_down = [&end](const link::CloseReason& r) { end.downs.push_back(r); };
        cb.on_stanza = [&end](link::StanzaFrame f) {
            auto el = parse_fragment(f.xml, kNsServer);
            EXPECT_TRUE(el.has_value()) << f.xml;
            if (el) end.stanzas.push_back(std::move(*el));
            if (end.grant_credit) end.client->stanza_done(1);
        };
        cb.on_registry = [&end](std::uint64_t v, std::string json) {
            end.registries.emplace_back(v, std::move(json));
        };
        cb.on_closed = [&end] { end.closed = true; };
        auto c = link::LinkClient::create(&loop_, std::move(o), std::move(cb));
        EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
        if (!c) std::abort();
        end.client = std::move(*c);
        end.client->start();
        EXPECT_TRUE(run_until([&] { return end.ups > 0; })) << "the link did not come up";
        return end;
    }

    // A stanza from a partner user, as the proxy hands it over.
    static link::StanzaFrame from_partner(std::string xml, std::string type = "federated") {
        return link::StanzaFrame{
            0,          "partner.test", std::move(type), link::AuthMethod::SaslExternal,
            "sip.test", std::move(xml)};
    }

    // ---- SIP requests from the platform to the gateway -----------------------------------

    std::shared_ptr<Answer> platform_send(sip::SipMessage m) {
        auto out = std::make_shared<Answer>();
        platform_->send_request(std::move(m), udp(gateway_sip_port()),
                                [out](Result<sip::SipMessage, sip::RequestError> r) {
                                    if (r) {
                                        out->status = r->status_code();
                                        out->reason = r->reason_phrase();
                                        out->retry_after = r->headers("Retry-After");
                                    } else {
                                        out->failure = r.error().failure;
                                    }
                                });
        return out;
    }

    sip::SipMessage sip_message(const std::string& from, const std::string& to,
                                const std::string& body,
                                const std::string& content_type = "text/plain;charset=UTF-8") {
        sip::RequestSpec spec;
        spec.from = {"", from, ""};
        spec.to = {"", to, ""};
        spec.call_id_host = "platform.test";
        auto m = sip::build_message(spec, content_type, body, random());
        EXPECT_TRUE(m.has_value()) << m.error().describe();
        return std::move(*m);
    }

    sip::RandomSource random() {
        return [this] { return seed_ = seed_ * 6364136223846793005ULL + 1442695040888963407ULL; };
    }

    std::shared_ptr<Answer> send_and_wait(sip::SipMessage m) {
        auto a = platform_send(std::move(m));
        EXPECT_TRUE(run_until([&] { return a->done(); })) << "no answer from the gateway";
        return a;
    }

    // ---- running ---------------------------------------------------------------------------

    bool run_until(const std::function<bool()>& done, std::uint64_t max_ms = 5000) {
        uv_update_time(&loop_);
        const std::uint64_t deadline = uv_now(&loop_) + max_ms;
        uv_timer_start(
            &tick_, [](uv_timer_t*) {}, 5, 5);
        while (!done()) {
            uv_update_time(&loop_);
            if (uv_now(&loop_) >= deadline) break;
            uv_run(&loop_, UV_RUN_ONCE);
        }
        uv_timer_stop(&tick_);
        return done();
    }
    // Runs the loop for a while (to show that something does not happen).
    void run_for(std::uint64_t ms) {
        uv_update_time(&loop_);
        const std::uint64_t until = uv_now(&loop_) + ms;
        run_until([&] { return uv_now(&loop_) >= until; }, ms + 100);
    }

    bool logged(std::string_view event) const {
        const std::string needle = "event=" + std::string(event);
        for (const auto& l : log_lines_)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }

    inline static TestCa* ca_ = nullptr;
    inline static IssuedCert* gateway_cert_ = nullptr;
    inline static IssuedCert* proxy_cert_ = nullptr;

    uv_loop_t loop_{};
    uv_timer_t tick_{};
    uv_udp_t silent_{};
    bool silent_open_ = false;
    std::string registry_path_;
    std::optional<registry::RegistryStore> store_;
    std::unique_ptr<sip::SipStack> platform_;
    std::vector<PlatformRequest> received_;
    int platform_status_ = 200;
    bool platform_answers_ = true;
    std::unique_ptr<GatewayServer> gateway_;
    std::vector<std::unique_ptr<ProxyEnd>> proxies_;
    std::vector<std::string> log_lines_;
    std::uint64_t seed_ = 0x5eed;
};

}  // namespace fedgw::gateway::test
