// Loop tier for the fedgw-gateway executable (path in FEDGW_GATEWAY, set by meson): run the
// way operators and the interop tests run it, `fedgw-gateway --config FILE` with a config in
// the format of config/fedgw.toml.example; it logs gateway.ready with the bound addresses,
// takes a proxy link (registry snapshot), reloads on SIGHUP, stops cleanly on SIGTERM. Also
// --check-config, --version and a configuration error.
#include <gtest/gtest.h>
#include <uv.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/linkio/link_client.hpp"
#include "common/log/log.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw::gateway::test {
namespace {

using fedgw::test::IssuedCert;
using fedgw::test::TestCa;

class GatewayAppTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(uv_loop_init(&loop_), 0);
        ASSERT_EQ(uv_timer_init(&loop_, &tick_), 0);
        exe_ = std::getenv("FEDGW_GATEWAY") ? std::getenv("FEDGW_GATEWAY") : "";
        ASSERT_FALSE(exe_.empty()) << "FEDGW_GATEWAY is not set";
        gateway_cert_ = ca_.issue({.dns = {"gateway.test"}});
        proxy_cert_ = ca_.issue({.dns = {"proxy.test"}});
        log::set_sink([](log::Level, std::string_view) {});
    }

    void TearDown() override {
        if (running_) {
            uv_process_kill(&process_, SIGKILL);
            run_until([this] { return !running_; });
        }
        if (link_ && !link_->is_closed()) link_->close("test over");
        run_until([this] { return !link_ || link_->is_closed(); });
        link_.reset();
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle or request was left open";
        log::set_sink({});
        if (HasFailure()) std::fprintf(stderr, "gateway output:\n%s\n", output_.c_str());
    }

    // A port nobody listens on right now (bound to 0, read back, closed).
    std::uint16_t free_port(bool udp) {
        sockaddr_in a{};
        uv_ip4_addr("127.0.0.1", 0, &a);
        sockaddr_storage bound{};
        int len = sizeof bound;
        if (udp) {
            uv_udp_t u;
            uv_udp_init(&loop_, &u);
            uv_udp_bind(&u, reinterpret_cast<const sockaddr*>(&a), 0);
            uv_udp_getsockname(&u, reinterpret_cast<sockaddr*>(&bound), &len);
            uv_close(reinterpret_cast<uv_handle_t*>(&u), nullptr);
        } else {
            uv_tcp_t t;
            uv_tcp_init(&loop_, &t);
            uv_tcp_bind(&t, reinterpret_cast<const sockaddr*>(&a), 0);
            uv_tcp_getsockname(&t, reinterpret_cast<sockaddr*>(&bound), &len);
            uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
        }
        uv_run(&loop_, UV_RUN_NOWAIT);
        return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }

    std::string write_config(std::string extra_gateway = {}) {
        link_port_ = free_port(false);
        sip_port_ = free_port(true);
        const std::string text =
            "[log]\nlevel = \"debug\"\n\n[registry]\npath = \"" + ca_.path("registry.sqlite") +
            "\"\n\n[gateway]\nlisten = [\"127.0.0.1:" + std::to_string(link_port_) +
            "\"]\ncontrol_socket = \"" + ca_.path("gateway.sock") +
            "\"\ndomains = [\"sip.test\"]\ncert = \"" + gateway_cert_.chain_path + "\"\nkey = \"" +
            gateway_cert_.key_path + "\"\nca = \"" + ca_.ca_path() +
            "\"\nproxy_name = \"proxy.test\"\n" + extra_gateway +
            "\n[gateway.sip]\nlisten = [\"udp:127.0.0.1:" + std::to_string(sip_port_) +
            "\"]\nnext_hops = [\"udp:127.0.0.1:5060\"]\n\n[gateway.timers]\n"
            "t1 = \"20ms\"\nt2 = \"160ms\"\nt4 = \"200ms\"\nshutdown_grace = \"1s\"\n";
        const std::string path = ca_.path("fedgw.toml");
        fedgw::test::write_file(path, text);
        return path;
    }

    void spawn(std::vector<std::string> args) {
        args.insert(args.begin(), exe_);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ASSERT_EQ(uv_pipe_init(&loop_, &out_, 0), 0);
        ASSERT_EQ(uv_pipe_init(&loop_, &err_, 0), 0);
        uv_stdio_container_t stdio[3];
        stdio[0].flags = UV_IGNORE;
        stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
        stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&out_);
        stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
        stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&err_);
        uv_process_options_t po{};
        po.file = exe_.c_str();
        po.args = argv.data();
        po.stdio = stdio;
        po.stdio_count = 3;
        po.exit_cb = [](uv_process_t* p, int64_t status, int signal) {
            auto* self = static_cast<GatewayAppTest*>(p->data);
            self->exit_status_ = status;
            self->exit_signal_ = signal;
            self->running_ = false;
            uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
        };
        process_.data = this;
        ASSERT_EQ(uv_spawn(&loop_, &process_, &po), 0);
        running_ = true;
        pipes_open_ = 2;
        for (uv_pipe_t* p : {&out_, &err_}) {
            p->data = this;
            uv_read_start(
                reinterpret_cast<uv_stream_t*>(p),
                [](uv_handle_t*, std::size_t, uv_buf_t* b) {
                    static char buf[65536];
                    *b = uv_buf_init(buf, sizeof buf);
                },
                [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                    auto* self = static_cast<GatewayAppTest*>(s->data);
                    if (n < 0) {
                        uv_close(reinterpret_cast<uv_handle_t*>(s), [](uv_handle_t* h) {
                            --static_cast<GatewayAppTest*>(h->data)->pipes_open_;
                        });
                        return;
                    }
                    self->output_.append(b->base, static_cast<std::size_t>(n));
                });
        }
    }

    // Runs the program to its end; returns its exit status.
    std::int64_t run_to_end(std::vector<std::string> args) {
        spawn(std::move(args));
        EXPECT_TRUE(run_until([this] { return !running_ && pipes_open_ == 0; }, 10000));
        return exit_status_;
    }

    bool saw(std::string_view text) const { return output_.find(text) != std::string::npos; }

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

    TestCa ca_;
    IssuedCert gateway_cert_;
    IssuedCert proxy_cert_;
    std::string exe_;
    uv_loop_t loop_{};
    uv_timer_t tick_{};
    uv_process_t process_{};
    uv_pipe_t out_{};
    uv_pipe_t err_{};
    bool running_ = false;
    int pipes_open_ = 0;
    std::int64_t exit_status_ = -1;
    int exit_signal_ = 0;
    std::string output_;
    std::uint16_t link_port_ = 0;
    std::uint16_t sip_port_ = 0;
    std::unique_ptr<link::LinkClient> link_;
};

