// Loop tests of the c-ares/libuv Resolver against a real dnsmasq that each test starts on
// 127.0.0.1 (a free port) and kills in TearDown, and against a silent and a closed port.
// Every test ends by closing the resolver and proving uv_loop_close() succeeds.
//
// Loop-bound: real sockets, real timers (short: 300 ms per try).
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dns/resolver.hpp"

namespace fedgw::dns {
namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

// The zone every dnsmasq in these tests serves (--srv-host is target,port,priority,weight).
const std::vector<std::string> kRecords = {
    "--srv-host=_xmpp-server._tcp.two.test,xmpp1.two.test,5269,10,60",
    "--srv-host=_xmpp-server._tcp.two.test,xmpp2.two.test,5270,20,0",
    "--host-record=xmpp1.two.test,127.0.0.2,::2",
    "--host-record=xmpp2.two.test,127.0.0.3",
    "--srv-host=_xmpps-server._tcp.tls.test,direct.tls.test,5223,10,0",
    "--srv-host=_xmpp-server._tcp.tls.test,starttls.tls.test,5269,10,0",
    "--host-record=direct.tls.test,127.0.0.5",
    "--host-record=starttls.tls.test,127.0.0.6",
    "--srv-host=_xmpp-server._tcp.nosvc.test",  // no target: "." (service not offered)
    "--host-record=nosvc.test,127.0.0.7",
    "--host-record=plain.test,127.0.0.4,::4",  // no SRV: RFC 6120 §3.2.2 fallback
    "--srv-host=_xmpp-server._tcp.dangling.test,nowhere.dangling.test,5269,0,0",
};

// 30 records do not fit a 512-byte UDP answer: dnsmasq sets TC and c-ares retries over TCP.
std::vector<std::string> many_records() {
    std::vector<std::string> v;
    for (int i = 0; i < 30; ++i)
        v.push_back("--srv-host=_xmpp-server._tcp.many.test,server" + std::to_string(i) +
                    ".many.test," + std::to_string(5300 + i) + "," + std::to_string(i % 3) + ",10");
    return v;
}

// A UDP socket bound to 127.0.0.1 on a kernel-chosen port; it never answers.
struct UdpSocket {
    int fd = -1;
    std::uint16_t port = 0;
    UdpSocket() {
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return;
        port = ntohs(a.sin_port);
    }
    ~UdpSocket() {
        if (fd >= 0) ::close(fd);
    }
};

std::uint16_t free_port() {
    UdpSocket s;
    return s.port;  // closed again when s goes: dnsmasq takes it (a race we retry on)
}

// Sends one A query for ready.test and waits up to `ms` for any answer.
bool answers(std::uint16_t port, int ms) {
    UdpSocket s;
    if (s.fd < 0) return false;
    timeval tv{0, ms * 1000};
    ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const unsigned char q[] = {0x12, 0x34, 0x01, 0x00, 0, 1,   0,   0,   0,   0, 0, 0, 5, 'r',
                               'e',  'a',  'd',  'y',  4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    if (::sendto(s.fd, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
        return false;
    unsigned char buf[512];
    return ::recv(s.fd, buf, sizeof buf, 0) > 0;
}

class Dnsmasq {
  public:
    ~Dnsmasq() { stop(); }

    // Starts dnsmasq and waits until it answers; on failure says why.
    bool start(std::string* why) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            if (port_ == 0) continue;
            std::vector<std::string> args = {kDnsmasq,
                                             "--conf-file=/dev/null",
                                             "--keep-in-foreground",
                                             "--no-resolv",
                                             "--no-hosts",
                                             "--no-poll",
                                             "--pid-file=",
                                             "--listen-address=127.0.0.1",
                                             "--bind-interfaces",
                                             "--local=/test/",
                                             "--log-facility=-",
                                             "--port=" + std::to_string(port_)};
            if (::geteuid() == 0) args.push_back("--user=nobody");  // only root may switch
            args.insert(args.end(), kRecords.begin(), kRecords.end());
            auto many = many_records();
            args.insert(args.end(), many.begin(), many.end());
            std::vector<char*> argv;
            for (auto& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            pid_t parent = ::getpid();
            pid_ = ::fork();
            if (pid_ < 0) {
                *why = std::string("fork: ") + std::strerror(errno);
                return false;
            }
            if (pid_ == 0) {
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
                if (::getppid() != parent) ::_exit(126);
                ::execv(kDnsmasq, argv.data());
                ::_exit(127);
            }
            for (int i = 0; i < 100; ++i) {  // up to ~5 s
                int status = 0;
                if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                    *why = "dnsmasq exited with status " + std::to_string(status);
                    pid_ = -1;
                    break;  // port taken in the meantime? try another
                }
                if (answers(port_, 50)) return true;
            }
            if (pid_ > 0) {
                stop();
                *why = "dnsmasq did not answer on 127.0.0.1:" + std::to_string(port_);
            }
        }
        return false;
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

class DnsLoop : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        uv_timer_init(&loop_, &guard_);
        uv_prepare_init(&loop_, &prepare_);
    }

    void TearDown() override {
        if (resolver_) resolver_->close();
        resolver_.reset();
        uv_close(reinterpret_cast<uv_handle_t*>(&guard_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
    }

    ResolverOptions options(std::string servers) {
        ResolverOptions o;
        o.servers = std::move(servers);
        o.timeout_ms = 300;
        o.tries = 2;
        o.random = [](std::uint32_t) { return 0u; };
        return o;
    }

    void make_resolver(ResolverOptions o) {
        auto r = Resolver::create(&loop_, std::move(o));
        ASSERT_TRUE(r.has_value()) << r.error().describe();
        resolver_ = std::move(*r);
    }

    // Runs the loop until `done` holds or `ms` pass; returns done(). A prepare handle checks
    // `done` before each poll and stops the loop, so a result delivered by a timer does not
    // leave uv_run blocked in poll until the guard expires.
    bool run_until(std::function<bool()> done, std::uint64_t ms) {
        bool expired = false;
        guard_.data = &expired;
        prepare_.data = &done;
        uv_timer_start(
            &guard_, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; }, ms, 0);
        uv_prepare_start(&prepare_, [](uv_prepare_t* p) {
            if ((*static_cast<std::function<bool()>*>(p->data))()) uv_stop(p->loop);
        });
        while (!done() && !expired)
            uv_run(&loop_, UV_RUN_ONCE);
        uv_timer_stop(&guard_);
        uv_prepare_stop(&prepare_);
        return done();
    }

    using ServerResult = std::optional<Result<std::vector<Endpoint>, DnsError>>;

    ServerResult find(std::string_view domain, std::string_view route = {},
                      std::uint64_t ms = 5000) {
        ServerResult out;
        Request req = resolver_->find_xmpp_server(
            domain, route, [&](Result<std::vector<Endpoint>, DnsError> r) { out = std::move(r); });
        EXPECT_TRUE(run_until([&] { return out.has_value(); }, ms)) << "no answer for " << domain;
        EXPECT_FALSE(req.is_pending());
        return out;
    }

    uv_loop_t loop_{};
    uv_timer_t guard_{};
    uv_prepare_t prepare_{};
    std::unique_ptr<Resolver> resolver_;
};

class DnsWithServer : public DnsLoop {
  protected:
    void SetUp() override {
        DnsLoop::SetUp();
        std::string why;
        ASSERT_TRUE(dnsmasq_.start(&why)) << "cannot start " << kDnsmasq << ": " << why;
        make_resolver(options(dnsmasq_.servers()));
    }
    void TearDown() override {
        DnsLoop::TearDown();
        dnsmasq_.stop();
    }
    Dnsmasq dnsmasq_;
};

std::vector<std::string> summary(const std::vector<Endpoint>& v) {
    std::vector<std::string> out;
    for (const auto& e : v)
        out.push_back(e.target_host + "=" + e.address.text + ":" + std::to_string(e.port) +
                      (e.direct_tls ? "/tls" : ""));
    return out;
}

using S = std::vector<std::string>;

TEST_F(DnsWithServer, SrvWithTwoTargetsResolvesToOrderedAddresses) {
    auto r = find("two.test");
    ASSERT_TRUE(r && r->has_value()) << (r ? r->error().describe() : "");
    EXPECT_EQ(summary(**r), (S{"xmpp1.two.test=::2:5269", "xmpp1.two.test=127.0.0.2:5269",
                               "xmpp2.two.test=127.0.0.3:5270"}));
    for (const auto& e : **r)
        EXPECT_EQ(e.domain, "two.test");
    EXPECT_EQ((**r)[0].address.family, AddressFamily::V6);
}

TEST_F(DnsWithServer, DirectTlsTargetComesFirstAtEqualPriority) {
    auto r = find("tls.test");
    ASSERT_TRUE(r && r->has_value()) << (r ? r->error().describe() : "");
    EXPECT_EQ(summary(**r),
              (S{"direct.tls.test=127.0.0.5:5223/tls", "starttls.tls.test=127.0.0.6:5269"}));
}

TEST_F(DnsWithServer, DotTargetIsNoServiceWithoutFallback) {
    auto r = find("nosvc.test");  // nosvc.test has an A record: it must not be used
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::NoService) << r->error().describe();
}

TEST_F(DnsWithServer, RawSrvDotTargetComesBackEmpty) {
    std::optional<Result<std::vector<SrvRecord>, DnsError>> out;
    Request req =
        resolver_->resolve_srv("_xmpp-server._tcp.nosvc.test", [&](auto r) { out = std::move(r); });
    ASSERT_TRUE(run_until([&] { return out.has_value(); }, 5000));
    ASSERT_TRUE(out->has_value()) << out->error().describe();
    ASSERT_EQ((*out)->size(), 1u);
    EXPECT_EQ((**out)[0].target, "");  // c-ares 1.18 spells "." as ""
    EXPECT_TRUE(is_no_service(**out));
}

TEST_F(DnsWithServer, LargeAnswerComesOverTcp) {
    std::optional<Result<std::vector<SrvRecord>, DnsError>> out;
    Request req =
        resolver_->resolve_srv("_xmpp-server._tcp.many.test", [&](auto r) { out = std::move(r); });
    ASSERT_TRUE(run_until([&] { return out.has_value(); }, 5000));
    ASSERT_TRUE(out->has_value()) << out->error().describe();
    EXPECT_EQ((*out)->size(), 30u);
}

TEST_F(DnsWithServer, NoSrvFallsBackToAddressesOn5269) {
    auto r = find("plain.test");
    ASSERT_TRUE(r && r->has_value()) << (r ? r->error().describe() : "");
    EXPECT_EQ(summary(**r), (S{"plain.test=::4:5269", "plain.test=127.0.0.4:5269"}));
}

TEST_F(DnsWithServer, UnknownDomainIsNotFound) {
    auto r = find("missing.test");
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::NotFound) << r->error().describe();
    EXPECT_NE(r->error().text.find("missing.test"), std::string::npos);
}

TEST_F(DnsWithServer, SrvTargetWithoutAddressIsNotFound) {
    auto r = find("dangling.test");
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::NotFound) << r->error().describe();
    EXPECT_NE(r->error().text.find("nowhere.dangling.test"), std::string::npos);
}

