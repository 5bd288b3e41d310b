// Unit test for tests/support/make_test_certs: it writes a CA and leaves that TlsContext loads,
// with DNS-ID, SRV-ID and XmppAddr for each name, and reuses the CA on a second run.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls/identity.hpp"
#include "common/tls/tls_context.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw {
namespace {

int run_tool(const std::string& args) {
    const char* tool = std::getenv("FEDGW_MAKE_TEST_CERTS");
    EXPECT_NE(tool, nullptr) << "meson sets FEDGW_MAKE_TEST_CERTS";
    if (tool == nullptr) return -1;
    std::string cmd = std::string(tool) + " " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str());
}

TEST(MakeTestCerts, WritesLoadableCertificatesWithAllThreeIdentities) {
    test::TestCa scratch;  // only for its temporary directory
    const std::string dir = scratch.path("out");
    ASSERT_EQ(run_tool(dir + " one.test two.test"), 0);

    for (const std::string name : {"one.test", "two.test"}) {
        TlsContextOptions o;
        o.credentials = {dir + "/" + name + ".pem", dir + "/" + name + ".key"};
        o.ca_file = dir + "/ca.pem";
        auto ctx = TlsContext::create(o);
        ASSERT_TRUE(ctx.has_value()) << ctx.error().describe();

        auto cert = test::parse_pem_certificate(test::read_file(dir + "/" + name + ".crt"));
        CertificateNames names = certificate_names(cert.get());
        EXPECT_EQ(names.dns, (std::vector<std::string>{name}));
        EXPECT_EQ(names.srv, (std::vector<std::string>{"_xmpp-server." + name}));
        EXPECT_EQ(names.xmpp, (std::vector<std::string>{name}));
        EXPECT_EQ(verify_identity(cert.get(), name), IdentityMatch::DnsId);
    }

    // A second run adds a name under the same CA.
    std::string ca_before = test::read_file(dir + "/ca.pem");
    ASSERT_EQ(run_tool(dir + " three.test"), 0);
    EXPECT_EQ(test::read_file(dir + "/ca.pem"), ca_before);
    auto ca = test::parse_pem_certificate(ca_before);
    auto three = test::parse_pem_certificate(test::read_file(dir + "/three.test.crt"));
    EXPECT_EQ(X509_check_issued(ca.get(), three.get()), X509_V_OK);
}

TEST(MakeTestCerts, RefusesBadUsage) {
    test::TestCa scratch;
    EXPECT_NE(run_tool(""), 0);
    EXPECT_NE(run_tool(scratch.path("out")), 0);
    EXPECT_NE(run_tool(scratch.path("out") + " ../escape"), 0);
}

}  // namespace
}  // namespace fedgw
