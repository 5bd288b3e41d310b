// Unit tests for TlsContext (common/tls/tls_context.hpp): loading PEM material with errors that
// name the file and OpenSSL's reason, option checks, and a clean OpenSSL error queue.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/tls/tls_context.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw {
namespace {

using ::testing::HasSubstr;

class TlsContextTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new test::TestCa();
        a_ = new test::IssuedCert(ca_->issue({.dns = {"a.test"}}));
        b_ = new test::IssuedCert(ca_->issue({.dns = {"b.test"}}));
    }
    static void TearDownTestSuite() {
        delete a_;
        delete b_;
        delete ca_;
    }
    static TlsContextOptions server_options() {
        TlsContextOptions o;
        o.role = TlsRole::Server;
        o.credentials = {a_->chain_path, a_->key_path};
        o.ca_file = ca_->ca_path();
        return o;
    }
    static TlsError expect_error(const TlsContextOptions& o) {
        auto r = TlsContext::create(o);
        EXPECT_FALSE(r.has_value());
        EXPECT_EQ(ERR_peek_error(), 0UL) << "the OpenSSL error queue must be drained";
        return r ? TlsError{} : r.error();
    }

    static test::TestCa* ca_;
    static test::IssuedCert* a_;
    static test::IssuedCert* b_;
};

test::TestCa* TlsContextTest::ca_ = nullptr;
test::IssuedCert* TlsContextTest::a_ = nullptr;
test::IssuedCert* TlsContextTest::b_ = nullptr;

TEST_F(TlsContextTest, ServerAndClientContextsBuild) {
    auto server = TlsContext::create(server_options());
    ASSERT_TRUE(server.has_value()) << server.error().describe();
    EXPECT_EQ(server->role(), TlsRole::Server);
    EXPECT_NE(server->native(), nullptr);

    TlsContextOptions c;
    c.role = TlsRole::Client;
    c.ca_file = ca_->ca_path();
    auto client = TlsContext::create(c);
    ASSERT_TRUE(client.has_value()) << client.error().describe();
    EXPECT_EQ(client->role(), TlsRole::Client);
    // TLS 1.2 is the floor (RFC 7525 3.1.1), whatever the system configuration says.
    EXPECT_EQ(SSL_CTX_get_min_proto_version(server->native()), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(client->native()), TLS1_2_VERSION);
    EXPECT_NE(SSL_CTX_get_options(server->native()) & SSL_OP_NO_RENEGOTIATION, 0U);
}

TEST_F(TlsContextTest, MissingCertificateFileIsNamed) {
    auto o = server_options();
    o.credentials.cert_chain_file = ca_->path("missing.pem");
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::CertificateFile);
    EXPECT_THAT(e.text, HasSubstr(ca_->path("missing.pem")));
    EXPECT_THAT(e.text, HasSubstr("No such file or directory"));
}

TEST_F(TlsContextTest, GarbageCertificateFileIsNamed) {
    test::write_file(ca_->path("garbage.pem"), "this is not PEM\n");
    auto o = server_options();
    o.credentials.cert_chain_file = ca_->path("garbage.pem");
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::CertificateFile);
    EXPECT_THAT(e.text, HasSubstr("garbage.pem"));
    EXPECT_THAT(e.text, HasSubstr("no start line"));
}

TEST_F(TlsContextTest, MissingKeyFileIsNamed) {
    auto o = server_options();
    o.credentials.key_file = ca_->path("missing.key");
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::KeyFile);
    EXPECT_THAT(e.text, HasSubstr("missing.key"));
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsAMismatch) {
    auto o = server_options();
    o.credentials.key_file = b_->key_path;
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::KeyMismatch);
    EXPECT_THAT(e.text, HasSubstr(b_->key_path));
    EXPECT_THAT(e.text, HasSubstr(a_->chain_path));
    EXPECT_THAT(e.text, HasSubstr("key values mismatch"));
}

TEST_F(TlsContextTest, EncryptedKeyIsRefusedWithoutPrompting) {
    // Re-encrypt a's key with a passphrase; loading must fail instead of reading a terminal.
    std::string pem = test::read_file(a_->key_path);
    BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    ASSERT_NE(key, nullptr);
    BIO* out = BIO_new(BIO_s_mem());
    static char pass[] = "secret";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), pass, 6, nullptr, nullptr),
              1);
    char* data = nullptr;
    long len = BIO_get_mem_data(out, &data);
    test::write_file(ca_->path("encrypted.key"), std::string(data, static_cast<std::size_t>(len)),
                     0600);
    BIO_free(out);
    EVP_PKEY_free(key);

    auto o = server_options();
    o.credentials.key_file = ca_->path("encrypted.key");
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::KeyFile);
    EXPECT_THAT(e.text, HasSubstr("encrypted.key"));
}

