// Loop tier for the link ends (common/linkio): LinkClient and LinkServer over real TCP on
// 127.0.0.1 with mutual TLS from the throwaway test CA. Scenarios: stanzas both ways and the
// registry snapshot, names refused on either side, HELLO mismatch, reconnection with backoff
// when the gateway is down at start or restarts, backpressure through credits, handshake
// deadline. Every test proves uv_loop_close() == 0 in TearDown.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <uv.h>

#include "tests/loop/linkio/link_fixture.hpp"

namespace fedgw::link::test {
namespace {

using ::testing::HasSubstr;

TEST_F(LinkLoopTest, StanzasFlowBothWaysAndTheRegistryArrives) {
    on_server_up = [this](ConnId id) {
        EXPECT_TRUE(server_->send_registry(id, 5, R"({"partners":[]})").has_value());
    };
    auto port = start_server(server_options());
    ClientEnd& c = start_client(client_options(port));
    ASSERT_TRUE(run_until([&] { return c.client->is_up() && srec_.ups.size() == 1; }));

    ASSERT_EQ(c.rec.ups.size(), 1U);
    EXPECT_EQ(c.rec.ups[0].node, "gateway.test");
    EXPECT_EQ(c.rec.ups[0].role, Role::Gateway);
    ASSERT_EQ(srec_.hellos.size(), 1U);
    EXPECT_EQ(srec_.hellos[0].node, "proxy.test");
    EXPECT_EQ(c.client->node(), "proxy.test");
    EXPECT_EQ(server_->node(), "gateway.test");

    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(c.client->send_stanza(stanza("in" + std::to_string(i))).has_value());
    for (int i = 0; i < 2; ++i) {
        auto sent = server_->send_stanza_any(stanza("out" + std::to_string(i)));
        ASSERT_TRUE(sent.has_value());
        EXPECT_EQ(*sent, srec_.ups[0]);
    }
    ASSERT_TRUE(run_until([&] {
        return srec_.stanzas.size() == 3 && c.rec.stanzas.size() == 2 &&
               c.rec.registries.size() == 1;
    }));
    EXPECT_THAT(srec_.stanzas[0].second.xml, HasSubstr("<body>in0</body>"));
    EXPECT_EQ(srec_.stanzas[2].second.seq, 3U);
    EXPECT_EQ(srec_.stanzas[1].second.partner, "partner.test");
    EXPECT_EQ(srec_.stanzas[1].second.partner_type, "federated");
    EXPECT_EQ(srec_.stanzas[1].second.auth, AuthMethod::SaslExternal);
    EXPECT_EQ(srec_.stanzas[1].second.local, "sip.test");
    EXPECT_THAT(c.rec.stanzas[1].xml, HasSubstr("<body>out1</body>"));
    EXPECT_EQ(c.rec.registries[0].first, 5U);
    EXPECT_EQ(c.rec.registries[0].second, R"({"partners":[]})");

    auto st = c.client->stats();
    EXPECT_TRUE(st.up);
    ASSERT_TRUE(st.link.has_value());
    EXPECT_EQ(st.link->tls_version, "TLSv1.3");
    EXPECT_EQ(st.link->peer_node, "gateway.test");
    EXPECT_GT(st.link->up_since_unix_ms, 0);
    EXPECT_EQ(st.stanzas_out, 3U);
    EXPECT_EQ(st.stanzas_in, 2U);
    EXPECT_EQ(st.attempts, 1U);
    EXPECT_EQ(server_->stats().connections.size(), 1U);

    // Shutdown of the proxy: GOODBYE reaches the gateway.
    c.client->close("proxy stopping");
    ASSERT_TRUE(run_until([&] { return c.rec.closed && srec_.downs.size() == 1; }));
    ASSERT_EQ(c.rec.downs.size(), 1U);
    EXPECT_EQ(c.rec.downs[0].code, CloseCode::Local);
    EXPECT_EQ(srec_.downs[0].second.code, CloseCode::PeerGoodbye);
    EXPECT_EQ(srec_.downs[0].second.text, "proxy stopping");
    auto refused = c.client->send_stanza(stanza("late"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), SendRefusal::NotEstablished);
}

TEST_F(LinkLoopTest, WrongGatewayNameIsRefusedByTheClient) {
    auto port = start_server(server_options());
    auto o = client_options(port);
    o.gateway_name = "wrong.test";
    ClientEnd& c = start_client(o);
    ASSERT_TRUE(run_until([&] { return !c.rec.failures.empty() && !srec_.refused.empty(); }));
    EXPECT_EQ(c.rec.failures[0].code, CloseCode::TlsFailed);
    EXPECT_THAT(c.rec.failures[0].text, HasSubstr("peer-verify-failed"));
    EXPECT_TRUE(c.rec.ups.empty());
    EXPECT_TRUE(srec_.ups.empty());
    EXPECT_EQ(srec_.refused[0].code, CloseCode::TlsFailed);
    EXPECT_FALSE(c.client->stats().last_error.empty());
}

TEST_F(LinkLoopTest, ClientCertificateWithAnotherNameIsRefusedByTheServer) {
    auto port = start_server(server_options());
    auto o = client_options(port);
    o.cert_file = other_cert_->chain_path;
    o.key_file = other_cert_->key_path;
    ClientEnd& c = start_client(o);
    ASSERT_TRUE(run_until([&] { return !c.rec.failures.empty() && !srec_.refused.empty(); }));
    EXPECT_EQ(srec_.refused[0].code, CloseCode::TlsFailed);
    EXPECT_THAT(srec_.refused[0].text, HasSubstr("peer-verify-failed"));
    EXPECT_EQ(c.rec.failures[0].code, CloseCode::TlsFailed);
    EXPECT_TRUE(srec_.ups.empty());
    EXPECT_TRUE(c.rec.ups.empty());
    EXPECT_EQ(server_->stats().refused, srec_.refused.size());
}

TEST_F(LinkLoopTest, ClientCertificateFromAnotherCaIsRefusedByTheServer) {
    auto port = start_server(server_options());
    auto o = client_options(port);
    o.cert_file = foreign_cert_->chain_path;
    o.key_file = foreign_cert_->key_path;
    ClientEnd& c = start_client(o);
    ASSERT_TRUE(run_until([&] { return !c.rec.failures.empty() && !srec_.refused.empty(); }));
    EXPECT_EQ(srec_.refused[0].code, CloseCode::TlsFailed);
    EXPECT_TRUE(srec_.ups.empty());
}

TEST_F(LinkLoopTest, HelloNodeMismatchIsRefusedWithAGoodbye) {
    auto port = start_server(server_options());
    auto o = client_options(port);
    o.node = "edge-typo.test";  // the certificate says proxy.test, the HELLO something else
    ClientEnd& c = start_client(o);
    // The client may take the gateway's HELLO before the gateway refuses ours (the protocol has
    // no HELLO acknowledgement): the GOODBYE then ends a link that was up for an instant.
    auto heard = [&]() -> const CloseReason* {
        if (!c.rec.failures.empty()) return &c.rec.failures[0];
        if (!c.rec.downs.empty()) return &c.rec.downs[0];
        return nullptr;
    };
    ASSERT_TRUE(run_until([&] { return heard() != nullptr && !srec_.refused.empty(); }));
    EXPECT_EQ(srec_.refused[0].code, CloseCode::PeerMismatch);
    EXPECT_THAT(srec_.refused[0].text, HasSubstr("'edge-typo.test'"));
    EXPECT_EQ(heard()->code, CloseCode::PeerGoodbye);
    EXPECT_THAT(heard()->text, HasSubstr("peer-mismatch"));
    EXPECT_TRUE(srec_.ups.empty());
    // Each refusal grows the backoff, as a failed attempt would.
    ASSERT_TRUE(run_until([&] { return srec_.refused.size() >= 3; }));
    EXPECT_TRUE(srec_.ups.empty());
}

TEST_F(LinkLoopTest, GatewayDownAtStartThenStarted) {
    // Find a free port, then free it again.
    auto port = start_server(server_options());
    stop_server();
    ClientEnd& c = start_client(client_options(port));
    ASSERT_TRUE(run_until([&] { return c.rec.failures.size() >= 3; }));
    for (const auto& f : c.rec.failures)
        EXPECT_EQ(f.code, CloseCode::ConnectFailed) << f.describe();
    EXPECT_FALSE(c.client->is_up());
    auto refused = c.client->send_stanza(stanza("early"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error(), SendRefusal::NotEstablished);

    ASSERT_EQ(start_server(server_options(port)), port);
    ASSERT_TRUE(run_until([&] { return c.client->is_up(); }, 2000))
        << "the client should retry within reconnect_max (80 ms)";
    auto st = c.client->stats();
    EXPECT_GE(st.reconnects, 3U);
    EXPECT_EQ(st.ups, 1U);
    EXPECT_THAT(st.last_error, HasSubstr("connect-failed"));
}

TEST_F(LinkLoopTest, GatewayRestartMidSessionReconnects) {
    auto port = start_server(server_options());
    ClientEnd& c = start_client(client_options(port));
    ASSERT_TRUE(run_until([&] { return c.client->is_up(); }));
    stop_server();
    ASSERT_TRUE(run_until([&] { return !c.rec.downs.empty(); }));
    EXPECT_EQ(c.rec.downs[0].code, CloseCode::PeerGoodbye);
    EXPECT_EQ(c.rec.downs[0].text, "shutdown");
    EXPECT_FALSE(c.client->is_up());

    ASSERT_EQ(start_server(server_options(port)), port);
    ASSERT_TRUE(run_until([&] { return c.client->is_up(); }, 2000));
    EXPECT_EQ(c.rec.ups.size(), 2U);
    EXPECT_EQ(c.rec.downs.size(), 1U);
    ASSERT_TRUE(c.client->send_stanza(stanza("again")).has_value());
    ASSERT_TRUE(run_until([&] { return srec_.stanzas.size() == 1; }));
}

TEST_F(LinkLoopTest, SlowReceiverStopsTheSender) {
    server_grants_credit = false;
    auto so = server_options();
    so.session.window = 4;
    auto port = start_server(so);
    ClientEnd& c = start_client(client_options(port));
    ASSERT_TRUE(run_until([&] { return c.client->is_up(); }));
    int sent = 0;
    for (; sent < 100; ++sent) {
        auto r = c.client->send_stanza(stanza(std::to_string(sent)));
        if (!r) {
            EXPECT_EQ(r.error(), SendRefusal::NoCredit);
            break;
        }
    }
    EXPECT_EQ(sent, 4);
    EXPECT_FALSE(c.client->can_send());
    ASSERT_TRUE(run_until([&] { return srec_.stanzas.size() == 4; }));
    EXPECT_FALSE(c.client->can_send()) << "no credit came back";
    EXPECT_EQ(c.rec.writable, 0);
    auto st = c.client->stats();
    ASSERT_TRUE(st.link.has_value());
    EXPECT_EQ(st.link->send_credit, 0U);

    // The gateway catches up: credit flows back and the client may send again.
    server_->stanza_done(srec_.stanzas[0].first, 4);
    ASSERT_TRUE(run_until([&] { return c.rec.writable == 1; }));
    EXPECT_TRUE(c.client->can_send());
    EXPECT_TRUE(c.client->send_stanza(stanza("more")).has_value());
    ASSERT_TRUE(run_until([&] { return srec_.stanzas.size() == 5; }));
}

TEST_F(LinkLoopTest, ResolvesTheGatewayHostName) {
    auto port = start_server(server_options());
    auto o = client_options(port);
    o.gateway = *parse_host_port("localhost:" + std::to_string(port));
    ClientEnd& c = start_client(o);
    // localhost may resolve to ::1 first, where nobody listens: the client moves on to 127.0.0.1.
    ASSERT_TRUE(run_until([&] { return c.client->is_up(); }));
    EXPECT_TRUE(c.rec.failures.empty());
}

TEST_F(LinkLoopTest, RegistryGoesToEveryProxy) {
    auto so = server_options();
    auto port = start_server(so);
    ClientEnd& a = start_client(client_options(port));
    ClientEnd& b = start_client(client_options(port));
    ASSERT_TRUE(
        run_until([&] { return a.client->is_up() && b.client->is_up() && srec_.ups.size() == 2; }));
    EXPECT_EQ(server_->up_connections().size(), 2U);
    EXPECT_EQ(server_->send_registry(9, R"({"v":9})"), 2U);
    ASSERT_TRUE(
        run_until([&] { return a.rec.registries.size() == 1 && b.rec.registries.size() == 1; }));
    EXPECT_EQ(b.rec.registries[0].first, 9U);
    // Closing one proxy's connection leaves the other.
    server_->close_connection(srec_.ups[0], "maintenance");
    ASSERT_TRUE(run_until([&] { return srec_.downs.size() == 1; }));
    EXPECT_EQ(srec_.downs[0].second.code, CloseCode::Local);
    EXPECT_EQ(server_->up_connections().size(), 1U);
}

TEST_F(LinkLoopTest, SilentGatewayHitsTheHandshakeDeadline) {
    // A plain TCP listener that accepts and never says a word.
    uv_tcp_t listener{};
    uv_tcp_t accepted{};
    ASSERT_EQ(uv_tcp_init(&loop_, &listener), 0);
    ASSERT_EQ(uv_tcp_init(&loop_, &accepted), 0);
    listener.data = &accepted;
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    ASSERT_EQ(uv_tcp_bind(&listener, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 4,
                        [](uv_stream_t* l, int status) {
                            if (status < 0) return;
                            auto* a = static_cast<uv_tcp_t*>(l->data);
                            if (a->data != nullptr) return;  // one is enough
                            a->data = a;
                            uv_accept(l, reinterpret_cast<uv_stream_t*>(a));
                        }),
              0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    ASSERT_EQ(uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&bound), &len), 0);
    auto port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

    auto o = client_options(port);
    o.timers.handshake_timeout_ms = 100;
    o.reconnect_min_ms = 5000;  // one attempt is all this test needs
    o.reconnect_max_ms = 5000;
    ClientEnd& c = start_client(o);
    ASSERT_TRUE(run_until([&] { return !c.rec.failures.empty(); }));
    EXPECT_EQ(c.rec.failures[0].code, CloseCode::HandshakeTimeout);
    EXPECT_THAT(c.rec.failures[0].text, HasSubstr("TLS handshake"));
    auto st = c.client->stats();
    EXPECT_GT(st.next_attempt_in_ms, 0);

    uv_close(reinterpret_cast<uv_handle_t*>(&listener), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&accepted), nullptr);
    c.client->close();
    ASSERT_TRUE(run_until([&] { return c.rec.closed; }));
}

TEST_F(LinkLoopTest, SetupErrorsAreValues) {
    auto o = client_options(1);
    o.key_file = ca_->path("missing.key");
    auto c = LinkClient::create(&loop_, o, {});
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, SetupErrorCode::Tls);

