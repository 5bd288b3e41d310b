// Loop-tier harness for the proxy's Router and S2sConnection: Routers in one libuv loop, each
// serving its domains on 127.0.0.1 port 0 (a STARTTLS listener and an XEP-0368 direct TLS
// listener) and knowing the others as registry partners with static routes; what each hands
// to its gateway side is recorded. Raw peers (blocking sockets on a second thread while the
// loop runs) play misbehaving partners. Log lines are captured for assertions. TearDown shuts
// every router down and proves the loop closes clean.
//
// Loop-bound test support: real sockets on 127.0.0.1, certificates from the throwaway TestCa.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/dns/resolver.hpp"
#include "common/log/log.hpp"
#include "common/tls/tls_context.hpp"
#include "proxy/server/router.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::proxy::test {

using fedgw::test::IssuedCert;
using fedgw::test::TestCa;

constexpr std::uint64_t kWatchdogMs = 20000;

// One side: a Router for its domains, its listeners, its TLS contexts and resolver, and what
// it handed to the gateway.
struct Side {
    std::string domain;  // the first of `domains`
    std::vector<std::string> domains;
    uv_tcp_t* listener = nullptr;
    uv_tcp_t* direct_listener = nullptr;  // XEP-0368 direct TLS
    int port = 0;
    int direct_port = 0;
    std::map<std::string, std::unique_ptr<TlsContext>> server_tls, client_tls, direct_tls;
    std::unique_ptr<dns::Resolver> resolver;
    std::unique_ptr<Router> router;
    std::vector<link::StanzaFrame> to_gateway;

    // The frames at the gateway side whose stanza carries `needle`.
    std::size_t count(const std::string& needle) const {
        std::size_t n = 0;
        for (const auto& f : to_gateway)
            if (f.xml.find(needle) != std::string::npos) ++n;
        return n;
    }
    std::vector<ConnectionStats> conns(Direction d) const {
        std::vector<ConnectionStats> v;
        for (const auto& c : router->connections())
            if (c.direction == d) v.push_back(c);
        return v;
    }
    std::size_t live(Direction d) const {
        std::size_t n = 0;
        for (const auto& c : conns(d))
            if (c.state != "closing") ++n;
        return n;
    }
};

inline TlsContext make_ctx(TlsRole role, const IssuedCert& cert,
                           const std::vector<std::string>& domains, const std::string& trust,
                           std::vector<std::string> alpn = {}) {
    TlsContextOptions o;
    o.role = role;
    o.credentials = {cert.chain_path, cert.key_path};
    if (role == TlsRole::Server)
        for (const auto& d : domains)
            o.domains.push_back({d, {cert.chain_path, cert.key_path}});
    o.ca_file = trust;
    o.alpn = std::move(alpn);
    auto ctx = TlsContext::create(o);
    if (!ctx) throw std::runtime_error(ctx.error().describe());
    return std::move(*ctx);
}

// A blocking TCP connection to 127.0.0.1:port; throws with the errno text when refused.
inline int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        const int e = errno;
        if (fd >= 0) ::close(fd);
        throw std::runtime_error(std::string("connect: ") + std::strerror(e));
    }
    return fd;
}

// A blocking TCP client to 127.0.0.1:port for raw-peer scenarios (run from in_thread()).
class RawPeer {
  public:
    explicit RawPeer(int port) : fd_(connect_loopback(port)) {}
    ~RawPeer() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawPeer(const RawPeer&) = delete;
    RawPeer& operator=(const RawPeer&) = delete;

    void send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
    // Reads until `needle` was received, EOF, or `ms` passed; true when the peer closed.
    bool read_until(const std::string& needle, int ms) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        char buf[4096];
        while (needle.empty() || received.find(needle) == std::string::npos) {
            int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            until - std::chrono::steady_clock::now())
                                            .count());
            if (left <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, left) <= 0) continue;
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return true;
            received.append(buf, static_cast<std::size_t>(n));
        }
        return false;
    }
    // Reads until the peer closes (true) or `ms` passed (false).
    bool read_to_eof(int ms) { return read_until("", ms); }

    std::string received;

  private:
    int fd_ = -1;
};