TEST_F(TlsContextTest, CaLocationErrors) {
    auto o = server_options();
    o.ca_file = ca_->path("no-ca.pem");
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::CaLocation);
    EXPECT_THAT(e.text, HasSubstr("no-ca.pem"));

    o = server_options();
    o.ca_dir = ca_->path("no-such-dir");
    e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::CaLocation);
    EXPECT_THAT(e.text, HasSubstr("no-such-dir"));

    o = server_options();
    o.ca_dir = ca_->dir();  // an existing directory is fine, hashed or not
    EXPECT_TRUE(TlsContext::create(o).has_value());
}

TEST_F(TlsContextTest, OptionChecks) {
    TlsContextOptions no_cert;
    no_cert.role = TlsRole::Server;
    EXPECT_EQ(expect_error(no_cert).code, TlsErrorCode::CertificateFile);

    TlsContextOptions client_with_domains;
    client_with_domains.role = TlsRole::Client;
    client_with_domains.domains.push_back({"a.test", {a_->chain_path, a_->key_path}});
    EXPECT_EQ(expect_error(client_with_domains).code, TlsErrorCode::ContextSetup);

    auto twice = server_options();
    twice.domains.push_back({"a.test", {a_->chain_path, a_->key_path}});
    twice.domains.push_back({"A.Test.", {a_->chain_path, a_->key_path}});
    TlsError e = expect_error(twice);
    EXPECT_EQ(e.code, TlsErrorCode::ContextSetup);
    EXPECT_THAT(e.text, HasSubstr("listed twice"));

    auto versions = server_options();
    versions.min_version = TlsVersion::Tls1_3;
    versions.max_version = TlsVersion::Tls1_2;
    EXPECT_EQ(expect_error(versions).code, TlsErrorCode::ContextSetup);

    auto ciphers = server_options();
    ciphers.cipher_list = "NO-SUCH-CIPHER";
    e = expect_error(ciphers);
    EXPECT_EQ(e.code, TlsErrorCode::ContextSetup);
    EXPECT_THAT(e.text, HasSubstr("NO-SUCH-CIPHER"));

    auto alpn = server_options();
    alpn.alpn = {""};
    EXPECT_EQ(expect_error(alpn).code, TlsErrorCode::ContextSetup);
}

TEST_F(TlsContextTest, DomainErrorsNameTheDomain) {
    auto o = server_options();
    o.domains.push_back({"b.test", {b_->chain_path, a_->key_path}});
    TlsError e = expect_error(o);
    EXPECT_EQ(e.code, TlsErrorCode::KeyMismatch);
    EXPECT_THAT(e.text, HasSubstr("domain 'b.test'"));
}

TEST_F(TlsContextTest, SniDomainsAreListedLowerCase) {
    auto o = server_options();
    o.domains.push_back({"B.Test.", {b_->chain_path, b_->key_path}});
    auto ctx = TlsContext::create(o);
    ASSERT_TRUE(ctx.has_value()) << ctx.error().describe();
    EXPECT_EQ(ctx->sni_domains(), (std::vector<std::string>{"b.test"}));
}

TEST_F(TlsContextTest, MoveKeepsTheContext) {
    auto ctx = TlsContext::create(server_options());
    ASSERT_TRUE(ctx.has_value());
    SSL_CTX* native = ctx->native();
    TlsContext moved(std::move(*ctx));
    EXPECT_EQ(moved.native(), native);
    EXPECT_EQ(ctx->native(), nullptr);
    TlsContext assigned = std::move(moved);
    EXPECT_EQ(assigned.native(), native);
}

TEST(TlsErrorDescribe, CodeAndText) {
    TlsError e{TlsErrorCode::PeerRejected, "tlsv1 alert unknown ca"};
    EXPECT_EQ(e.describe(), "peer-rejected: tlsv1 alert unknown ca");
    EXPECT_EQ((TlsError{TlsErrorCode::Internal, ""}.describe()), "internal");
    EXPECT_EQ(describe(TlsErrorCode::HandshakeFailed), "handshake-failed");
}

}  // namespace
}  // namespace fedgw