TEST_F(DnsWithServer, StaticRouteBypassesSrv) {
    auto r = find("two.test", "xmpp2.two.test:5999");
    ASSERT_TRUE(r && r->has_value()) << (r ? r->error().describe() : "");
    EXPECT_EQ(summary(**r), (S{"xmpp2.two.test=127.0.0.3:5999"}));
    EXPECT_EQ((**r)[0].domain, "two.test");
    auto numeric = find("two.test", "[::1]:5270");
    ASSERT_TRUE(numeric && numeric->has_value()) << (numeric ? numeric->error().describe() : "");
    EXPECT_EQ(summary(**numeric), (S{"::1=::1:5270"}));
    auto bad = find("two.test", "host:99999");
    ASSERT_TRUE(bad && !bad->has_value());
    EXPECT_EQ(bad->error().kind, DnsErrorKind::BadName);
}

TEST_F(DnsWithServer, ResolveAddressesBothFamilies) {
    std::optional<Result<std::vector<IpAddress>, DnsError>> out;
    Request req =
        resolver_->resolve_addresses("xmpp1.two.test", [&](auto r) { out = std::move(r); });
    ASSERT_TRUE(run_until([&] { return out.has_value(); }, 5000));
    ASSERT_TRUE(out->has_value()) << out->error().describe();
    std::vector<IpAddress> want{{AddressFamily::V6, "::2"}, {AddressFamily::V4, "127.0.0.2"}};
    EXPECT_EQ(**out, want);
    sockaddr_storage ss;
    EXPECT_TRUE(to_sockaddr(want[0], 5269, &ss));
    EXPECT_EQ(ss.ss_family, AF_INET6);
}

