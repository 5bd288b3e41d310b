// Loop tier: fedgw-gateway's control socket ([gateway] control_socket, the protocol in
// docs/ARCHITECTURE.md) answers `status` with the same object GatewayServer::status() builds,
// owner-only, and is gone after a graceful stop. The query runs on a thread: it blocks, and the
// server answers from the loop.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <optional>
#include <thread>

#include "common/control/control_client.hpp"
#include "tests/loop/gateway/gateway_fixture.hpp"

namespace fedgw::gateway::test {
namespace {

TEST_F(GatewayLoopTest, ControlSocketAnswersStatus) {
    Config c = make_config();
    const std::string path = c.gateway->control_socket;
    start_gateway(std::move(c));
    ProxyEnd& proxy = start_proxy();
    (void)proxy;

    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "the control socket is owner-only";

    std::atomic<bool> done{false};
    std::optional<Result<nlohmann::json, control::ControlError>> reply;
    std::thread t([&] {
        reply.emplace(control::query(path, "status"));
        done = true;
    });
    EXPECT_TRUE(run_until([&] { return done.load(); }, 5000)) << "no answer on " << path;
    t.join();
    ASSERT_TRUE(reply && reply->has_value()) << (reply ? (*reply).error().text : "none");
    const nlohmann::json& j = **reply;
    EXPECT_EQ(j.value("service", ""), "fedgw-gateway");
    ASSERT_TRUE(j.contains("links")) << j.dump();
    ASSERT_EQ(j["links"].size(), 1u) << j.dump();
    EXPECT_EQ(j["links"][0].value("state", ""), "up");
    EXPECT_TRUE(j.contains("sip")) << j.dump();
    EXPECT_TRUE(j.contains("subscriptions")) << j.dump();

    gateway_->stop();
    ASSERT_TRUE(run_until([this] { return gateway_->is_stopped(); }, 10000));
    run_for(50);
    EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket is removed on a clean stop";
}

}  // namespace
}  // namespace fedgw::gateway::test
