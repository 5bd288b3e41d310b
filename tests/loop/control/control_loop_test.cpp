// Loop tier for common/control: a ControlServer on a real libuv loop answering the blocking
// query() client (run from a second thread while the loop runs) and raw POSIX clients; the
// socket's owner-only mode, stale and live socket files at start-up, the limits (request
// bytes, concurrent clients, per-client deadline), and every client-side error kind. Each
// test closes the server and proves the loop closes clean.
//
// Loop-bound test: UNIX sockets in a fresh temporary directory.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/control/control_client.hpp"
#include "common/control/control_server.hpp"
#include "common/control/status_control.hpp"

namespace fedgw::control {
namespace {

using namespace std::chrono_literals;

sockaddr_un address(const std::string& path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    return sa;
}

// A blocking client that speaks raw bytes: connect, send, optionally shut down the write side,
// read until EOF (or 3 s).
int raw_connect(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto sa = address(path);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    return fd;
}

std::string read_all(int fd) {
    std::string got;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 3000) <= 0) return got + "<timeout>";
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return got;
        got.append(buf, static_cast<std::size_t>(n));
    }
}

std::string raw_exchange(const std::string& path, const std::string& bytes, bool shut_wr) {
    int fd = raw_connect(path);
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (shut_wr) ::shutdown(fd, SHUT_WR);
    std::string got = read_all(fd);
    ::close(fd);
    return got;
}

class ControlLoopTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/fedgw-ctl-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/proxy.sock";
        std::signal(SIGPIPE, SIG_IGN);  // as the services do (control_server.hpp)
        ASSERT_EQ(uv_loop_init(&loop_), 0);
    }

    void TearDown() override {
        server_.reset();
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
        std::filesystem::remove_all(dir_);
    }

    static nlohmann::json status_reply() {
        return nlohmann::json{{"service", "fedgw-test"}, {"pid", 42}};
    }

    void start(ControlLimits limits = {}) {
        limits.service = "fedgw-test";
        auto s = ControlServer::create(
            &loop_, path_,
            [this](std::string_view cmd, const nlohmann::json& req) -> nlohmann::json {
                ++handled_;
                if (cmd == "status") return status_reply();
                if (cmd == "echo") return req;
                if (cmd == "throw") throw std::runtime_error("boom");
                if (cmd == "stop") {
                    server_->close();
                    return nlohmann::json{{"stopping", true}};
                }
                return nullptr;
            },
            limits);
        ASSERT_TRUE(s.has_value()) << s.error().text;
        server_ = std::move(*s);
    }

    // Runs `work` on a second thread while the loop runs here; returns when it is done.
    void in_thread(const std::function<void()>& work) {
        uv_async_t done{};
        uv_timer_t watchdog{};
        ASSERT_EQ(uv_async_init(&loop_, &done, [](uv_async_t* a) { uv_stop(a->loop); }), 0);
        uv_timer_init(&loop_, &watchdog);
        bool timed_out = false;
        watchdog.data = &timed_out;
        uv_timer_start(
            &watchdog,
            [](uv_timer_t* t) {
                *static_cast<bool*>(t->data) = true;
                uv_stop(t->loop);
            },
            15000, 0);
        std::thread t([&] {
            work();
            uv_async_send(&done);
        });
        uv_run(&loop_, UV_RUN_DEFAULT);
        t.join();
        uv_close(reinterpret_cast<uv_handle_t*>(&done), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
        uv_run(&loop_, UV_RUN_NOWAIT);
        ASSERT_FALSE(timed_out) << "the loop watchdog fired";
    }

    // Runs the loop until `done()` holds (every 10 ms), at most 5 s.
    void run_until(const std::function<bool()>& done) {
        uv_timer_t t{};
        uv_timer_init(&loop_, &t);
        struct Ctx {
            const std::function<bool()>* done;
            std::uint64_t until;
        } ctx{&done, uv_now(&loop_) + 5000};
        t.data = &ctx;
        uv_timer_start(
            &t,
            [](uv_timer_t* h) {
                auto* c = static_cast<Ctx*>(h->data);
                if ((*c->done)() || uv_now(h->loop) > c->until) uv_stop(h->loop);
            },
            0, 10);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
        uv_run(&loop_, UV_RUN_NOWAIT);
        ASSERT_TRUE(done());
    }

    uv_loop_t loop_{};
    std::string dir_, path_;
    std::unique_ptr<ControlServer> server_;
    int handled_ = 0;
};