    auto so = server_options();
    so.proxy_name.clear();
    auto s = LinkServer::create(&loop_, so, {});
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, SetupErrorCode::Options);

    // A port already taken: the error names the address.
    auto port = start_server(server_options());
    auto taken = LinkServer::create(&loop_, server_options(port), {});
    ASSERT_FALSE(taken.has_value());
    EXPECT_EQ(taken.error().code, SetupErrorCode::Listen);
    EXPECT_THAT(taken.error().describe(), HasSubstr("127.0.0.1:" + std::to_string(port)));
}

TEST_F(LinkLoopTest, PingsKeepAQuietLinkUp) {
    auto so = server_options();
    so.session.ping_interval_ms = 10;
    so.session.pong_timeout_ms = 1000;
    auto port = start_server(so);
    auto o = client_options(port);
    o.session.ping_interval_ms = 10;
    o.session.pong_timeout_ms = 1000;
    ClientEnd& c = start_client(o);
    ASSERT_TRUE(run_until([&] {
        auto st = c.client->stats();
        return st.link && st.link->counters.pongs_in >= 5 &&
               !server_->stats().connections.empty() &&
               server_->stats().connections[0].counters.pongs_in >= 5;
    }));
    EXPECT_TRUE(c.client->is_up());
    EXPECT_TRUE(c.rec.downs.empty());
    EXPECT_EQ(c.rec.ups.size(), 1U);
}

