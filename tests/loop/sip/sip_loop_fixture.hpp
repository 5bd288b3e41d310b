// Loop-tier harness for the SIP stack: a libuv loop, SipStacks on 127.0.0.1 with short
// timers, raw UDP/TCP peers that the tests drive byte by byte, and a runner that spins the
// loop until a condition holds or a deadline passes. TearDown closes everything and proves
// uv_loop_close() == 0.
//
// Loop-bound test support.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/sip/routing.hpp"
#include "gateway/sip/sip_builder.hpp"
#include "gateway/sip/sip_stack.hpp"
#include "gateway/sip/socket_address.hpp"
#include "gateway/sip/stream_framer.hpp"

namespace fedgw::gateway::sip::test {

inline IpAddress loopback() {
    return *parse_ip_address("127.0.0.1");
}

inline SipTransportAddr addr(SipTransport t, std::uint16_t port) {
    return SipTransportAddr{t, HostPort{"127.0.0.1", port, loopback()}};
}

// A raw UDP peer: records every datagram it receives.
struct RawUdp {
    uv_udp_t handle{};
    std::uint16_t port = 0;
    std::vector<std::string> received;
    char buffer[65536];
    bool closed = false;

    void open(uv_loop_t* loop) {
        ASSERT_EQ(uv_udp_init(loop, &handle), 0);
        handle.data = this;
        sockaddr_in a{};
        uv_ip4_addr("127.0.0.1", 0, &a);
        ASSERT_EQ(uv_udp_bind(&handle, reinterpret_cast<const sockaddr*>(&a), 0), 0);
        sockaddr_storage bound{};
        int len = sizeof bound;
        uv_udp_getsockname(&handle, reinterpret_cast<sockaddr*>(&bound), &len);
        port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
        uv_udp_recv_start(
            &handle,
            [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
                auto* self = static_cast<RawUdp*>(h->data);
                *buf = uv_buf_init(self->buffer, sizeof self->buffer);
            },
            [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned) {
                if (n <= 0 || from == nullptr) return;
                static_cast<RawUdp*>(h->data)->received.emplace_back(buf->base,
                                                                     static_cast<std::size_t>(n));
            });
    }
    void send(std::uint16_t to_port, const std::string& bytes) {
        sockaddr_in a{};
        uv_ip4_addr("127.0.0.1", to_port, &a);
        uv_buf_t b =
            uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
        EXPECT_GE(uv_udp_try_send(&handle, &b, 1, reinterpret_cast<const sockaddr*>(&a)), 0);
    }
    void close() {
        if (closed) return;
        closed = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr);
    }
};

// A raw TCP client: writes what the test says, frames what comes back.
struct RawTcp {
    uv_tcp_t handle{};
    uv_connect_t connect{};
    bool connected = false;
    bool closed = false;
    StreamFramer framer;
    std::vector<std::string> messages;

    void open(uv_loop_t* loop, std::uint16_t port) {
        ASSERT_EQ(uv_tcp_init(loop, &handle), 0);
        handle.data = this;
        connect.data = this;
        sockaddr_in a{};
        uv_ip4_addr("127.0.0.1", port, &a);
        ASSERT_EQ(uv_tcp_connect(
                      &connect, &handle, reinterpret_cast<const sockaddr*>(&a),
                      [](uv_connect_t* req, int status) {
                          auto* self = static_cast<RawTcp*>(req->data);
                          if (status != 0) return;
                          self->connected = true;
                          uv_read_start(
                              reinterpret_cast<uv_stream_t*>(&self->handle),
                              [](uv_handle_t*, std::size_t s, uv_buf_t* b) {
                                  *b = uv_buf_init(new char[s], static_cast<unsigned>(s));
                              },
                              [](uv_stream_t* st, ssize_t n, const uv_buf_t* b) {
                                  auto* me = static_cast<RawTcp*>(st->data);
                                  if (n > 0) {
                                      std::vector<StreamFramer::Frame> frames;
                                      (void)me->framer.feed(
                                          std::string_view(b->base, static_cast<std::size_t>(n)),
                                          frames);
                                      for (auto& f : frames) {
                                          if (f.kind == StreamFramer::Kind::Message) {
                                              me->messages.push_back(std::move(f.bytes));
                                          }
                                      }
                                  }
                                  delete[] b->base;
                              });
                      }),
                  0);
    }
    void write(const std::string& bytes) {
        auto* req = new uv_write_t;
        auto* copy = new std::string(bytes);
        req->data = copy;
        uv_buf_t b = uv_buf_init(copy->data(), static_cast<unsigned>(copy->size()));
        ASSERT_EQ(uv_write(req, reinterpret_cast<uv_stream_t*>(&handle), &b, 1,
                           [](uv_write_t* r, int) {
                               delete static_cast<std::string*>(r->data);
                               delete r;
                           }),
                  0);
    }
    void close() {
        if (closed) return;
        closed = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr);
    }
};

// A TCP listener that accepts connections and never says a word.
struct SilentTcp {
    uv_tcp_t listener{};
    std::vector<uv_tcp_t*> accepted;
    std::uint16_t port = 0;
    bool closed = false;