TEST_F(ControlLoopTest, StatusRoundTripOnAnOwnerOnlySocket) {
    start();
    struct stat st {};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    Result<nlohmann::json, ControlError> r = Unexpected(ControlError{"not run"});
    Result<nlohmann::json, ControlError> echo = Unexpected(ControlError{"not run"});
    in_thread([&] {
        r = query(path_, "status");
        echo = query_request(path_, nlohmann::json{{"cmd", "echo"}, {"x", "é"}});
    });
    ASSERT_TRUE(r.has_value()) << r.error().text;
    EXPECT_EQ(*r, status_reply());
    ASSERT_TRUE(echo.has_value()) << echo.error().text;
    EXPECT_EQ((*echo)["x"], "é");
    EXPECT_EQ(handled_, 2);

    server_->close();
    EXPECT_FALSE(std::filesystem::exists(path_)) << "close() unlinks the socket";
}

TEST_F(ControlLoopTest, UnknownAndMalformedRequestsGetAnError) {
    start();
    Result<nlohmann::json, ControlError> unknown = Unexpected(ControlError{"not run"});
    std::string garbage, array, no_newline;
    in_thread([&] {
        unknown = query(path_, "frobnicate");
        garbage = raw_exchange(path_, "hello\n", false);
        array = raw_exchange(path_, "[\"status\"]\n", false);
        // `printf '{"cmd":"status"}' | nc -U`: no newline, then EOF.
        no_newline = raw_exchange(path_, "{\"cmd\":\"status\"}", true);
    });
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().kind, ControlErrorKind::ServerError);
    EXPECT_EQ(unknown.error().text, "unknown command \"frobnicate\"");
    EXPECT_EQ(garbage, "{\"error\":\"the request is not valid JSON\"}\n");
    EXPECT_EQ(array, "{\"error\":\"the request must be a JSON object\"}\n");
    EXPECT_EQ(no_newline, reply_line(status_reply()));
}

// A client that sends its request and vanishes before the answer costs the server nothing.
TEST_F(ControlLoopTest, ClientGoneBeforeTheAnswerIsHarmless) {
    start();
    int handled_before = 0;
    Result<nlohmann::json, ControlError> after = Unexpected(ControlError{"not run"});
    in_thread([&] {
        for (int i = 0; i < 20; ++i) {
            int fd = raw_connect(path_);
            std::string line = request_line("status");
            ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
            ::close(fd);
        }
    });
    handled_before = handled_;
    run_until([&] { return server_->client_count() == 0; });
    in_thread([&] { after = query(path_, "status"); });
    EXPECT_TRUE(after.has_value()) << after.error().text;
    EXPECT_GE(handled_, handled_before);
}

TEST_F(ControlLoopTest, OverlongRequestIsRefused) {
    start();
    std::string got;
    in_thread([&] { got = raw_exchange(path_, std::string(5000, 'x'), false); });
    EXPECT_EQ(got, "{\"error\":\"request longer than 4096 bytes\"}\n");
    EXPECT_EQ(handled_, 0);
}

TEST_F(ControlLoopTest, HandlerExceptionBecomesAnErrorReply) {
    start();
    Result<nlohmann::json, ControlError> r = Unexpected(ControlError{"not run"});
    Result<nlohmann::json, ControlError> after = Unexpected(ControlError{"not run"});
    in_thread([&] {
        r = query(path_, "throw");
        after = query(path_, "status");
    });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, ControlErrorKind::ServerError);
    EXPECT_EQ(r.error().text, "internal error: boom");
    EXPECT_TRUE(after.has_value()) << "the server lives on";
}