inline std::string stream_header(const std::string& from, const std::string& to) {
    return "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
           "from='" +
           from + "' to='" + to + "' version='1.0'>";
}

class RouterLoopTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        ASSERT_EQ(uv_timer_init(&loop_, &poll_), 0);
        poll_.data = this;
        log::set_level(log::Level::Debug);
        log::set_sink([this](log::Level, std::string_view line) {
            std::lock_guard<std::mutex> g(log_mutex_);
            logs_.emplace_back(line);
        });
    }

    // Hooks for fixtures that own more (a ProxyServer, a LinkServer): stop_extra() runs first,
    // release_extra() once the loop ran dry (destroy objects whose destructors close handles).
    virtual void stop_extra() {}
    virtual void release_extra() {}

    void TearDown() override {
        stop_extra();
        // Routers shut down, listeners and resolvers closed, then the loop must run dry.
        int pending = 0;
        for (Side* s : sides()) {
            if (!s->router) continue;
            ++pending;
            s->router->shutdown([&pending] { --pending; });
        }
        run_until([&] { return pending == 0; }, "every router shut down");
        for (Side* s : sides()) {
            for (uv_tcp_t* l : {s->listener, s->direct_listener})
                if (l)
                    uv_close(reinterpret_cast<uv_handle_t*>(l),
                             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
            if (s->resolver) s->resolver->close();
            s->router.reset();
        }
        uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        release_extra();
        uv_run(&loop_, UV_RUN_DEFAULT);
        for (Side* s : sides())
            s->resolver.reset();
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
        log::set_sink({});
        log::set_level(log::Level::Info);
        if (HasFailure())
            for (const auto& l : logs_)
                std::fprintf(stderr, "%s\n", l.c_str());
    }

    std::vector<Side*> sides() { return {&a_, &b_}; }

    // Listeners and TLS for one side; the router comes later, once every port is known.
    // `dns_servers`: where its resolver asks (static routes never ask).
    void prepare(Side& s, std::vector<std::string> domains, const IssuedCert& cert,
                 const std::string& trust, const std::string& dns_servers = "127.0.0.1:9") {
        s.domains = std::move(domains);
        s.domain = s.domains.front();
        for (const auto& d : s.domains) {
            s.server_tls[d] = std::make_unique<TlsContext>(
                make_ctx(TlsRole::Server, cert, s.domains, trust, {"xmpp-server"}));
            s.client_tls[d] =
                std::make_unique<TlsContext>(make_ctx(TlsRole::Client, cert, s.domains, trust));
            s.direct_tls[d] = std::make_unique<TlsContext>(
                make_ctx(TlsRole::Client, cert, s.domains, trust, {"xmpp-server"}));
        }
        dns::ResolverOptions ro;
        ro.servers = dns_servers;
        ro.timeout_ms = 500;
        auto r = dns::Resolver::create(&loop_, ro);
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        s.resolver = std::move(*r);
        s.port = listen(s, &s.listener, false);
        s.direct_port = listen(s, &s.direct_listener, true);
    }
    void prepare(Side& s, std::string domain, const IssuedCert& cert, const std::string& trust) {
        prepare(s, std::vector<std::string>{std::move(domain)}, cert, trust);
    }

    int listen(Side& s, uv_tcp_t** out, bool direct) {
        auto* l = new uv_tcp_t;
        *out = l;
        uv_tcp_init(&loop_, l);
        l->data = &s;
        sockaddr_in addr{};
        uv_ip4_addr("127.0.0.1", 0, &addr);
        EXPECT_EQ(uv_tcp_bind(l, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
        auto on_conn = direct ? +[](uv_stream_t* h, int status) {
            auto* side = static_cast<Side*>(h->data);
            if (status == 0 && side->router) side->router->accept(h, true);
        }
                              : +[](uv_stream_t* h, int status) {
                                    auto* side = static_cast<Side*>(h->data);
                                    if (status == 0 && side->router) side->router->accept(h);
                                };
        EXPECT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(l), 64, on_conn), 0);
        sockaddr_storage bound{};
        int len = sizeof bound;
        uv_tcp_getsockname(l, reinterpret_cast<sockaddr*>(&bound), &len);
        return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }

    using Tweak = std::function<void(RouterOptions&)>;

    void start(Side& s, registry::Policy policy, const Tweak& tweak = {}) {
        start_with(
            s, std::move(policy),
            [&s](link::StanzaFrame& f) {
                s.to_gateway.push_back(f);
                return GatewaySend::Sent;
            },
            tweak);
    }

    void start_with(Side& s, registry::Policy policy,
                    std::function<GatewaySend(link::StanzaFrame&)> to_gateway,
                    const Tweak& tweak = {}) {
        RouterOptions o;
        for (const auto& d : s.domains) {
            o.local_domains.insert(d);
            o.server_tls[d] = s.server_tls[d].get();
            o.client_tls[d] = s.client_tls[d].get();
            o.client_direct_tls[d] = s.direct_tls[d].get();
        }
        o.resolver = s.resolver.get();
        o.connect_timeout_ms = 3000;
        o.dialback_timeout_ms = 5000;
        o.to_gateway = std::move(to_gateway);
        if (tweak) tweak(o);
        s.router = std::make_unique<Router>(&loop_, std::move(o), std::move(policy));
    }

    static registry::Partner partner(const std::string& domain, int port) {
        registry::Partner p;
        p.domain = domain;
        p.type = registry::PartnerType::Federated;
        p.static_route = port ? "127.0.0.1:" + std::to_string(port) : "";
        return p;
    }

    static registry::Policy policy(std::vector<registry::Partner> partners, std::string secret) {
        registry::Policy p;
        p.partners = std::move(partners);
        p.settings.dialback_secret = std::move(secret);
        p.version = 1;
        return p;
    }

    // Stream timers for tests: establishment 5 s (TLS on a loaded machine), the rest given.
    static StreamTimers timers(std::uint64_t inactivity_ms, std::uint64_t keepalive_ms) {
        StreamTimers t;
        t.establishment_ms = 5000;
        t.inactivity_ms = inactivity_ms;
        t.keepalive_ms = keepalive_ms;
        t.dialback_ms = 5000;
        return t;
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

    void run_for(std::uint64_t ms) {
        std::uint64_t until = uv_now(&loop_) + ms;
        run_until([&] { return uv_now(&loop_) >= until; }, std::to_string(ms) + " ms");
    }

    // Runs `work` on a second thread while the loop runs here.
    void in_thread(const std::function<void()>& work) {
        std::atomic<bool> finished{false};
        std::thread t([&] {
            work();
            finished = true;
        });
        run_until([&] { return finished.load(); }, "the raw peer's scenario");
        t.join();
    }

    // Captured log lines containing every one of `parts`.
    std::size_t logged(std::initializer_list<std::string> parts) {
        std::lock_guard<std::mutex> g(log_mutex_);
        std::size_t n = 0;
        for (const auto& l : logs_) {
            bool all = true;
            for (const auto& p : parts)
                all = all && l.find(p) != std::string::npos;
            if (all) ++n;
        }
        return n;
    }

    static link::StanzaFrame frame(const std::string& local, std::string xml) {
        link::StanzaFrame f;
        f.local = local;
        f.xml = std::move(xml);
        return f;
    }

    static std::string message(const std::string& from, const std::string& to,
                               const std::string& id, const std::string& body = "") {
        return "<message from='" + from + "' to='" + to + "' id='" + id + "'>" +
               (body.empty() ? "" : "<body>" + body + "</body>") + "</message>";
    }

    uv_loop_t loop_{};
    uv_timer_t poll_{};
    std::function<bool()> done_;
    std::uint64_t started_ = 0;
    bool timed_out_ = false;
    Side a_, b_;
    std::mutex log_mutex_;
    std::vector<std::string> logs_;
};

}  // namespace fedgw::proxy::test
