// Unit tests for TlsSession (common/tls/tls_session.hpp): two sessions handshaking in memory,
// no sockets. Covers TLS 1.3 and 1.2, strict and record verification, the server purpose for
// client certificates, SNI certificate selection, close_notify and failure reporting.
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>

#include "common/tls/tls_context.hpp"
#include "common/tls/tls_session.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw {
namespace {

using ::testing::HasSubstr;

// Moves ciphertext both ways until neither side has anything to send. Returns the OR of the
// progress flags each side reported.
struct Pumped {
    TlsProgress client;
    TlsProgress server;
};

void merge(TlsProgress& into, const TlsProgress& p) {
    into.handshake_completed |= p.handshake_completed;
    into.peer_closed |= p.peer_closed;
    into.truncated |= p.truncated;
    into.failed |= p.failed;
}

Pumped pump(TlsSession& client, TlsSession& server) {
    Pumped out;
    for (int round = 0; round < 50; ++round) {
        bool moved = false;
        if (client.has_outbox()) {
            merge(out.server, server.feed(client.take_outbox()));
            moved = true;
        }
        if (server.has_outbox()) {
            merge(out.client, client.feed(server.take_outbox()));
            moved = true;
        }
        if (!moved) break;
    }
    return out;
}

class TlsSessionTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new test::TestCa();
        other_ca_ = new test::TestCa(test::TestCaOptions{.common_name = "other test CA"});
        server_ = issue(*ca_, {.dns = {"server.test"}, .eku = test::Eku::ServerAuth});
        client_ = issue(*ca_, {.dns = {"client.test"}});
    }
    static void TearDownTestSuite() {
        delete server_;
        delete client_;
        delete other_ca_;
        delete ca_;
    }
    static test::IssuedCert* issue(test::TestCa& ca, const test::LeafSpec& spec) {
        return new test::IssuedCert(ca.issue(spec));
    }

    static TlsContext server_ctx(const test::IssuedCert& cert, TlsContextOptions o = {}) {
        o.role = TlsRole::Server;
        o.credentials = {cert.chain_path, cert.key_path};
        if (o.ca_file.empty()) o.ca_file = ca_->ca_path();
        auto ctx = TlsContext::create(o);
        EXPECT_TRUE(ctx.has_value()) << ctx.error().describe();
        return std::move(*ctx);
    }
    static TlsContext client_ctx(const test::IssuedCert* cert, TlsContextOptions o = {}) {
        o.role = TlsRole::Client;
        if (cert != nullptr) o.credentials = {cert->chain_path, cert->key_path};
        if (o.ca_file.empty()) o.ca_file = ca_->ca_path();
        auto ctx = TlsContext::create(o);
        EXPECT_TRUE(ctx.has_value()) << ctx.error().describe();
        return std::move(*ctx);
    }
    static TlsSession session(const TlsContext& ctx, TlsSessionOptions o = {}) {
        auto s = TlsSession::create(ctx, o);
        EXPECT_TRUE(s.has_value()) << s.error().describe();
        return std::move(*s);
    }
    static TlsSessionOptions strict(const std::string& domain) {
        TlsSessionOptions o;
        o.verification = PeerVerification::Require;
        o.reference_domain = domain;
        o.server_name = domain;
        return o;
    }

    static test::TestCa* ca_;
    static test::TestCa* other_ca_;
    static test::IssuedCert* server_;
    static test::IssuedCert* client_;
};

test::TestCa* TlsSessionTest::ca_ = nullptr;
test::TestCa* TlsSessionTest::other_ca_ = nullptr;
test::IssuedCert* TlsSessionTest::server_ = nullptr;
test::IssuedCert* TlsSessionTest::client_ = nullptr;