TEST_F(ControlLoopTest, HandlerMayCloseTheServer) {
    start();
    Result<nlohmann::json, ControlError> r = Unexpected(ControlError{"not run"});
    in_thread([&] { r = query(path_, "stop"); });
    // The reply is lost with the connection; what matters is no crash and a clean loop.
    EXPECT_FALSE(r.has_value());
    EXPECT_TRUE(server_->is_closed());
    EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(ControlLoopTest, StaleSocketIsReplacedLiveOneIsRefused) {
    // A socket file whose process is gone: bound, never unlinked, nobody listening.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto sa = address(path_);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
    ASSERT_TRUE(std::filesystem::exists(path_));

    start();
    Result<nlohmann::json, ControlError> r = Unexpected(ControlError{"not run"});
    in_thread([&] { r = query(path_, "status"); });
    EXPECT_TRUE(r.has_value()) << r.error().text;

    auto second = ControlServer::create(
        &loop_, path_, [](std::string_view, const nlohmann::json&) { return nlohmann::json(); },
        ControlLimits{.service = "fedgw-proxy"});
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().kind, ControlErrorKind::InUse);
    EXPECT_EQ(second.error().text, "another fedgw-proxy is running on " + path_);
    EXPECT_TRUE(std::filesystem::exists(path_)) << "the live socket is left alone";
}

TEST_F(ControlLoopTest, ARegularFileAtThePathIsNeverRemoved) {
    std::ofstream(path_) << "keep me";
    auto s = ControlServer::create(
        &loop_, path_, [](std::string_view, const nlohmann::json&) { return nlohmann::json(); });
    ASSERT_FALSE(s.has_value());
    EXPECT_NE(s.error().text.find("is not a socket"), std::string::npos) << s.error().text;
    EXPECT_TRUE(std::filesystem::is_regular_file(path_));

    auto missing_dir = ControlServer::create(
        &loop_, dir_ + "/no/such/dir.sock",
        [](std::string_view, const nlohmann::json&) { return nlohmann::json(); });
    ASSERT_FALSE(missing_dir.has_value());
    EXPECT_NE(missing_dir.error().text.find("cannot listen"), std::string::npos);

    auto too_long = ControlServer::create(
        &loop_, dir_ + "/" + std::string(120, 'x'),
        [](std::string_view, const nlohmann::json&) { return nlohmann::json(); });
    ASSERT_FALSE(too_long.has_value());
    EXPECT_NE(too_long.error().text.find("longer than"), std::string::npos);
}

TEST_F(ControlLoopTest, ClientErrorsSayWhatIsWrong) {
    auto none = query(dir_ + "/absent.sock", "status");
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().kind, ControlErrorKind::NoSocket);
    EXPECT_NE(none.error().text.find("not running"), std::string::npos);

    // Stale: bound, nobody listening.
    std::string stale = dir_ + "/stale.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto sa = address(stale);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
    auto refused = query(stale, "status");
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().kind, ControlErrorKind::ConnectionRefused);
    EXPECT_NE(refused.error().text.find("stale"), std::string::npos);

    // Listening but never answering: the deadline holds.
    std::string mute = dir_ + "/mute.sock";
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sa = address(mute);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    auto t0 = std::chrono::steady_clock::now();
    auto slow = query(mute, "status", 200ms);
    auto took = std::chrono::steady_clock::now() - t0;
    ::close(fd);
    ASSERT_FALSE(slow.has_value());
    EXPECT_EQ(slow.error().kind, ControlErrorKind::Timeout);
    EXPECT_LT(took, 2s);
}