TEST_F(DnsWithServer, ManyLookupsAtOnceAllAnswer) {
    int answered = 0;
    std::vector<Request> reqs;
    for (int i = 0; i < 20; ++i)
        reqs.push_back(resolver_->find_xmpp_server(i % 2 ? "two.test" : "plain.test", "",
                                                   [&](auto r) { answered += r.has_value(); }));
    EXPECT_TRUE(run_until([&] { return answered == 20; }, 5000)) << answered;
}

TEST_F(DnsWithServer, CallbackMayDestroyTheResolver) {
    // Whichever answer comes first destroys the resolver from inside its own callback; the
    // other must then never be called, even if it was already queued for delivery.
    int calls = 0;
    auto cb = [&](auto) {
        ++calls;
        resolver_.reset();
    };
    Request a = resolver_->find_xmpp_server("two.test", "", cb);
    Request b = resolver_->find_xmpp_server("plain.test", "", cb);
    Request c = resolver_->resolve_addresses("::1", cb);  // completes at once, queued
    EXPECT_TRUE(run_until([&] { return calls > 0; }, 5000));
    run_until([] { return false; }, 50);
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(a.is_pending() || b.is_pending() || c.is_pending());
}

TEST_F(DnsWithServer, BusyBeyondMaxPending) {
    auto o = options(dnsmasq_.servers());
    o.max_pending = 1;
    resolver_.reset();
    make_resolver(o);
    std::optional<DnsErrorKind> first, second;
    Request a = resolver_->find_xmpp_server(
        "two.test", "", [&](auto r) { first = r ? DnsErrorKind::Internal : r.error().kind; });
    Request b = resolver_->find_xmpp_server(
        "two.test", "", [&](auto r) { second = r ? DnsErrorKind::Internal : r.error().kind; });
    ASSERT_TRUE(run_until([&] { return first && second; }, 5000));
    EXPECT_EQ(*first, DnsErrorKind::Internal);  // i.e. it succeeded
    EXPECT_EQ(*second, DnsErrorKind::Busy);
}

