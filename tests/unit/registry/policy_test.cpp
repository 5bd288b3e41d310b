#include "common/registry/policy.hpp"

#include <gtest/gtest.h>

namespace fedgw::registry {
namespace {

Policy sample() {
    Policy p;
    Partner a;
    a.domain = "prosody.test";
    a.additional_domains = {"conference.prosody.test"};
    a.type = PartnerType::Federated;
    Partner off;
    off.domain = "off.test";
    off.enabled = false;
    p.partners = {a, off};
    p.blocked = {{"evil.test", "spam"}, {"prosody-blocked.test", ""}};
    p.version = 7;
    return p;
}

TEST(Policy, AdmitsPartnersByAnyOfTheirDomains) {
    auto p = sample();
    auto a = p.admit("prosody.test");
    ASSERT_TRUE(a.admitted());
    EXPECT_EQ(a.partner->type, PartnerType::Federated);
    EXPECT_TRUE(p.admit("conference.prosody.test").admitted());
}

TEST(Policy, RefusesWithTheRule) {
    auto p = sample();
    auto a = p.admit("evil.test");
    EXPECT_FALSE(a.admitted());
    EXPECT_EQ(a.refusal, RefusalRule::Blocked);
    EXPECT_EQ(a.detail, "spam");
    EXPECT_EQ(p.admit("unknown.test").refusal, RefusalRule::NotAllowListed);
    EXPECT_EQ(p.admit("off.test").refusal, RefusalRule::PartnerDisabled);
    EXPECT_EQ(name(RefusalRule::NotAllowListed), "not-in-allow-list");
}

TEST(Policy, BlockWinsOverPartner) {
    auto p = sample();
    p.blocked.push_back({"prosody.test", "compromised"});
    EXPECT_EQ(p.admit("prosody.test").refusal, RefusalRule::Blocked);
}

TEST(Policy, DiscoverModeAdmitsUnknownAsPublicUnverified) {
    auto p = sample();
    p.settings.federation_mode = FederationMode::Discover;
    auto a = p.admit("new.test");
    ASSERT_TRUE(a.admitted());
    EXPECT_TRUE(a.discovered);
    EXPECT_EQ(a.partner->type, PartnerType::PublicUnverified);
    EXPECT_EQ(a.partner->tls, Negotiation::Required);
    EXPECT_EQ(a.partner->sasl, Negotiation::Optional);
    EXPECT_TRUE(a.partner->dialback);
    EXPECT_EQ(p.admit("evil.test").refusal, RefusalRule::Blocked);
}

TEST(Policy, JsonRoundTrip) {
    auto p = sample();
    p.settings.dialback_secret = "s3cr3t";
    p.settings.federation_mode = FederationMode::Discover;
    p.settings.stream_inactivity_timeout_s = 5;
    p.partners[0].static_route = "127.0.0.2:5269";
    auto back = policy_from_json(to_json(p));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(*back, p);
}

TEST(Policy, JsonErrorsAreValues) {
    EXPECT_FALSE(policy_from_json("{"));
    EXPECT_FALSE(policy_from_json("{\"partners\":[{\"domain\":\"a\",\"tls\":\"maybe\"}],"
                                  "\"blocked\":[],\"settings\":{}}"));
    EXPECT_FALSE(policy_from_json("{\"blocked\":[],\"settings\":{}}"));
}

}  // namespace
}  // namespace fedgw::registry