TEST_F(ControlLoopTest, PermissionDeniedForAnotherUser) {
    start();
    int kind = -1;
    if (::geteuid() == 0) {
        // root may open anything: ask as nobody, in a child process.
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(100);
            auto r = query(path_, "status", 1s);
            ::_exit(r.has_value() ? 101 : static_cast<int>(r.error().kind));
        }
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        kind = WEXITSTATUS(status);
    } else {
        // The owner itself is refused once the mode no longer lets it in.
        ASSERT_EQ(::chmod(path_.c_str(), 0), 0);
        auto r = query(path_, "status", 1s);
        kind = r.has_value() ? 101 : static_cast<int>(r.error().kind);
    }
    EXPECT_EQ(kind, static_cast<int>(ControlErrorKind::PermissionDenied));
}

TEST_F(ControlLoopTest, SilentClientIsClosedAtItsDeadline) {
    start(ControlLimits{.client_timeout_ms = 200});
    std::string got;
    in_thread([&] {
        int fd = raw_connect(path_);
        ::send(fd, "{\"cmd\":", 7, MSG_NOSIGNAL);  // and then nothing
        got = read_all(fd);
        ::close(fd);
    });
    EXPECT_EQ(got, "{\"error\":\"timeout: no complete request in time\"}\n");
    EXPECT_EQ(server_->client_count(), 0u);
}

TEST_F(ControlLoopTest, ClientsBeyondTheLimitAreToldBusy) {
    start(ControlLimits{.max_clients = 2});
    int idle1 = -1, idle2 = -1;
    Result<nlohmann::json, ControlError> busy = Unexpected(ControlError{"not run"});
    in_thread([&] {
        idle1 = raw_connect(path_);
        idle2 = raw_connect(path_);
        busy = query(path_, "status");
    });
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().kind, ControlErrorKind::ServerError);
    EXPECT_EQ(busy.error().text, "busy: too many control clients");
    EXPECT_EQ(server_->client_count(), 2u);

    ::close(idle1);
    ::close(idle2);
    run_until([&] { return server_->client_count() == 0; });
    Result<nlohmann::json, ControlError> ok = Unexpected(ControlError{"not run"});
    in_thread([&] { ok = query(path_, "status"); });
    EXPECT_TRUE(ok.has_value()) << ok.error().text;
}

TEST_F(ControlLoopTest, DestroyingTheServerWithClientsConnectedIsClean) {
    start();
    int fd = -1;
    in_thread([&] { fd = raw_connect(path_); });
    run_until([&] { return server_->client_count() == 1; });
    server_.reset();  // TearDown proves the loop closes clean
    EXPECT_FALSE(std::filesystem::exists(path_));
    ::close(fd);
}

TEST_F(ControlLoopTest, StatusOnlyServiceAnswersStatusAndNothingElse) {
    int calls = 0;
    auto s = open_status_control(&loop_, path_, "fedgw-gateway", [&] {
        ++calls;
        return status_reply();
    });
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);

    Result<nlohmann::json, ControlError> r = Unexpected(ControlError{"not run"});
    Result<nlohmann::json, ControlError> other = Unexpected(ControlError{"not run"});
    in_thread([&] {
        r = query(path_, "status");
        other = query(path_, "stop");
    });
    ASSERT_TRUE(r.has_value()) << r.error().text;
    EXPECT_EQ(*r, status_reply());
    ASSERT_FALSE(other.has_value());
    EXPECT_EQ(other.error().kind, ControlErrorKind::ServerError);
    EXPECT_EQ(other.error().text, "unknown command \"stop\"");
    EXPECT_EQ(calls, 1);

    // A second instance is told which service holds the socket, as plain start-up text.
    auto second = open_status_control(
        &loop_, path_, "fedgw-gateway", [] { return status_reply(); },
        ControlLimits{.service = "ignored"});
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error(), "another fedgw-gateway is running on " + path_);
}

}  // namespace
}  // namespace fedgw::control
