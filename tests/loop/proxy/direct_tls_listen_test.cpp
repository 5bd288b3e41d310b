// Loop tier for the listening side of XEP-0368 direct TLS: B's direct TLS listener against
// TlsPeer clients that choose what they offer. A client with ALPN "xmpp-server" gets stream
// features without STARTTLS (SASL EXTERNAL and dialback, as after STARTTLS) and its stanza
// reaches the gateway side; a client offering no ALPN, or only other protocols, is refused
// after the handshake without a byte of XML (s2s.alpn_refused). Direct TLS connections count
// in the same total and per-partner limits as STARTTLS ones, and a client stalled in the
// handshake (or silent) is closed at the stream establishment timeout.
//
// Loop-bound test: real sockets on 127.0.0.1 (router_fixture.hpp, tls_peer.hpp).
#include "tests/loop/proxy/router_fixture.hpp"
#include "tests/loop/proxy/tls_peer.hpp"

namespace fedgw::proxy {
namespace {

using namespace fedgw::proxy::test;

constexpr const char* kAuthExternal =
    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>";

class DirectTlsListenTest : public RouterLoopTest {
  protected:
    // B serves b.test; a.test is its partner. `tweak` adjusts the policy before the start.
    void set_up(const std::function<void(registry::Policy&)>& tweak = {},
                std::uint64_t establishment_ms = 5000) {
        auto cb_cert = ca_.issue({.dns = {"b.test"}});
        prepare(b_, "b.test", cb_cert, ca_.ca_path());
        auto p = policy({partner("a.test", 0)}, "secret-b");
        if (tweak) tweak(p);
        StreamTimers t = timers(60'000, 0);
        t.establishment_ms = establishment_ms;
        start(b_, p, [t](RouterOptions& o) { o.stream_timers = t; });
    }

    TlsContext client(std::vector<std::string> alpn) {
        return make_ctx(TlsRole::Client, a_cert_, {"a.test"}, ca_.ca_path(), std::move(alpn));
    }

    // On a handshaken peer: stream header, features, SASL EXTERNAL, the restarted stream.
    static bool authenticate(TlsPeer& peer) {
        peer.send(stream_header("a.test", "b.test"));
        peer.read_until("</stream:features>", 5000);
        peer.send(kAuthExternal);
        peer.read_until("<success", 5000);
        peer.send(stream_header("a.test", "b.test"));
        return !peer.read_until("</stream:features>", 5000) &&
               peer.received.find("<success") != std::string::npos;
    }

    void run_until_no_connections() {
        run_until([&] { return b_.router->connections().empty(); }, "every connection gone");
    }

    TestCa ca_;
    IssuedCert a_cert_ = ca_.issue({.dns = {"a.test"}});
};

TEST_F(DirectTlsListenTest, XmppServerAlpnGetsFeaturesWithoutStartTlsAndAStanzaFlows) {
    set_up();
    TlsContext ctx = client({"xmpp-server"});
    std::unique_ptr<TlsPeer> peer;
    bool handshaken = false;
    std::string features;
    in_thread([&] {
        peer = std::make_unique<TlsPeer>(b_.direct_port, ctx, "b.test");
        handshaken = peer->handshake(5000);
        peer->send(stream_header("a.test", "b.test"));
        peer->read_until("</stream:features>", 5000);
        features = peer->received;
    });
    ASSERT_TRUE(handshaken);
    EXPECT_EQ(peer->alpn, "xmpp-server");
    // TLS is already on: the features are those after STARTTLS (RFC 6120 §5.3.3, §6.4.1).
    EXPECT_NE(features.find("</stream:features>"), std::string::npos) << features;
    EXPECT_EQ(features.find("starttls"), std::string::npos) << features;
    EXPECT_NE(features.find("<mechanism>EXTERNAL</mechanism>"), std::string::npos) << features;
    EXPECT_NE(features.find("urn:xmpp:features:dialback"), std::string::npos) << features;
    auto in = b_.conns(Direction::Inbound);
    ASSERT_EQ(in.size(), 1u);
    EXPECT_TRUE(in[0].direct_tls);
    EXPECT_EQ(in[0].alpn, "xmpp-server");
    EXPECT_EQ(in[0].state, "negotiating");

    bool authenticated = false;
    in_thread([&] {
        peer->received.clear();
        peer->send(kAuthExternal);
        peer->read_until("<success", 5000);
        peer->send(stream_header("a.test", "b.test"));
        peer->read_until("</stream:features>", 5000);
        authenticated = peer->received.find("<success") != std::string::npos;
        peer->send(message("romeo@a.test/x", "juliet@b.test", "d1", "over direct TLS"));
    });
    ASSERT_TRUE(authenticated) << peer->received;
    run_until([&] { return b_.to_gateway.size() == 1; }, "the stanza at B's gateway side");
    EXPECT_EQ(b_.to_gateway[0].auth, AuthMethod::SaslExternal);
    EXPECT_NE(b_.to_gateway[0].xml.find("over direct TLS"), std::string::npos);
    in = b_.conns(Direction::Inbound);
    ASSERT_EQ(in.size(), 1u);
    EXPECT_EQ(in[0].state, "established");
    EXPECT_EQ(in[0].auth, AuthMethod::SaslExternal);
    EXPECT_EQ(logged({"s2s.accepted", "direct_tls=true"}), 1u);
    peer.reset();
    run_until_no_connections();
}

// XEP-0368 §3: the client must offer "xmpp-server". Without it the handshake completes (the
// server context selects nothing) and B closes at once: no stream header, no features.
TEST_F(DirectTlsListenTest, ClientWithoutXmppServerAlpnIsRefused) {
    set_up();
    TlsContext none = client({});
    TlsContext other = client({"h2", "xmpp-client"});
    struct Outcome {
        bool handshaken = false;
        bool closed = false;
        std::string received, alpn;
    };
    Outcome got[2];
    in_thread([&] {
        int i = 0;
        for (const TlsContext* ctx : {&none, &other}) {
            TlsPeer peer(b_.direct_port, *ctx, "b.test");
            got[i].handshaken = peer.handshake(5000);
            peer.send(stream_header("a.test", "b.test"));
            got[i].closed = peer.read_to_eof(5000);
            got[i].received = peer.received;
            got[i].alpn = peer.alpn;
            ++i;
        }
    });
    for (const auto& g : got) {
        EXPECT_TRUE(g.handshaken);
        EXPECT_TRUE(g.closed) << "B closes the connection";
        EXPECT_EQ(g.alpn, "");
        EXPECT_EQ(g.received, "") << "not a byte of XML";
    }
    EXPECT_EQ(logged({"s2s.alpn_refused", "xmpp-server"}), 2u);
    EXPECT_TRUE(b_.to_gateway.empty());
    run_until_no_connections();
}

// The stream establishment timer runs from the accept: a client that sends its ClientHello
// and never finishes the handshake, and one that sends nothing at all, are closed by then.
TEST_F(DirectTlsListenTest, ClientStalledInTheHandshakeIsClosedAtTheEstablishmentTimeout) {
    set_up({}, 300);
    TlsContext ctx = client({"xmpp-server"});
    bool stalled_closed = false, silent_closed = false;
    std::string silent;
    std::int64_t stalled_ms = 0;
    in_thread([&] {
        auto t0 = std::chrono::steady_clock::now();
        TlsPeer stalled(b_.direct_port, ctx, "b.test");
        RawPeer quiet(b_.direct_port);
        stalled.send_hello_only();
        stalled_closed = stalled.read_to_eof(5000);
        stalled_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
        silent_closed = quiet.read_to_eof(5000);
        silent = quiet.received;
    });
    EXPECT_TRUE(stalled_closed);
    EXPECT_GE(stalled_ms, 250);
    EXPECT_LT(stalled_ms, 4000);
    EXPECT_TRUE(silent_closed);
    EXPECT_EQ(silent, "") << "nothing is written to a client that never started TLS";
    EXPECT_EQ(logged({"s2s.stream_closed", "connection-timeout"}), 2u);
    run_until_no_connections();
}

// The total connection limit counts direct TLS and STARTTLS connections together: with a
// limit of 1 and a direct TLS stream open, a STARTTLS peer gets resource-constraint and a
// second direct TLS client is closed before the handshake.
TEST_F(DirectTlsListenTest, DirectTlsConnectionsCountInTheTotalLimit) {
    set_up([](registry::Policy& p) { p.settings.total_connection_limit = 1; });
    TlsContext ctx = client({"xmpp-server"});
    std::string first_features, starttls_refused;
    bool direct_refused_closed = false, direct_refused_handshaken = true;
    std::size_t direct_refused_bytes = 1;
    in_thread([&] {
        TlsPeer first(b_.direct_port, ctx, "b.test");
        first.handshake(5000);
        first.send(stream_header("a.test", "b.test"));
        first.read_until("</stream:features>", 5000);
        first_features = first.received;
        RawPeer second(b_.port);
        second.read_to_eof(5000);
        starttls_refused = second.received;
        TlsPeer third(b_.direct_port, ctx, "b.test");
        direct_refused_handshaken = third.handshake(5000);
        direct_refused_closed = third.closed;
        direct_refused_bytes = third.raw_bytes;
    });
    EXPECT_NE(first_features.find("</stream:features>"), std::string::npos) << first_features;
    EXPECT_NE(starttls_refused.find("<resource-constraint"), std::string::npos) << starttls_refused;
    EXPECT_FALSE(direct_refused_handshaken);
    EXPECT_TRUE(direct_refused_closed);
    EXPECT_EQ(direct_refused_bytes, 0u) << "closed before any TLS byte";
    EXPECT_EQ(logged({"s2s.limit", "rule=total-connection-limit", "limit=1"}), 2u);
    run_until_no_connections();
}

// The per-partner limit too: a.test may hold one stream; a second one, also over direct
// TLS, is refused with policy-violation once it authenticates.
TEST_F(DirectTlsListenTest, DirectTlsConnectionsCountInThePartnerLimit) {
    set_up([](registry::Policy& p) { p.partners[0].connection_limit = 1; });
    TlsContext ctx = client({"xmpp-server"});
    bool first_ok = false;
    std::string second_got;
    in_thread([&] {
        TlsPeer first(b_.direct_port, ctx, "b.test");
        first.handshake(5000);
        first_ok = authenticate(first);
        TlsPeer second(b_.direct_port, ctx, "b.test");
        second.handshake(5000);
        authenticate(second);
        second.read_to_eof(5000);
        second_got = second.received;
    });
    EXPECT_TRUE(first_ok);
    EXPECT_NE(second_got.find("<policy-violation"), std::string::npos) << second_got;
    EXPECT_EQ(logged({"s2s.limit", "rule=partner-connection-limit", "partner=a.test"}), 1u);
    run_until_no_connections();
}

}  // namespace
}  // namespace fedgw::proxy
