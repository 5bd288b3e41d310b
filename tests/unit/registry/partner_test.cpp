// The Lync negotiation matrix (../shared/DESIGN.md, "The partner registry"): every refused
// combination, every accepted one, and the warnings.
#include "common/registry/partner.hpp"

#include <gtest/gtest.h>

namespace fedgw::registry {
namespace {

Partner make(Negotiation tls, Negotiation sasl, bool dialback) {
    Partner p;
    p.domain = "partner.example";
    p.tls = tls;
    p.sasl = sasl;
    p.dialback = dialback;
    return p;
}

using N = Negotiation;

TEST(PartnerMatrix, EveryCombination) {
    struct Row {
        N tls;
        N sasl;
        bool dialback;
        std::optional<PolicyErrorKind> refused;
    } rows[] = {
        // TLS required
        {N::Required, N::Required, true, std::nullopt},  // SASL, else nothing (warning)
        {N::Required, N::Required, false, std::nullopt},
        {N::Required, N::Optional, true, std::nullopt},
        {N::Required, N::Optional, false, std::nullopt},
        {N::Required, N::NotSupported, true, std::nullopt},  // TLS dialback
        {N::Required, N::NotSupported, false, PolicyErrorKind::NoAuthentication},
        // TLS optional
        {N::Optional, N::Required, true, std::nullopt},
        {N::Optional, N::Required, false, std::nullopt},
        {N::Optional, N::Optional, true, std::nullopt},
        {N::Optional, N::Optional, false, std::nullopt},
        {N::Optional, N::NotSupported, true, std::nullopt},
        {N::Optional, N::NotSupported, false, PolicyErrorKind::NoAuthentication},
        // TLS not supported: SASL needs TLS
        {N::NotSupported, N::Required, true, PolicyErrorKind::SaslWithoutTls},
        {N::NotSupported, N::Required, false, PolicyErrorKind::SaslWithoutTls},
        {N::NotSupported, N::Optional, true, PolicyErrorKind::SaslWithoutTls},
        {N::NotSupported, N::Optional, false, PolicyErrorKind::SaslWithoutTls},
        {N::NotSupported, N::NotSupported, true, std::nullopt},  // TCP dialback
        {N::NotSupported, N::NotSupported, false, PolicyErrorKind::NoAuthentication},
    };
    for (const auto& r : rows) {
        auto res = validate(make(r.tls, r.sasl, r.dialback));
        std::string label = std::string(name(r.tls)) + "/" + std::string(name(r.sasl)) + "/" +
                            (r.dialback ? "on" : "off");
        if (r.refused) {
            ASSERT_FALSE(res) << label;
            EXPECT_EQ(res.error().kind, *r.refused) << label << ": " << res.error().describe();
        } else {
            EXPECT_TRUE(res) << label << ": " << (res ? "" : res.error().describe());
        }
    }
}

TEST(PartnerMatrix, RefusalsNameTheFix) {
    auto r = validate(make(N::NotSupported, N::Optional, true));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().describe().find("needs TLS"), std::string::npos);
    r = validate(make(N::Required, N::NotSupported, false));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().describe().find("turn dialback on"), std::string::npos);
}

TEST(PartnerMatrix, SaslRequiredWithDialbackWarns) {
    auto r = validate(make(N::Required, N::Required, true));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_NE((*r)[0].find("dialback stays unused"), std::string::npos);
    Partner p = make(N::Required, N::Required, true);
    EXPECT_FALSE(p.allows_dialback());
    EXPECT_TRUE(p.allows_sasl());
}

TEST(PartnerMatrix, DefaultsAreValidAndStrict) {
    Partner p;
    p.domain = "prosody.test";
    auto r = validate(p);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
    EXPECT_TRUE(p.requires_tls());
    EXPECT_TRUE(p.allows_sasl());
    EXPECT_TRUE(p.allows_dialback());
    EXPECT_EQ(p.type, PartnerType::PublicUnverified);
}

TEST(Partner, DomainsAndRoutes) {
    Partner p;
    p.domain = "Partner.Example";
    EXPECT_EQ(validate(p).error().kind, PolicyErrorKind::BadDomain);
    p.domain = "partner.example.";
    EXPECT_EQ(validate(p).error().kind, PolicyErrorKind::BadDomain);
    p.domain = "partner.example";
    p.additional_domains = {"chat.partner.example", "partner.example"};
    EXPECT_EQ(validate(p).error().kind, PolicyErrorKind::DuplicateDomain);
    p.additional_domains = {"chat.partner.example"};
    EXPECT_TRUE(p.covers("chat.partner.example"));
    EXPECT_FALSE(p.covers("other.example"));
    for (const char* ok : {"xmpp.partner.example", "xmpp.partner.example:5270", "127.0.0.2:5269",
                           "[::1]:5269", "[2001:db8::1]"}) {
        p.static_route = ok;
        EXPECT_TRUE(validate(p)) << ok;
    }
    for (const char* bad : {"host:0", "host:65536", "host:", "bad host", "[::1", "h:p"}) {
        p.static_route = bad;
        auto r = validate(p);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().kind, PolicyErrorKind::BadStaticRoute) << bad;
    }
}

TEST(Partner, Names) {
    EXPECT_EQ(partner_type_from_name("public-verified"), PartnerType::PublicVerified);
    EXPECT_EQ(negotiation_from_name("not-supported"), Negotiation::NotSupported);
    EXPECT_FALSE(negotiation_from_name("maybe").has_value());
    EXPECT_EQ(federation_mode_from_name("discover"), FederationMode::Discover);
}

}  // namespace
}  // namespace fedgw::registry