TEST_F(TlsSessionTest, MutualTls13HandshakeAndData) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(client_);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    EXPECT_TRUE(client.has_outbox()) << "the ClientHello is ready at once";
    EXPECT_EQ(client.state(), TlsState::Handshaking);

    Pumped p = pump(client, server);
    EXPECT_TRUE(p.client.handshake_completed);
    EXPECT_TRUE(p.server.handshake_completed);
    ASSERT_EQ(client.state(), TlsState::Established);
    ASSERT_EQ(server.state(), TlsState::Established);
    EXPECT_EQ(client.protocol_version(), "TLSv1.3");
    EXPECT_EQ(server.protocol_version(), "TLSv1.3");
    EXPECT_FALSE(client.cipher().empty());
    EXPECT_EQ(server.server_name(), "server.test");
    EXPECT_EQ(client.server_name(), "server.test");

    EXPECT_TRUE(client.peer_chain_verified());
    EXPECT_EQ(client.verify_error(), "");
    EXPECT_EQ(client.peer_identity("server.test"), IdentityMatch::DnsId);
    EXPECT_TRUE(server.peer_certificate_presented());
    EXPECT_TRUE(server.peer_chain_verified()) << server.verify_error();
    EXPECT_EQ(server.peer_identity("client.test"), IdentityMatch::DnsId);
    EXPECT_EQ(server.peer_identity("server.test"), IdentityMatch::None);

    ASSERT_TRUE(client.write("<stream:stream to='server.test'>").has_value());
    pump(client, server);
    EXPECT_EQ(server.take_plaintext(), "<stream:stream to='server.test'>");
    ASSERT_TRUE(server.write("<stream:stream from='server.test'>").has_value());
    pump(client, server);
    EXPECT_EQ(client.take_plaintext(), "<stream:stream from='server.test'>");
    EXPECT_FALSE(client.has_plaintext());

    // close_notify both ways.
    client.shutdown();
    EXPECT_EQ(client.state(), TlsState::Closing);
    p = pump(client, server);
    EXPECT_TRUE(p.server.peer_closed);
    EXPECT_EQ(server.state(), TlsState::PeerClosed);
    server.shutdown();
    EXPECT_EQ(server.state(), TlsState::Closed);
    p = pump(client, server);
    EXPECT_TRUE(p.client.peer_closed);
    EXPECT_EQ(client.state(), TlsState::Closed);
    EXPECT_FALSE(client.write("late").has_value());
    EXPECT_EQ(client.write("late").error().code, TlsErrorCode::NotWritable);
}

TEST_F(TlsSessionTest, Tls12Handshake) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(client_, {.max_version = TlsVersion::Tls1_2});
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    pump(client, server);
    ASSERT_EQ(client.state(), TlsState::Established) << client.failure()->describe();
    ASSERT_EQ(server.state(), TlsState::Established);
    EXPECT_EQ(client.protocol_version(), "TLSv1.2");
    EXPECT_EQ(server.protocol_version(), "TLSv1.2");
    EXPECT_TRUE(server.peer_chain_verified()) << server.verify_error();
    ASSERT_TRUE(client.write("ping").has_value());
    pump(client, server);
    EXPECT_EQ(server.take_plaintext(), "ping");
}

TEST_F(TlsSessionTest, NoCommonVersionIsRefused) {
    TlsContext sctx = server_ctx(*server_, {.min_version = TlsVersion::Tls1_3});
    TlsContext cctx = client_ctx(nullptr, {.max_version = TlsVersion::Tls1_2});
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Failed);
    EXPECT_EQ(server.failure()->code, TlsErrorCode::HandshakeFailed);
    EXPECT_THAT(server.failure()->text, HasSubstr("unsupported protocol"));
    ASSERT_EQ(client.state(), TlsState::Failed);
    EXPECT_EQ(client.failure()->code, TlsErrorCode::PeerRejected);
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_F(TlsSessionTest, WrongNameFailsTheHandshakeInStrictMode) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(client_);
    TlsSession client = session(cctx, strict("other.test"));
    TlsSession server = session(sctx);
    Pumped p = pump(client, server);
    EXPECT_TRUE(p.client.failed);
    ASSERT_EQ(client.state(), TlsState::Failed);
    EXPECT_EQ(client.failure()->code, TlsErrorCode::PeerVerifyFailed);
    EXPECT_THAT(client.failure()->text, HasSubstr("hostname mismatch"));
    EXPECT_FALSE(client.peer_chain_verified());
    // The client sent an alert: the server learns why.
    ASSERT_EQ(server.state(), TlsState::Failed);
    EXPECT_EQ(server.failure()->code, TlsErrorCode::PeerRejected);
    EXPECT_THAT(server.failure()->describe(), HasSubstr("alert"));
    EXPECT_EQ(ERR_peek_error(), 0UL) << "failures leave the OpenSSL error queue empty";
}

