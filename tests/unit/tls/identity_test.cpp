// Unit tests for RFC 6125 / RFC 6120 §13.7.1.2 identity matching (common/tls/identity.hpp),
// using leaves issued by the throwaway test CA.
#include <ctime>
#include <string>

#include <gtest/gtest.h>

#include "common/tls/identity.hpp"
#include "tests/support/test_ca.hpp"

namespace fedgw {
namespace {

using test::LeafSpec;
using test::TestCa;

class IdentityTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { ca_ = new TestCa(); }
    static void TearDownTestSuite() {
        delete ca_;
        ca_ = nullptr;
    }
    static test::X509Ptr leaf(const LeafSpec& spec) { return std::move(ca_->issue(spec).cert); }

    static TestCa* ca_;
};

TestCa* IdentityTest::ca_ = nullptr;

struct Case {
    const char* reference;
    IdentityMatch expected;
};

void expect_cases(X509* cert, std::initializer_list<Case> cases) {
    for (const Case& c : cases) {
        EXPECT_EQ(verify_identity(cert, c.reference), c.expected)
            << "reference '" << c.reference << "' against " << certificate_names(cert).describe();
    }
}

TEST_F(IdentityTest, DnsIdExact) {
    auto cert = leaf({.dns = {"a.test"}});
    expect_cases(cert.get(), {
                                 {"a.test", IdentityMatch::DnsId},
                                 {"A.TEST", IdentityMatch::DnsId},
                                 {"a.test.", IdentityMatch::DnsId},
                                 {"b.test", IdentityMatch::None},
                                 {"sub.a.test", IdentityMatch::None},
                                 {"test", IdentityMatch::None},
                             });
}

TEST_F(IdentityTest, WildcardOnlyAsCompleteLeftMostLabel) {
    auto cert = leaf({.dns = {"*.w.test"}});
    expect_cases(cert.get(), {
                                 {"x.w.test", IdentityMatch::DnsId},
                                 {"X.W.Test", IdentityMatch::DnsId},
                                 {"w.test", IdentityMatch::None},      // never the bare parent
                                 {"a.b.w.test", IdentityMatch::None},  // one label only
                                 {"x.other.test", IdentityMatch::None},
                             });
}

TEST_F(IdentityTest, PartialWildcardsAreRefused) {
    auto prefix = leaf({.dns = {"x*.p.test"}});
    auto suffix = leaf({.dns = {"*x.p.test"}});
    auto middle = leaf({.dns = {"f*o.p.test"}});
    expect_cases(prefix.get(),
                 {{"xa.p.test", IdentityMatch::None}, {"x.p.test", IdentityMatch::None}});
    expect_cases(suffix.get(), {{"ax.p.test", IdentityMatch::None}});
    expect_cases(middle.get(), {{"foo.p.test", IdentityMatch::None}});
}

TEST_F(IdentityTest, WildcardNotLeftMostIsRefused) {
    auto cert = leaf({.dns = {"a.*.test"}});
    expect_cases(cert.get(), {{"a.b.test", IdentityMatch::None}});
}

TEST_F(IdentityTest, WildcardOverTopLevelDomainIsRefused) {
    auto cert = leaf({.dns = {"*.test"}});
    expect_cases(cert.get(), {{"a.test", IdentityMatch::None}});
}

TEST_F(IdentityTest, SrvId) {
    auto cert = leaf({.srv = {"_xmpp-server.s.test"}});
    expect_cases(cert.get(), {
                                 {"s.test", IdentityMatch::SrvId},
                                 {"S.Test", IdentityMatch::SrvId},
                                 {"s.test.", IdentityMatch::SrvId},
                                 {"other.test", IdentityMatch::None},
                                 {"_xmpp-server.s.test", IdentityMatch::None},
                             });
}

TEST_F(IdentityTest, SrvIdForAnotherServiceDoesNotCount) {
    auto cert = leaf({.srv = {"_xmpp-client.c.test", "_sip._tcp.c.test"}});
    expect_cases(cert.get(), {{"c.test", IdentityMatch::None}});
}

TEST_F(IdentityTest, XmppAddr) {
    auto cert = leaf({.xmpp = {"x.test"}});
    expect_cases(cert.get(), {
                                 {"x.test", IdentityMatch::XmppAddr},
                                 {"X.TEST", IdentityMatch::XmppAddr},
                                 {"y.test", IdentityMatch::None},
                             });
}

TEST_F(IdentityTest, XmppAddrOfAUserIsNotAServerIdentity) {
    auto cert = leaf({.xmpp = {"user@u.test", "u.test/resource"}});
    expect_cases(cert.get(), {{"u.test", IdentityMatch::None}});
}

TEST_F(IdentityTest, CommonNameIsNeverUsed) {
    auto cert = leaf({.cn = "cn.test"});
    expect_cases(cert.get(), {{"cn.test", IdentityMatch::None}});
    // Not even when the SAN has other names.
    auto with_san = leaf({.cn = "cn2.test", .dns = {"other.test"}});
    expect_cases(with_san.get(), {{"cn2.test", IdentityMatch::None}});
}

TEST_F(IdentityTest, DnsIdIsReportedFirst) {
    auto cert = leaf({.dns = {"all.test"}, .srv = {"_xmpp-server.all.test"}, .xmpp = {"all.test"}});
    expect_cases(cert.get(), {{"all.test", IdentityMatch::DnsId}});
    auto srv_and_xmpp = leaf({.srv = {"_xmpp-server.two.test"}, .xmpp = {"two.test"}});
    expect_cases(srv_and_xmpp.get(), {{"two.test", IdentityMatch::SrvId}});
}

TEST_F(IdentityTest, MalformedReferencesMatchNothing) {
    auto cert = leaf({.dns = {"sub.a.test", "*.w.test"},
                      .srv = {"_xmpp-server.sub.a.test"},
                      .xmpp = {"sub.a.test"}});
    // A leading dot would mean "any subdomain" to X509_check_host.
    expect_cases(cert.get(), {
                                 {".a.test", IdentityMatch::None},
                                 {"", IdentityMatch::None},
                                 {".", IdentityMatch::None},
                                 {"*.w.test", IdentityMatch::None},
                             });
    std::string with_nul("sub.a.test\0evil", 15);
    EXPECT_EQ(verify_identity(cert.get(), with_nul), IdentityMatch::None);
    EXPECT_EQ(verify_identity(nullptr, "sub.a.test"), IdentityMatch::None);
}

TEST_F(IdentityTest, ListsTheNamesACertificateCovers) {
    auto cert = leaf({.cn = "n.test",
                      .dns = {"n.test", "*.n.test"},
                      .srv = {"_xmpp-server.n.test"},
                      .xmpp = {"n.test"}});
    CertificateNames names = certificate_names(cert.get());
    EXPECT_EQ(names.dns, (std::vector<std::string>{"n.test", "*.n.test"}));
    EXPECT_EQ(names.srv, (std::vector<std::string>{"_xmpp-server.n.test"}));
    EXPECT_EQ(names.xmpp, (std::vector<std::string>{"n.test"}));
    EXPECT_EQ(names.subject_cn, "n.test");
    EXPECT_EQ(names.describe(),
              "DNS:n.test, DNS:*.n.test, SRV:_xmpp-server.n.test, XMPP:n.test, CN=n.test");
    EXPECT_EQ(certificate_names(nullptr).describe(), "");
}

TEST_F(IdentityTest, ValidityBounds) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto valid = leaf({.dns = {"v.test"}});
    auto expired = leaf({.dns = {"e.test"}, .validity = test::Validity::Expired});
    auto future = leaf({.dns = {"f.test"}, .validity = test::Validity::NotYetValid});
    ASSERT_TRUE(certificate_not_after(valid.get()).has_value());
    EXPECT_GT(*certificate_not_after(valid.get()), now);
    EXPECT_LT(*certificate_not_before(valid.get()), now);
    EXPECT_LT(*certificate_not_after(expired.get()), now);
    EXPECT_GT(*certificate_not_before(future.get()), now);
    EXPECT_FALSE(certificate_not_after(nullptr).has_value());
}

TEST(IdentityDescribe, Names) {
    EXPECT_EQ(describe(IdentityMatch::None), "none");
    EXPECT_EQ(describe(IdentityMatch::DnsId), "dns-id");
    EXPECT_EQ(describe(IdentityMatch::SrvId), "srv-id");
    EXPECT_EQ(describe(IdentityMatch::XmppAddr), "xmppaddr");
}

}  // namespace
}  // namespace fedgw