TEST_F(DnsLoop, ClosedPortIsRefusedQuickly) {
    std::uint16_t port = free_port();  // nothing listens there any more
    make_resolver(options("127.0.0.1:" + std::to_string(port)));
    std::uint64_t start = uv_hrtime();
    auto r = find("two.test");
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::Refused) << r->error().describe();
    EXPECT_LT((uv_hrtime() - start) / 1000000, 300u);
}

TEST_F(DnsLoop, SilentServerTimesOutWithinTheConfiguredTimeout) {
    UdpSocket silent;  // receives queries, never answers
    ASSERT_NE(silent.port, 0);
    auto o = options("127.0.0.1:" + std::to_string(silent.port));
    o.tries = 1;
    make_resolver(o);
    std::uint64_t start = uv_hrtime();
    auto r = find("two.test");
    std::uint64_t ms = (uv_hrtime() - start) / 1000000;
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::Timeout) << r->error().describe();
    EXPECT_TRUE(r->error().is_transient());
    EXPECT_GE(ms, 250u);
    EXPECT_LT(ms, 1500u);
}

TEST_F(DnsLoop, EachRoundOfTriesDoublesTheTimeout) {
    UdpSocket silent;
    auto o = options("127.0.0.1:" + std::to_string(silent.port));
    o.tries = 2;  // 300 ms, then 600 ms
    make_resolver(o);
    std::uint64_t start = uv_hrtime();
    auto r = find("two.test");
    std::uint64_t ms = (uv_hrtime() - start) / 1000000;
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::Timeout) << r->error().describe();
    EXPECT_GE(ms, 850u);
    EXPECT_LT(ms, 2500u);
}