TEST_F(TlsSessionTest, StrictModeAcceptsSrvIdAndXmppAddr) {
    auto srv_only = ca_->issue({.name = "srv-only", .srv = {"_xmpp-server.srv.test"}});
    auto xmpp_only = ca_->issue({.name = "xmpp-only", .xmpp = {"xmpp.test"}});
    for (auto* leaf : {&srv_only, &xmpp_only}) {
        TlsContext sctx = server_ctx(*leaf);
        TlsContext cctx = client_ctx(nullptr);
        std::string domain = leaf == &srv_only ? "srv.test" : "xmpp.test";
        TlsSession client = session(cctx, strict(domain));
        TlsSession server = session(sctx);
        pump(client, server);
        EXPECT_EQ(client.state(), TlsState::Established) << domain;
        EXPECT_EQ(client.peer_identity(domain),
                  leaf == &srv_only ? IdentityMatch::SrvId : IdentityMatch::XmppAddr);
    }
}

TEST_F(TlsSessionTest, UntrustedClientIsRecordedAndTheHandshakeCompletes) {
    auto stranger = other_ca_->issue({.dns = {"stranger.test"}});
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(&stranger);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);  // Record
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Established);
    ASSERT_EQ(client.state(), TlsState::Established);
    EXPECT_TRUE(server.peer_certificate_presented());
    EXPECT_FALSE(server.peer_chain_verified());
    // The chain file carries the stranger's root, which we do not trust.
    EXPECT_THAT(server.verify_error(),
                HasSubstr("self-signed certificate in certificate chain (depth 1)"));
    // The identity is still readable, for logs; the s2s layer must not trust it.
    EXPECT_EQ(server.peer_identity("stranger.test"), IdentityMatch::DnsId);
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_F(TlsSessionTest, ClientWithoutCertificateIsRecordedAsUnverified) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(nullptr);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Established);
    EXPECT_FALSE(server.peer_certificate_presented());
    EXPECT_FALSE(server.peer_chain_verified());
    EXPECT_EQ(server.verify_error(), "no certificate presented");
    EXPECT_EQ(server.peer_certificate(), nullptr);
}

TEST_F(TlsSessionTest, ServerAuthOnlyClientCertificateIsAccepted) {
    // Let's Encrypt leaves carry serverAuth only; s2s peers present them as client certs.
    auto le_style = ca_->issue({.dns = {"le.test"}, .eku = test::Eku::ServerAuth});
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(&le_style);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Established);
    EXPECT_TRUE(server.peer_chain_verified()) << server.verify_error();
    EXPECT_EQ(server.peer_identity("le.test"), IdentityMatch::DnsId);
}

TEST_F(TlsSessionTest, VerificationUsesTheServerPurpose) {
    // The other side of the purpose fix: a clientAuth-only certificate is not a server cert.
    auto client_only = ca_->issue({.dns = {"co.test"}, .eku = test::Eku::ClientAuth});
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(&client_only);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Established);
    EXPECT_FALSE(server.peer_chain_verified());
    EXPECT_THAT(server.verify_error(), HasSubstr("unsuitable certificate purpose"));
}

TEST_F(TlsSessionTest, RequireModeOnTheServerInsistsOnAClientCertificate) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(nullptr);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(
        sctx, {.verification = PeerVerification::Require, .reference_domain = "client.test"});
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Failed);
    EXPECT_EQ(server.failure()->code, TlsErrorCode::PeerVerifyFailed);
    EXPECT_THAT(server.failure()->text, HasSubstr("did not present a certificate"));
}

