// Loop-tier harness for TlsStream: a libuv loop, a listener on 127.0.0.1 port 0, and
// connection ends owned the way a Connection will own them (the uv_tcp_t and its TlsStream,
// the stream destroyed in the handle's close callback). A watchdog timer ends a stuck
// scenario; TearDown proves uv_loop_close() == 0.
//
// Loop-bound test support.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <uv.h>

#include "common/tls/tls_context.hpp"
#include "common/tls/tls_session.hpp"
#include "common/tls/tls_stream.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::test {

constexpr uint64_t kWatchdogMs = 10000;

// One end of a connection, owned by the fixture the way a Connection owns its uv_tcp_t and its
// TlsStream: the stream is destroyed in the handle's close callback.
struct Conn {
    uv_tcp_t tcp{};
    std::unique_ptr<TlsStream> stream;
    std::string received;
    bool handshake_done = false;
    std::optional<TlsError> handshake_error;
    std::optional<StreamCloseReason> closed;
    std::string close_detail;
    bool handle_closed = false;
    std::size_t max_queue_seen = 0;
    std::size_t last_queue_report = 0;
    // Test hooks.
    std::function<void(Conn&, std::string_view)> on_data;
    std::function<void(Conn&)> on_handshake;
    std::function<void(Conn&)> on_start;    // connected (client) or accepted (server)
    std::function<void(Conn&)> on_written;  // a write completed
};

class TlsStreamLoopTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new TestCa();
        server_cert_ = new IssuedCert(ca_->issue({.dns = {"server.test"}}));
        client_cert_ = new IssuedCert(ca_->issue({.dns = {"client.test"}, .eku = Eku::ServerAuth}));
    }
    static void TearDownTestSuite() {
        delete server_cert_;
        delete client_cert_;
        delete ca_;
    }

    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        server_ctx_.emplace(make_ctx(TlsRole::Server, *server_cert_));
        client_ctx_.emplace(make_ctx(TlsRole::Client, *client_cert_));
        ASSERT_EQ(uv_tcp_init(&loop_, &listener_), 0);
        listener_.data = this;
        sockaddr_in addr{};
        ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
        ASSERT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
        ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 8, &on_connection), 0);
        sockaddr_storage bound{};
        int len = sizeof bound;
        ASSERT_EQ(uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len), 0);
        port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
        ASSERT_EQ(uv_timer_init(&loop_, &watchdog_), 0);
        watchdog_.data = this;
        ASSERT_EQ(uv_timer_start(&watchdog_, &on_watchdog, kWatchdogMs, 0), 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog_));
    }

    void TearDown() override {
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&watchdog_))) {
            uv_close(reinterpret_cast<uv_handle_t*>(&watchdog_), nullptr);
        }
        close_listener();
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle or request was left open";
        for (auto& c : conns_)
            EXPECT_TRUE(c->handle_closed);
    }

    static TlsContext make_ctx(TlsRole role, const IssuedCert& cert) {
        TlsContextOptions o;
        o.role = role;
        o.credentials = {cert.chain_path, cert.key_path};
        o.ca_file = ca_->ca_path();
        auto ctx = TlsContext::create(o);
        EXPECT_TRUE(ctx.has_value()) << ctx.error().describe();
        return std::move(*ctx);
    }

    static TlsSessionOptions strict(const std::string& domain) {
        return {.verification = PeerVerification::Require,
                .reference_domain = domain,
                .server_name = domain};
    }

    // Runs the scenario until every handle has closed.
    void run() {
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_FALSE(watchdog_fired_) << "the scenario did not finish in time";
    }

    Conn& new_conn() {
        conns_.push_back(std::make_unique<Conn>());
        Conn& c = *conns_.back();
        EXPECT_EQ(uv_tcp_init(&loop_, &c.tcp), 0);
        TlsStream::Callbacks cb;
        cb.on_data = [&c](std::string_view d) {
            if (c.on_data) {
                c.on_data(c, d);
            } else {
                c.received.append(d);
            }
        };
        cb.on_handshake_done = [&c] {
            c.handshake_done = true;
            if (c.on_handshake) c.on_handshake(c);
        };
        cb.on_handshake_failed = [&c](const TlsError& e) { c.handshake_error = e; };
        cb.on_write_done = [&c](std::size_t queued) {
            c.last_queue_report = queued;
            if (c.on_written) c.on_written(c);
        };
        cb.on_closed = [&c](StreamCloseReason r, std::string_view detail) {
            EXPECT_FALSE(c.closed.has_value()) << "on_closed must come once";
            c.closed = r;
            c.close_detail = std::string(detail);
            uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), &on_conn_closed);
        };
        c.stream = std::make_unique<TlsStream>(reinterpret_cast<uv_stream_t*>(&c.tcp), cb);
        c.stream->set_user_data(&c);
        return c;
    }

    // Accepted connections get `server_hooks`; connect() returns the client end.
    Conn& connect(std::function<void(Conn&)> on_start) {
        Conn& c = new_conn();
        c.on_start = std::move(on_start);
        auto* req = new uv_connect_t{};
        req->data = &c;
        sockaddr_in addr{};
        uv_ip4_addr("127.0.0.1", port_, &addr);
        EXPECT_EQ(
            uv_tcp_connect(req, &c.tcp, reinterpret_cast<const sockaddr*>(&addr), &on_connected),
            0);
        return c;
    }

    void write_or_fail(Conn& c, std::string_view data) {
        EXPECT_TRUE(c.stream->write(data)) << "write refused";
    }

    std::function<void(Conn&)> server_hooks;  // runs on the accepted Conn before reading
    Conn* server_ = nullptr;

    static void on_connection(uv_stream_t* listener, int status) {
        auto* self = static_cast<TlsStreamLoopTest*>(listener->data);
        ASSERT_EQ(status, 0);
        Conn& c = self->new_conn();
        ASSERT_EQ(uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c.tcp)), 0);
        self->server_ = &c;
        self->close_listener();  // one connection per test
        if (self->server_hooks) self->server_hooks(c);
        if (c.on_start) c.on_start(c);
        EXPECT_EQ(c.stream->start_reading(), 0);
    }

    static void on_connected(uv_connect_t* req, int status) {
        Conn& c = *static_cast<Conn*>(req->data);
        delete req;
        ASSERT_EQ(status, 0);
        if (c.on_start) c.on_start(c);
        EXPECT_EQ(c.stream->start_reading(), 0);
    }

    static void on_conn_closed(uv_handle_t* h) {
        auto* c = static_cast<Conn*>(TlsStream::from_handle(h) != nullptr
                                         ? TlsStream::from_handle(h)->user_data()
                                         : nullptr);
        ASSERT_NE(c, nullptr);
        c->handle_closed = true;
        c->stream.reset();  // allowed here: not inside one of the stream's own callbacks
    }

    static void on_watchdog(uv_timer_t* t) {
        auto* self = static_cast<TlsStreamLoopTest*>(t->data);
        self->watchdog_fired_ = true;
        self->close_listener();
        for (auto& c : self->conns_) {
            auto* h = reinterpret_cast<uv_handle_t*>(&c->tcp);
            if (!uv_is_closing(h)) uv_close(h, &on_conn_closed);
        }
    }

    void close_listener() {
        auto* h = reinterpret_cast<uv_handle_t*>(&listener_);
        if (!uv_is_closing(h)) uv_close(h, nullptr);
    }

    inline static TestCa* ca_ = nullptr;
    inline static IssuedCert* server_cert_ = nullptr;
    inline static IssuedCert* client_cert_ = nullptr;

    uv_loop_t loop_{};
    uv_tcp_t listener_{};
    uv_timer_t watchdog_{};
    bool watchdog_fired_ = false;
    int port_ = 0;
    std::optional<TlsContext> server_ctx_;
    std::optional<TlsContext> client_ctx_;
    std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace fedgw::test