TEST_F(LinkLoopTest, ConnectionsBeyondTheLimitAreRefused) {
    auto so = server_options();
    so.max_connections = 1;
    auto port = start_server(so);
    ClientEnd& a = start_client(client_options(port));
    ASSERT_TRUE(run_until([&] { return a.client->is_up(); }));
    ClientEnd& b = start_client(client_options(port));
    ASSERT_TRUE(run_until([&] { return !b.rec.failures.empty() && !srec_.refused.empty(); }));
    EXPECT_EQ(srec_.refused[0].code, CloseCode::Local);
    EXPECT_THAT(srec_.refused[0].text, HasSubstr("too many link connections"));
    EXPECT_TRUE(b.rec.ups.empty());
    EXPECT_TRUE(a.client->is_up());
}

TEST_F(LinkLoopTest, CloseWhileResolvingOrWaiting) {
    // Closed during the name lookup: the request is cancelled or detached, nothing leaks.
    auto o = client_options(1);
    o.gateway = *parse_host_port("localhost:1");
    ClientEnd& resolving = start_client(o);
    resolving.client->close();
    // Closed while waiting out the backoff after a refused connection.
    auto refused = client_options(1);
    refused.reconnect_min_ms = 10000;
    refused.reconnect_max_ms = 10000;
    ClientEnd& waiting = start_client(refused);
    ASSERT_TRUE(run_until([&] { return !waiting.rec.failures.empty(); }));
    EXPECT_GT(waiting.client->stats().next_attempt_in_ms, 1000);
    waiting.client->close();
    ASSERT_TRUE(run_until([&] { return resolving.rec.closed && waiting.rec.closed; }));
    EXPECT_TRUE(resolving.rec.downs.empty()) << "never up: no on_down";
}

}  // namespace
}  // namespace fedgw::link::test