TEST_F(TlsSessionTest, RequireModeOnTheServerChecksTheClientName) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(client_);
    TlsSession good_client = session(cctx, strict("server.test"));
    TlsSession good_server = session(
        sctx, {.verification = PeerVerification::Require, .reference_domain = "client.test"});
    pump(good_client, good_server);
    EXPECT_EQ(good_server.state(), TlsState::Established);
    EXPECT_TRUE(good_server.peer_chain_verified());

    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(
        sctx, {.verification = PeerVerification::Require, .reference_domain = "gateway.test"});
    pump(client, server);
    ASSERT_EQ(server.state(), TlsState::Failed);
    EXPECT_EQ(server.failure()->code, TlsErrorCode::PeerVerifyFailed);
    EXPECT_THAT(server.failure()->text, HasSubstr("hostname mismatch"));
    // TLS 1.3: the client finished first and hears the rejection as an alert.
    EXPECT_EQ(client.state(), TlsState::Failed);
    EXPECT_EQ(client.failure()->code, TlsErrorCode::PeerRejected);
}

TEST_F(TlsSessionTest, ExpiredServerCertificate) {
    auto expired = ca_->issue({.dns = {"old.test"}, .validity = test::Validity::Expired});
    TlsContext sctx = server_ctx(expired);
    TlsContext cctx = client_ctx(nullptr);

    TlsSession strict_client = session(cctx, strict("old.test"));
    TlsSession server = session(sctx);
    pump(strict_client, server);
    ASSERT_EQ(strict_client.state(), TlsState::Failed);
    EXPECT_THAT(strict_client.failure()->text, HasSubstr("certificate has expired"));

    TlsSession recording_client = session(cctx, {.reference_domain = "old.test"});
    TlsSession server2 = session(sctx);
    pump(recording_client, server2);
    ASSERT_EQ(recording_client.state(), TlsState::Established);
    EXPECT_FALSE(recording_client.peer_chain_verified());
    EXPECT_THAT(recording_client.verify_error(), HasSubstr("certificate has expired (depth 0)"));
}

TEST_F(TlsSessionTest, SniSelectsTheDomainCertificate) {
    auto a = ca_->issue({.dns = {"a.test"}});
    auto b = ca_->issue({.dns = {"b.test"}});
    TlsContextOptions o;
    o.domains.push_back({"a.test", {a.chain_path, a.key_path}});
    o.domains.push_back({"B.test", {b.chain_path, b.key_path}});
    TlsContext sctx = server_ctx(*server_, o);  // server.test is the default
    TlsContext cctx = client_ctx(client_);

    for (const char* domain : {"b.test", "a.test", "B.TEST"}) {
        TlsSession client = session(cctx, strict(domain));
        TlsSession server = session(sctx);
        pump(client, server);
        ASSERT_EQ(client.state(), TlsState::Established) << domain;
        EXPECT_EQ(client.peer_identity(domain), IdentityMatch::DnsId) << domain;
        EXPECT_EQ(server.server_name(), domain);
        // The switched-to context verifies client certificates like the default one.
        EXPECT_TRUE(server.peer_chain_verified()) << domain << ": " << server.verify_error();
    }
    // Unknown SNI, and no SNI at all: the default certificate.
    for (const char* sni : {"unknown.test", ""}) {
        TlsSession client = session(cctx, {.server_name = sni});
        TlsSession server = session(sctx);
        pump(client, server);
        ASSERT_EQ(client.state(), TlsState::Established) << sni;
        EXPECT_EQ(client.peer_identity("server.test"), IdentityMatch::DnsId) << sni;
    }
}

TEST_F(TlsSessionTest, SessionsOutliveTheirContext) {
    // A reload replaces the context while handshakes are still running on the old one.
    auto b = ca_->issue({.dns = {"b.test"}});
    std::optional<TlsSession> server;
    std::optional<TlsSession> client;
    {
        TlsContextOptions o;
        o.domains.push_back({"b.test", {b.chain_path, b.key_path}});
        TlsContext sctx = server_ctx(*server_, o);
        TlsContext cctx = client_ctx(nullptr);
        server.emplace(session(sctx));
        client.emplace(session(cctx, strict("b.test")));
    }
    pump(*client, *server);
    ASSERT_EQ(client->state(), TlsState::Established);
    EXPECT_EQ(client->peer_identity("b.test"), IdentityMatch::DnsId);
}

