// SipStack against a real sipp (package sip-tester) on 127.0.0.1: sipp as UAS answering our
// MESSAGE with 200, and sipp as UAC sending MESSAGE to us over UDP and TCP. sipp runs as a
// child process with -m 1 and a global timeout; a sipp that cannot start fails the test.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "tests/loop/sip/sip_loop_fixture.hpp"

#ifndef FEDGW_SIPP
#define FEDGW_SIPP "/usr/bin/sipp"
#endif
#ifndef FEDGW_SIPP_SCENARIOS
#define FEDGW_SIPP_SCENARIOS "."
#endif

namespace fedgw::gateway::sip::test {
namespace {

// A free port on 127.0.0.1 for the given socket type (bound, read back, released).
std::uint16_t free_port(int type) {
    const int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

struct Sipp {
    uv_process_t process{};
    bool exited = false;
    std::int64_t exit_status = -1;
    int term_signal = 0;
    std::string dir;

    ~Sipp() {
        if (!dir.empty()) std::filesystem::remove_all(dir);
    }

    // Returns uv_spawn's result: 0, or why sipp could not start.
    int spawn(uv_loop_t* loop, const std::vector<std::string>& args) {
        char tmpl[] = "/tmp/fedgw-sipp-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) return -1;
        dir = tmpl;
        std::vector<std::string> all = {FEDGW_SIPP};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        uv_stdio_container_t stdio[3];
        stdio[0].flags = UV_IGNORE;
        stdio[1].flags = UV_IGNORE;  // sipp's statistics screen
        stdio[2].flags = UV_INHERIT_FD;
        stdio[2].data.fd = 2;
        uv_process_options_t o{};
        o.file = FEDGW_SIPP;
        o.args = argv.data();
        o.cwd = dir.c_str();  // sipp writes its logs into the working directory
        o.stdio = stdio;
        o.stdio_count = 3;
        o.exit_cb = [](uv_process_t* p, std::int64_t status, int signal) {
            auto* self = static_cast<Sipp*>(p->data);
            self->exited = true;
            self->exit_status = status;
            self->term_signal = signal;
            uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
        };
        process.data = this;
        const int rc = uv_spawn(loop, &process, &o);
        if (rc != 0) {
            exited = true;
            uv_close(reinterpret_cast<uv_handle_t*>(&process), nullptr);
        }
        return rc;
    }
};

std::string scenario(const char* name) {
    return std::string(FEDGW_SIPP_SCENARIOS) + "/" + name;
}

class SippTest : public SipLoopTest {
  protected:
    void finish(Sipp& sipp) {
        if (!sipp.exited) {
            uv_process_kill(&sipp.process, SIGKILL);
            run_until([&] { return sipp.exited; }, 3000);
        }
    }
    // sipp takes a moment to start: T1 = 100 ms gives our request 6.4 s of retransmissions.
    static SipStackOptions patient() {
        SipStackOptions o;
        o.timers = SipTimers{100, 400, 500};
        return o;
    }
};

TEST_F(SippTest, SippAsUasAnswersOurMessage) {
    const std::uint16_t port = free_port(SOCK_DGRAM);
    Sipp sipp;
    const int rc = sipp.spawn(
        &loop_, {"-sf", scenario("uas_message.xml"), "-i", "127.0.0.1", "-p", std::to_string(port),
                 "-m", "1", "-timeout", "15s", "-timeout_error", "-nostdin"});
    ASSERT_EQ(rc, 0) << "cannot start " << FEDGW_SIPP << ": " << uv_strerror(rc);
    SipStack& a = make_stack({addr(SipTransport::Udp, 0)}, {}, patient());
    auto out = send(a, message_to("hello sipp"), addr(SipTransport::Udp, port));
    const bool done = run_until([&] { return out->done() && sipp.exited; }, 20000);
    finish(sipp);
    ASSERT_TRUE(done) << "sipp or the transaction did not finish";
    EXPECT_EQ(out->status, 200) << out->text;
    EXPECT_EQ(sipp.exit_status, 0) << "sipp reported a failed call";
    EXPECT_EQ(sipp.term_signal, 0);
}

class SippUacTest : public SippTest {
  protected:
    void run_uac(SipTransport transport, const char* mode, int socket_type) {
        SipStack& b = make_stack({addr(transport, 0)}, trust_loopback(), patient());
        std::vector<std::string> bodies;
        std::vector<PeerAddress> sources;
        b.on_request([&](const SipMessage& req, const ServerTransaction& tx) {
            bodies.push_back(req.body());
            sources.push_back(tx.source);
            EXPECT_TRUE(b.respond(tx, 200).has_value());
        });
        Sipp sipp;
        const int rc =
            sipp.spawn(&loop_, {"127.0.0.1:" + std::to_string(port_of(b, transport)), "-sf",
                                scenario("uac_message.xml"), "-t", mode, "-i", "127.0.0.1", "-p",
                                std::to_string(free_port(socket_type)), "-m", "1", "-timeout",
                                "15s", "-timeout_error", "-nostdin"});
        ASSERT_EQ(rc, 0) << "cannot start " << FEDGW_SIPP << ": " << uv_strerror(rc);
        const bool done = run_until([&] { return sipp.exited; }, 20000);
        finish(sipp);
        ASSERT_TRUE(done) << "sipp did not finish";
        EXPECT_EQ(sipp.exit_status, 0) << "sipp did not get its 200";
        ASSERT_EQ(bodies.size(), 1u);
        EXPECT_EQ(bodies[0].rfind("Hello from sipp", 0), 0u) << bodies[0];
        EXPECT_EQ(sources[0].transport, transport);
    }
};

TEST_F(SippUacTest, SippAsUacSendsMessageOverUdp) {
    run_uac(SipTransport::Udp, "u1", SOCK_DGRAM);
}

TEST_F(SippUacTest, SippAsUacSendsMessageOverTcp) {
    run_uac(SipTransport::Tcp, "t1", SOCK_STREAM);
}

}  // namespace
}  // namespace fedgw::gateway::sip::test
