// Loop-tier harness for the link ends: a libuv loop, a throwaway CA with the gateway's and the
// proxy's certificates, a LinkServer and LinkClients that record every callback, and
// run_until(predicate) to step a scenario. TearDown closes whatever is still open, runs the
// loop dry and proves uv_loop_close() == 0.
//
// Loop-bound test support.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <uv.h>

#include "common/linkio/link_client.hpp"
#include "common/linkio/link_server.hpp"
#include "common/log/log.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::link::test {

using fedgw::test::IssuedCert;
using fedgw::test::TestCa;

struct ServerRecord {
    std::vector<ConnId> ups;
    std::vector<Hello> hellos;
    std::vector<std::pair<ConnId, CloseReason>> downs;
    std::vector<std::pair<ConnId, StanzaFrame>> stanzas;
    std::vector<CloseReason> refused;
    int writable = 0;
    bool closed = false;
};

struct ClientRecord {
    std::vector<Hello> ups;
    std::vector<CloseReason> downs;
    std::vector<StanzaFrame> stanzas;
    std::vector<std::pair<std::uint64_t, std::string>> registries;
    std::vector<CloseReason> failures;
    int writable = 0;
    bool closed = false;
};

struct ClientEnd {
    std::unique_ptr<LinkClient> client;
    ClientRecord rec;
    bool grant_credit = true;
};

class LinkLoopTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new TestCa();
        other_ca_ = new TestCa();
        gateway_cert_ = new IssuedCert(ca_->issue({.dns = {"gateway.test"}}));
        proxy_cert_ = new IssuedCert(ca_->issue({.dns = {"proxy.test"}}));
        other_cert_ = new IssuedCert(ca_->issue({.dns = {"other.test"}}));
        foreign_cert_ = new IssuedCert(other_ca_->issue({.dns = {"proxy.test"}}));
        log::set_sink([](log::Level, std::string_view) {});  // quiet unless a test fails
    }
    static void TearDownTestSuite() {
        log::set_sink({});
        delete foreign_cert_;
        delete other_cert_;
        delete proxy_cert_;
        delete gateway_cert_;
        delete other_ca_;
        delete ca_;
    }

    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        ASSERT_EQ(uv_timer_init(&loop_, &poll_), 0);
        poll_.data = this;
    }

    void TearDown() override {
        for (auto& c : clients_)
            if (c->client && !c->client->is_closed()) c->client->close("test over");
        if (server_ && !server_->is_closed()) server_->close("test over");
        EXPECT_TRUE(run_until([this] { return everything_closed(); }, 10000))
            << "the link ends did not close";
        clients_.clear();
        server_.reset();
        uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle or request was left open";
    }

    bool everything_closed() const {
        for (const auto& c : clients_)
            if (c->client && !c->client->is_closed()) return false;
        return !server_ || server_->is_closed();
    }

    // Runs the loop until `pred` holds (checked every 2 ms) or `timeout_ms` passes.
    bool run_until(std::function<bool()> pred, std::uint64_t timeout_ms = 5000) {
        if (pred()) return true;
        pred_ = std::move(pred);
        deadline_ = uv_now(&loop_) + timeout_ms;
        timed_out_ = false;
        uv_timer_start(&poll_, &LinkLoopTest::on_poll, 2, 2);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_timer_stop(&poll_);
        pred_ = nullptr;
        return !timed_out_;
    }

    static void on_poll(uv_timer_t* t) {
        auto* self = static_cast<LinkLoopTest*>(t->data);
        if (self->pred_ && self->pred_()) {
            uv_stop(&self->loop_);
        } else if (uv_now(&self->loop_) >= self->deadline_) {
            self->timed_out_ = true;
            uv_stop(&self->loop_);
        }
    }

    static SessionLimits fast_limits() {
        SessionLimits l;
        l.window = 8;
        l.hello_timeout_ms = 3000;
        l.ping_interval_ms = 30000;
        l.pong_timeout_ms = 5000;
        return l;
    }

    LinkServerOptions server_options(std::uint16_t port = 0) const {
        LinkServerOptions o;
        o.listen = {HostPort{"127.0.0.1", port, *parse_ip_address("127.0.0.1")}};
        o.cert_file = gateway_cert_->chain_path;
        o.key_file = gateway_cert_->key_path;
        o.ca_file = ca_->ca_path();
        o.proxy_name = "proxy.test";
        o.session = fast_limits();
        o.timers.handshake_timeout_ms = 3000;
        o.timers.close_grace_ms = 1000;
        return o;
    }

    // Starts the server; returns its port.
    std::uint16_t start_server(LinkServerOptions o) {
        srec_ = ServerRecord{};
        LinkServerCallbacks cb;
        cb.on_up = [this](ConnId id, const Hello& h) {
            srec_.ups.push_back(id);
            srec_.hellos.push_back(h);
            if (on_server_up) on_server_up(id);
        };
        cb.on_down = [this](ConnId id, const CloseReason& r) { srec_.downs.emplace_back(id, r); };
        cb.on_stanza = [this](ConnId id, StanzaFrame s) {
            srec_.stanzas.emplace_back(id, std::move(s));
            if (server_grants_credit) server_->stanza_done(id, 1);
        };
        cb.on_writable = [this](ConnId) { ++srec_.writable; };
        cb.on_refused = [this](const CloseReason& r) { srec_.refused.push_back(r); };
        cb.on_closed = [this] { srec_.closed = true; };
        auto s = LinkServer::create(&loop_, std::move(o), std::move(cb));
        EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
        if (!s) return 0;
        server_ = std::move(*s);
        return server_->local_addresses().at(0).port;
    }

    LinkClientOptions client_options(std::uint16_t port) const {
        LinkClientOptions o;
        o.gateway = *parse_host_port("127.0.0.1:" + std::to_string(port));
        o.gateway_name = "gateway.test";
        o.cert_file = proxy_cert_->chain_path;
        o.key_file = proxy_cert_->key_path;
        o.ca_file = ca_->ca_path();
        o.session = fast_limits();
        o.timers.handshake_timeout_ms = 3000;
        o.timers.close_grace_ms = 1000;
        o.reconnect_min_ms = 20;
        o.reconnect_max_ms = 80;
        o.random_seed = 7;
        return o;
    }

    ClientEnd& start_client(LinkClientOptions o) {
        clients_.push_back(std::make_unique<ClientEnd>());
        ClientEnd& end = *clients_.back();
        LinkClientCallbacks cb;
        cb.on_up = [&end](const Hello& h) { end.rec.ups.push_back(h); };
        cb.on_down = [&end](const CloseReason& r) { end.rec.downs.push_back(r); };
        cb.on_stanza = [&end](StanzaFrame s) {
            end.rec.stanzas.push_back(std::move(s));
            if (end.grant_credit) end.client->stanza_done(1);
        };
        cb.on_registry = [&end](std::uint64_t v, std::string json) {
            end.rec.registries.emplace_back(v, std::move(json));
        };
        cb.on_writable = [&end] { ++end.rec.writable; };
        cb.on_attempt_failed = [&end](const CloseReason& r) { end.rec.failures.push_back(r); };
        cb.on_closed = [&end] { end.rec.closed = true; };
        auto c = LinkClient::create(&loop_, std::move(o), std::move(cb));
        EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
        if (c) {
            end.client = std::move(*c);
            end.client->start();
        }
        return end;
    }

    // Closes the server and waits until it is gone.
    void stop_server() {
        server_->close("shutdown");
        EXPECT_TRUE(run_until([this] { return srec_.closed; }));
        server_.reset();
    }

    static StanzaFrame stanza(std::string body) {
        return StanzaFrame{0,
                           "partner.test",
                           "federated",
                           AuthMethod::SaslExternal,
                           "sip.test",
                           "<message to='alice@sip.test' from='bob@partner.test'><body>" + body +
                               "</body></message>"};
    }

    inline static TestCa* ca_ = nullptr;
    inline static TestCa* other_ca_ = nullptr;
    inline static IssuedCert* gateway_cert_ = nullptr;
    inline static IssuedCert* proxy_cert_ = nullptr;
    inline static IssuedCert* other_cert_ = nullptr;
    inline static IssuedCert* foreign_cert_ = nullptr;

    uv_loop_t loop_{};
    uv_timer_t poll_{};
    std::function<bool()> pred_;
    std::uint64_t deadline_ = 0;
    bool timed_out_ = false;

    std::unique_ptr<LinkServer> server_;
    ServerRecord srec_;
    bool server_grants_credit = true;
    std::function<void(ConnId)> on_server_up;
    std::vector<std::unique_ptr<ClientEnd>> clients_;
};

}  // namespace fedgw::link::test