TEST_F(TlsSessionTest, WritesBeforeTheHandshakeAreQueuedWithinALimit) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(nullptr);
    TlsSessionOptions o = strict("server.test");
    o.max_pending_plaintext = 16;
    TlsSession client = session(cctx, o);
    TlsSession server = session(sctx);
    ASSERT_TRUE(client.write("<stream:stream>").has_value());  // 15 bytes
    auto over = client.write("xx");
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().code, TlsErrorCode::LimitExceeded);
    EXPECT_EQ(client.state(), TlsState::Handshaking) << "the limit does not kill the session";
    pump(client, server);
    EXPECT_EQ(server.take_plaintext(), "<stream:stream>");
}

TEST_F(TlsSessionTest, TransportClosedDuringAndAfterTheHandshake) {
    TlsContext sctx = server_ctx(*server_);
    TlsContext cctx = client_ctx(nullptr);
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    std::string hello = client.take_outbox();
    server.feed(std::string_view(hello).substr(0, hello.size() / 2));
    TlsProgress p = server.transport_closed();
    EXPECT_TRUE(p.failed);
    EXPECT_EQ(server.state(), TlsState::Failed);
    EXPECT_EQ(server.failure()->code, TlsErrorCode::PeerClosed);

    TlsSession client2 = session(cctx, strict("server.test"));
    TlsSession server2 = session(sctx);
    pump(client2, server2);
    ASSERT_EQ(server2.state(), TlsState::Established);
    p = server2.transport_closed();
    EXPECT_TRUE(p.truncated);
    EXPECT_FALSE(p.failed);
    EXPECT_EQ(server2.state(), TlsState::Closed);
}

TEST_F(TlsSessionTest, PlaintextXmlInsteadOfAClientHelloFails) {
    TlsContext sctx = server_ctx(*server_);
    TlsSession server = session(sctx);
    TlsProgress p = server.feed("<?xml version='1.0'?><stream:stream xmlns='jabber:server'>");
    EXPECT_TRUE(p.failed);
    ASSERT_EQ(server.state(), TlsState::Failed);
    EXPECT_EQ(server.failure()->code, TlsErrorCode::HandshakeFailed);
    EXPECT_FALSE(server.failure()->text.empty());
    EXPECT_EQ(ERR_peek_error(), 0UL);
    // Later input is ignored, not re-processed.
    EXPECT_FALSE(server.feed("more").failed);
}

TEST_F(TlsSessionTest, AlpnForDirectTls) {
    TlsContext sctx = server_ctx(*server_, {.alpn = {"xmpp-server"}});
    TlsContext cctx = client_ctx(nullptr, {.alpn = {"xmpp-server"}});
    TlsSession client = session(cctx, strict("server.test"));
    TlsSession server = session(sctx);
    pump(client, server);
    ASSERT_EQ(client.state(), TlsState::Established);
    EXPECT_EQ(client.alpn(), "xmpp-server");
    EXPECT_EQ(server.alpn(), "xmpp-server");

    // A client offering something else still gets through, without ALPN.
    TlsContext other = client_ctx(nullptr, {.alpn = {"h2"}});
    TlsSession client2 = session(other, strict("server.test"));
    TlsSession server2 = session(sctx);
    pump(client2, server2);
    ASSERT_EQ(client2.state(), TlsState::Established);
    EXPECT_EQ(client2.alpn(), "");
}

TEST_F(TlsSessionTest, ShutdownDuringTheHandshakeJustCloses) {
    TlsContext cctx = client_ctx(nullptr);
    TlsSession client = session(cctx, strict("server.test"));
    (void)client.take_outbox();
    client.shutdown();
    EXPECT_EQ(client.state(), TlsState::Closed);
    EXPECT_FALSE(client.has_outbox());
}

TEST(TlsStateDescribe, Names) {
    EXPECT_EQ(describe(TlsState::Handshaking), "handshaking");
    EXPECT_EQ(describe(TlsState::PeerClosed), "peer-closed");
    EXPECT_EQ(describe(TlsState::Failed), "failed");
}

}  // namespace
}  // namespace fedgw