    void open(uv_loop_t* loop) {
        ASSERT_EQ(uv_tcp_init(loop, &listener), 0);
        listener.data = this;
        sockaddr_in a{};
        uv_ip4_addr("127.0.0.1", 0, &a);
        ASSERT_EQ(uv_tcp_bind(&listener, reinterpret_cast<const sockaddr*>(&a), 0), 0);
        ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 4,
                            [](uv_stream_t* l, int status) {
                                if (status != 0) return;
                                auto* self = static_cast<SilentTcp*>(l->data);
                                auto* c = new uv_tcp_t;
                                uv_tcp_init(l->loop, c);
                                uv_accept(l, reinterpret_cast<uv_stream_t*>(c));
                                self->accepted.push_back(c);
                            }),
                  0);
        sockaddr_storage bound{};
        int len = sizeof bound;
        uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&bound), &len);
        port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
    void close() {
        if (closed) return;
        closed = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&listener), nullptr);
        for (uv_tcp_t* c : accepted) {
            uv_close(reinterpret_cast<uv_handle_t*>(c),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
        }
        accepted.clear();
    }
};

// Results of a request sent through a stack.
struct Outcome {
    std::optional<int> status;
    std::optional<RequestFailure> failure;
    std::string text;
    std::uint64_t at_ms = 0;
    std::string to_tag;
    bool done() const { return status.has_value() || failure.has_value(); }
};

class SipLoopTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        ASSERT_EQ(uv_timer_init(&loop_, &tick_), 0);
    }

    void TearDown() override {
        for (auto& s : stacks_)
            s.reset();  // close() runs pending callbacks with Shutdown
        for (auto& u : udp_)
            u->close();
        for (auto& t : tcp_)
            t->close();
        for (auto& t : silent_)
            t->close();
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle or request was left open";
    }

    // Fast timers: Timer F = 64*T1 = 1.28 s.
    static SipTimers fast_timers() { return SipTimers{20, 160, 200}; }

    SipStack& make_stack(std::vector<SipTransportAddr> listen, std::vector<Cidr> trusted,
                         SipStackOptions base = {}) {
        base.listen = std::move(listen);
        base.trusted = std::move(trusted);
        if (base.timers.t1_ms == 500) base.timers = fast_timers();
        auto n = std::make_shared<std::uint64_t>(0x1234);
        base.random = [n] { return *n = *n * 6364136223846793005ULL + 1442695040888963407ULL; };
        auto s = SipStack::create(&loop_, std::move(base));
        EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().text);
        if (!s) std::abort();
        stacks_.push_back(std::move(*s));
        return *stacks_.back();
    }

    static std::vector<Cidr> trust_loopback() { return {*parse_cidr("127.0.0.0/8")}; }

    std::uint16_t port_of(const SipStack& s, SipTransport t) {
        for (const auto& a : s.local_addresses()) {
            if (a.transport == t) return a.address.port;
        }
        ADD_FAILURE() << "no listener";
        return 0;
    }

    RawUdp& raw_udp() {
        udp_.push_back(std::make_unique<RawUdp>());
        udp_.back()->open(&loop_);
        return *udp_.back();
    }

    SilentTcp& silent_tcp() {
        silent_.push_back(std::make_unique<SilentTcp>());
        silent_.back()->open(&loop_);
        return *silent_.back();
    }

    RawTcp& raw_tcp(std::uint16_t port) {
        tcp_.push_back(std::make_unique<RawTcp>());
        tcp_.back()->open(&loop_, port);
        return *tcp_.back();
    }

    // Spins the loop until `done` holds or `max_ms` pass; true when it held.
    bool run_until(const std::function<bool()>& done, std::uint64_t max_ms = 5000) {
        const std::uint64_t deadline = now() + max_ms;
        uv_timer_start(
            &tick_, [](uv_timer_t*) {}, 5, 5);
        while (!done() && now() < deadline) {
            uv_run(&loop_, UV_RUN_ONCE);
            uv_update_time(&loop_);
        }
        uv_timer_stop(&tick_);
        return done();
    }

    std::uint64_t now() {
        uv_update_time(&loop_);
        return uv_now(&loop_);
    }

    SipMessage message_to(const std::string& body = "hello") {
        RequestSpec spec;
        spec.from = {"Romeo", "sip:romeo@xmpp.example", ""};
        spec.to = {"", "sip:juliet@sip.example", ""};
        spec.call_id_host = "gw.example";
        auto n = std::make_shared<std::uint64_t>(++messages_);
        auto m = build_message(spec, "text/plain;charset=UTF-8", body,
                               [n] { return ++*n * 0x9e3779b97f4a7c15ULL; });
        EXPECT_TRUE(m.has_value());
        return std::move(*m);
    }

    // Sends through `stack` and records the outcome.
    std::shared_ptr<Outcome> send(SipStack& stack, SipMessage m, const SipTransportAddr& to) {
        auto out = std::make_shared<Outcome>();
        stack.send_request(std::move(m), to, [this, out](Result<SipMessage, RequestError> r) {
            EXPECT_FALSE(out->done()) << "the callback must run once";
            out->at_ms = now();
            if (r) {
                out->status = r->status_code();
                out->to_tag = r->to().tag;
            } else {
                out->failure = r.error().failure;
                out->text = r.error().text;
            }
        });
        return out;
    }

    uv_loop_t loop_{};
    uv_timer_t tick_{};
    std::vector<std::unique_ptr<SipStack>> stacks_;
    std::vector<std::unique_ptr<RawUdp>> udp_;
    std::vector<std::unique_ptr<RawTcp>> tcp_;
    std::vector<std::unique_ptr<SilentTcp>> silent_;
    std::uint64_t messages_ = 0;
};

}  // namespace fedgw::gateway::sip::test
