// Loop tier for tools/link_endpoint (fedgw-link-endpoint, the stand-in gateway): the test
// spawns it on 127.0.0.1 port 0, dials it with a LinkClient, and checks the JSON lines both
// ways, the registry snapshot and a clean exit at the end of stdin. The executable's path comes
// from the FEDGW_LINK_ENDPOINT environment variable (set by meson).
#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <uv.h>
#include <nlohmann/json.hpp>

#include "tests/loop/linkio/link_fixture.hpp"

namespace fedgw::link::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class LinkEndpointTest : public LinkLoopTest {
  protected:
    void spawn(std::vector<std::string> args) {
        const char* exe = std::getenv("FEDGW_LINK_ENDPOINT");
        ASSERT_NE(exe, nullptr) << "FEDGW_LINK_ENDPOINT is not set";
        args.insert(args.begin(), exe);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ASSERT_EQ(uv_pipe_init(&loop_, &in_, 0), 0);
        ASSERT_EQ(uv_pipe_init(&loop_, &out_, 0), 0);
        uv_stdio_container_t stdio[3];
        stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
        stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&in_);
        stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
        stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&out_);
        stdio[2].flags = UV_INHERIT_FD;
        stdio[2].data.fd = 2;
        uv_process_options_t po{};
        po.file = exe;
        po.args = argv.data();
        po.stdio = stdio;
        po.stdio_count = 3;
        po.exit_cb = [](uv_process_t* p, int64_t status, int) {
            auto* self = static_cast<LinkEndpointTest*>(p->data);
            self->exit_status_ = status;
            uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
        };
        process_.data = this;
        ASSERT_EQ(uv_spawn(&loop_, &process_, &po), 0);
        spawned_ = true;
        out_.data = this;
        ASSERT_EQ(uv_read_start(
                      reinterpret_cast<uv_stream_t*>(&out_),
                      [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
                          static char buffer[65536];
                          buf->base = buffer;
                          buf->len = sizeof buffer;
                      },
                      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                          auto* self = static_cast<LinkEndpointTest*>(s->data);
                          if (n < 0) {
                              uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
                              return;
                          }
                          self->partial_.append(buf->base, static_cast<std::size_t>(n));
                          std::size_t nl;
                          while ((nl = self->partial_.find('\n')) != std::string::npos) {
                              self->lines_.push_back(json::parse(self->partial_.substr(0, nl)));
                              self->partial_.erase(0, nl + 1);
                          }
                      }),
                  0);
    }

    void write_stdin(std::string line) {
        auto* req = new WriteReq{uv_write_t{}, std::move(line)};
        req->req.data = req;
        uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
        ASSERT_EQ(uv_write(&req->req, reinterpret_cast<uv_stream_t*>(&in_), &buf, 1,
                           [](uv_write_t* r, int) { delete static_cast<WriteReq*>(r->data); }),
                  0);
    }

    std::vector<json> events(const std::string& name) const {
        std::vector<json> v;
        for (const auto& l : lines_)
            if (l.value("event", "") == name) v.push_back(l);
        return v;
    }

    void TearDown() override {
        if (spawned_ && exit_status_ < 0) {
            uv_process_kill(&process_, SIGTERM);
            run_until([this] { return exit_status_ >= 0; });
        }
        for (auto* h :
             {reinterpret_cast<uv_handle_t*>(&in_), reinterpret_cast<uv_handle_t*>(&out_)})
            if (spawned_ && !uv_is_closing(h)) uv_close(h, nullptr);
        LinkLoopTest::TearDown();
    }

    struct WriteReq {
        uv_write_t req;
        std::string data;
    };

    uv_process_t process_{};
    uv_pipe_t in_{};
    uv_pipe_t out_{};
    bool spawned_ = false;
    std::int64_t exit_status_ = -1;
    std::string partial_;
    std::vector<json> lines_;
};

TEST_F(LinkEndpointTest, RelaysStanzasAsJsonLinesBothWays) {
    const std::string registry = ca_->path("registry.json");
    fedgw::test::write_file(registry, R"({"partners": [{"domain": "partner.test"}]})");
    spawn({"--listen", "127.0.0.1:0", "--cert", gateway_cert_->chain_path, "--key",
           gateway_cert_->key_path, "--ca", ca_->ca_path(), "--proxy-name", "proxy.test",
           "--registry", registry, "--registry-version", "3", "--window", "2", "--exit-on-eof",
           "--log-level", "warn"});
    ASSERT_TRUE(run_until([this] { return !events("listening").empty(); }));
    auto address = parse_host_port(events("listening")[0]["address"].get<std::string>());
    ASSERT_TRUE(address.has_value());

    ClientEnd& c = start_client(client_options(address->port));
    ASSERT_TRUE(run_until([&] { return c.client->is_up() && !c.rec.registries.empty(); }));
    EXPECT_EQ(c.rec.ups[0].node, "gateway.test");
    EXPECT_EQ(c.rec.ups[0].window, 2U);
    EXPECT_EQ(c.rec.registries[0].first, 3U);
    EXPECT_EQ(json::parse(c.rec.registries[0].second)["partners"][0]["domain"], "partner.test");
    ASSERT_TRUE(run_until([this] { return !events("up").empty(); }));
    EXPECT_EQ(events("up")[0]["node"], "proxy.test");

    // Proxy → endpoint: more stanzas than the window of 2, so the endpoint's credit must flow.
    int sent = 0;
    ASSERT_TRUE(run_until([&] {
        while (sent < 5 && c.client->send_stanza(stanza("n" + std::to_string(sent))))
            ++sent;
        return events("stanza").size() == 5;
    }));
    auto got = events("stanza");
    EXPECT_THAT(got[4]["xml"].get<std::string>(), HasSubstr("<body>n4</body>"));
    EXPECT_EQ(got[0]["partner"], "partner.test");
    EXPECT_EQ(got[0]["partner-type"], "federated");
    EXPECT_EQ(got[0]["auth"], "sasl-external");
    EXPECT_EQ(got[0]["local"], "sip.test");
    EXPECT_EQ(got[0]["seq"], 1);

    // Endpoint → proxy, from stdin; a bad line is reported, not fatal.
    write_stdin("not json\n");
    write_stdin(
        R"({"xml":"<message to='bob@partner.test'><body>back</body></message>","local":"sip.test"})"
        "\n");
    ASSERT_TRUE(run_until([&] { return c.rec.stanzas.size() == 1 && !events("error").empty(); }));
    EXPECT_THAT(c.rec.stanzas[0].xml, HasSubstr("<body>back</body>"));
    EXPECT_EQ(c.rec.stanzas[0].local, "sip.test");

    // End of stdin: the endpoint says GOODBYE and exits 0.
    uv_close(reinterpret_cast<uv_handle_t*>(&in_), nullptr);
    ASSERT_TRUE(run_until([&] { return exit_status_ >= 0 && !c.rec.downs.empty(); }));
    EXPECT_EQ(exit_status_, 0);
    EXPECT_EQ(c.rec.downs[0].code, CloseCode::PeerGoodbye);
    ASSERT_TRUE(run_until([this] { return !events("down").empty(); }));
}

TEST_F(LinkEndpointTest, BadArgumentsExitNonZero) {
    spawn({"--listen", "gateway.test:23456", "--cert", gateway_cert_->chain_path, "--key",
           gateway_cert_->key_path, "--ca", ca_->ca_path(), "--proxy-name", "proxy.test"});
    ASSERT_TRUE(run_until([this] { return exit_status_ >= 0; }));
    EXPECT_NE(exit_status_, 0);
}

}  // namespace
}  // namespace fedgw::link::test