TEST_F(GatewayAppTest, ServesReloadsAndStopsOnSignals) {
    const std::string config = write_config();
    spawn({"--config", config});
    ASSERT_TRUE(run_until([this] { return saw("event=gateway.ready"); }, 10000));
    EXPECT_TRUE(saw("link=127.0.0.1:" + std::to_string(link_port_)));
    EXPECT_TRUE(saw("sip=udp:127.0.0.1:" + std::to_string(sip_port_)));

    // The proxy's end of the link gets the registry snapshot.
    std::vector<std::uint64_t> snapshots;
    link::LinkClientOptions o;
    o.gateway = *parse_host_port("127.0.0.1:" + std::to_string(link_port_));
    o.gateway_name = "gateway.test";
    o.cert_file = proxy_cert_.chain_path;
    o.key_file = proxy_cert_.key_path;
    o.ca_file = ca_.ca_path();
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 80;
    link::LinkClientCallbacks cb;
    cb.on_up = [](const link::Hello&) {};
    cb.on_down = [](const link::CloseReason&) {};
    cb.on_stanza = [](link::StanzaFrame) {};
    cb.on_registry = [&](std::uint64_t v, std::string) { snapshots.push_back(v); };
    cb.on_writable = [] {};
    auto c = link::LinkClient::create(&loop_, std::move(o), std::move(cb));
    ASSERT_TRUE(c.has_value()) << c.error().describe();
    link_ = std::move(*c);
    link_->start();
    ASSERT_TRUE(run_until([&] { return !snapshots.empty(); }));

    uv_process_kill(&process_, SIGHUP);
    ASSERT_TRUE(run_until([this] { return saw("event=gateway.reloaded"); }));
    // A reload that fails keeps the running configuration, and the gateway keeps serving.
    fedgw::test::write_file(config, "[gateway]\nlisten = 5\n");
    uv_process_kill(&process_, SIGHUP);
    ASSERT_TRUE(run_until([this] { return saw("event=gateway.reload_failed"); }));
    EXPECT_TRUE(link_->is_up());
    uv_process_kill(&process_, SIGTERM);
    ASSERT_TRUE(run_until([this] { return !running_ && pipes_open_ == 0; }, 10000));
    EXPECT_EQ(exit_status_, 0);
    EXPECT_EQ(exit_signal_, 0);
    EXPECT_TRUE(saw("event=gateway.stopped"));
    EXPECT_FALSE(saw("gateway.loop_not_clean"));
}

TEST_F(GatewayAppTest, CheckConfigAndVersion) {
    const std::string config = write_config();
    EXPECT_EQ(run_to_end({"--check-config", "--config", config}), 0);
    EXPECT_TRUE(saw("configuration is valid for fedgw-gateway"));
    output_.clear();
    EXPECT_EQ(run_to_end({"--version"}), 0);
    EXPECT_TRUE(saw("fedgw-gateway " FEDGW_VERSION));
}

TEST_F(GatewayAppTest, ConfigurationErrorExitsWithOne) {
    const std::string config = write_config("domain = [\"typo.test\"]\n");
    EXPECT_EQ(run_to_end({"--config", config}), 1);
    EXPECT_TRUE(saw("gateway.domain")) << "the error names the key";
}

}  // namespace
}  // namespace fedgw::gateway::test