TEST_F(DnsLoop, WithdrawnRequestIsNeverCalledBack) {
    UdpSocket silent;
    auto o = options("127.0.0.1:" + std::to_string(silent.port));
    o.tries = 1;
    make_resolver(o);
    bool called = false;
    {
        Request req = resolver_->find_xmpp_server("two.test", "", [&](auto) { called = true; });
        EXPECT_TRUE(req.is_pending());
        EXPECT_EQ(resolver_->pending(), 1u);
    }
    EXPECT_EQ(resolver_->pending(), 0u);
    Request moved_from = resolver_->resolve_srv("_x._tcp.two.test", [&](auto) { called = true; });
    Request holder = std::move(moved_from);
    holder.cancel();
    run_until([] { return false; }, 600);  // past the c-ares timeout
    EXPECT_FALSE(called);
}

TEST_F(DnsLoop, DestroyingTheResolverWithLookupsInFlight) {
    UdpSocket silent;
    make_resolver(options("127.0.0.1:" + std::to_string(silent.port)));
    bool called = false;
    Request req = resolver_->find_xmpp_server("two.test", "", [&](auto) { called = true; });
    Request addr = resolver_->resolve_addresses("xmpp1.two.test", [&](auto) { called = true; });
    Request route = resolver_->find_xmpp_server("two.test", "xmpp2.two.test:5270",
                                                [&](auto) { called = true; });
    run_until([] { return false; }, 20);  // let the queries reach the socket
    // A numeric lookup completes inside c-ares at once: queued, not yet delivered.
    Request queued = resolver_->resolve_addresses("127.0.0.1", [&](auto) { called = true; });
    resolver_.reset();
    EXPECT_FALSE(req.is_pending());
    req.cancel();  // the Resolver is gone: a no-op, not a crash
    run_until([] { return false; }, 50);
    EXPECT_FALSE(called);
}

TEST_F(DnsLoop, CloseIsIdempotentAndTheLoopCloses) {
    make_resolver(options("127.0.0.1:53"));
    resolver_->close();
    resolver_->close();
    EXPECT_TRUE(resolver_->is_closed());
}

TEST_F(DnsLoop, BadServersListIsBadConfig) {
    auto r = Resolver::create(&loop_, options("not-an-address:xx"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DnsErrorKind::BadConfig) << r.error().describe();
    ResolverOptions zero;
    zero.timeout_ms = 0;
    auto z = Resolver::create(&loop_, zero);
    ASSERT_FALSE(z.has_value());
    EXPECT_EQ(z.error().kind, DnsErrorKind::BadConfig);
}

TEST_F(DnsLoop, BadNamesFailWithoutAQuery) {
    make_resolver(options("127.0.0.1:53"));
    auto r = find("bad name.example");
    ASSERT_TRUE(r && !r->has_value());
    EXPECT_EQ(r->error().kind, DnsErrorKind::BadName);
}

}  // namespace
}  // namespace fedgw::dns
