#include "common/registry/registry_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace fedgw::registry {
namespace {

class Store : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/fedgw-registry-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/registry.sqlite";
        auto s = RegistryStore::open(path_);
        ASSERT_TRUE(s) << s.error().describe();
        store_.emplace(std::move(*s));
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }
    RegistryStore& store() { return *store_; }

    std::string dir_, path_;
    std::optional<RegistryStore> store_;
};

Partner partner(std::string domain) {
    Partner p;
    p.domain = std::move(domain);
    return p;
}

TEST_F(Store, CreatesOwnerOnlyFile) {
    struct stat st {};
    ASSERT_EQ(stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(Store, PartnerLifecycle) {
    Partner p = partner("prosody.test");
    p.additional_domains = {"muc.prosody.test"};
    p.type = PartnerType::Federated;
    p.static_route = "127.0.0.2:5269";
    p.connection_limit = 4;
    ASSERT_TRUE(store().add_partner(p));
    EXPECT_EQ(store().add_partner(p).error().kind, StoreErrorKind::Exists);

    auto got = store().get_partner("prosody.test");
    ASSERT_TRUE(got) << got.error().describe();
    EXPECT_EQ(*got, p);

    p.sasl = Negotiation::Required;
    auto warnings = store().update_partner(p);
    ASSERT_TRUE(warnings);
    EXPECT_FALSE(warnings->empty());  // SASL required + dialback on: dialback unused
    EXPECT_EQ(store().get_partner("prosody.test")->sasl, Negotiation::Required);

    ASSERT_TRUE(store().remove_partner("prosody.test"));
    EXPECT_EQ(store().get_partner("prosody.test").error().kind, StoreErrorKind::NotFound);
    EXPECT_EQ(store().remove_partner("prosody.test").error().kind, StoreErrorKind::NotFound);
}

TEST_F(Store, InvalidPartnersRefusedWithReason) {
    Partner p = partner("bad.test");
    p.tls = Negotiation::NotSupported;  // SASL optional by default: needs TLS
    auto r = store().add_partner(p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, StoreErrorKind::Invalid);
    EXPECT_NE(r.error().describe().find("needs TLS"), std::string::npos);
    EXPECT_EQ(store().update_partner(partner("missing.test")).error().kind,
              StoreErrorKind::NotFound);
}

TEST_F(Store, AdditionalDomainCannotBelongToTwoPartners) {
    Partner a = partner("a.test");
    a.additional_domains = {"shared.test"};
    ASSERT_TRUE(store().add_partner(a));
    Partner b = partner("b.test");
    b.additional_domains = {"shared.test"};
    auto r = store().add_partner(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, StoreErrorKind::Invalid);
    // The failed add left nothing behind.
    EXPECT_EQ(store().get_partner("b.test").error().kind, StoreErrorKind::NotFound);
}

TEST_F(Store, BlockedDomains) {
    ASSERT_TRUE(store().add_blocked("evil.test", "spam"));
    EXPECT_EQ(store().add_blocked("evil.test", "").error().kind, StoreErrorKind::Exists);
    EXPECT_EQ(store().add_blocked("Not A Domain", "").error().kind, StoreErrorKind::Invalid);
    auto p = store().load_policy();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->admit("evil.test").refusal, RefusalRule::Blocked);
    ASSERT_TRUE(store().remove_blocked("evil.test"));
    EXPECT_EQ(store().remove_blocked("evil.test").error().kind, StoreErrorKind::NotFound);
}

TEST_F(Store, SettingsConvertedAndChecked) {
    ASSERT_TRUE(store().set_setting("stream_inactivity_timeout_s", "5"));
    ASSERT_TRUE(store().set_setting("log_message_bodies", "on"));
    ASSERT_TRUE(store().set_setting("federation_mode", "discover"));
    auto s = store().settings();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->stream_inactivity_timeout_s, 5u);
    EXPECT_TRUE(s->log_message_bodies);
    EXPECT_EQ(s->federation_mode, FederationMode::Discover);
    EXPECT_EQ(store().set_setting("stream_inactivity_timeout_s", "0").error().kind,
              StoreErrorKind::Invalid);
    EXPECT_EQ(store().set_setting("log_message_bodies", "maybe").error().kind,
              StoreErrorKind::Invalid);
    EXPECT_EQ(store().set_setting("federation_mode", "open").error().kind, StoreErrorKind::Invalid);
    auto unknown = store().set_setting("no_such_key", "1");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().describe().find("known: total_connection_limit"), std::string::npos);
}

TEST_F(Store, DialbackSecretGeneratedOnce) {
    auto a = store().ensure_dialback_secret();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->size(), 64u);
    auto b = store().ensure_dialback_secret();
    ASSERT_TRUE(b);
    EXPECT_EQ(*a, *b);
}

TEST_F(Store, UserAccessFallsBackToDefault) {
    EXPECT_FALSE(*store().user_access("alice@sip.test"));
    ASSERT_TRUE(store().set_user_access("alice@sip.test", true));
    EXPECT_TRUE(*store().user_access("alice@sip.test"));
    ASSERT_TRUE(store().set_setting("xmpp_access_default", "on"));
    ASSERT_TRUE(store().set_user_access("alice@sip.test", std::nullopt));
    EXPECT_TRUE(*store().user_access("bob@sip.test"));
    ASSERT_TRUE(store().set_user_access("bob@sip.test", false));
    EXPECT_FALSE(*store().user_access("bob@sip.test"));
}

TEST_F(Store, ContactPairs) {
    EXPECT_FALSE(*store().has_contact("alice@sip.test", "juliet@prosody.test"));
    ASSERT_TRUE(
        store().remember_contact("alice@sip.test", "juliet@prosody.test", ContactSource::Messaged));
    ASSERT_TRUE(store().remember_contact("alice@sip.test", "juliet@prosody.test",
                                         ContactSource::Subscribed));
    EXPECT_TRUE(*store().has_contact("alice@sip.test", "juliet@prosody.test"));
}

TEST_F(Store, RevisionMovesWithPolicyChanges) {
    auto r0 = *store().revision();
    ASSERT_TRUE(store().add_partner(partner("x.test")));
    auto r1 = *store().revision();
    EXPECT_GT(r1, r0);
    ASSERT_TRUE(store().remember_contact("a@sip.test", "b@x.test", ContactSource::Operator));
    EXPECT_EQ(*store().revision(), r1);  // contact pairs are not policy
}

TEST_F(Store, SnapshotReplacesLocalCopy) {
    ASSERT_TRUE(store().add_partner(partner("old.test")));
    Policy p;
    Partner q = partner("new.test");
    q.additional_domains = {"chat.new.test"};
    q.type = PartnerType::PublicVerified;
    p.partners = {q};
    p.blocked = {{"evil.test", "spam"}};
    p.settings.stream_establishment_timeout_s = 7;
    p.settings.dialback_secret = std::string(64, 'a');
    auto wrote = store().replace_policy(p);
    ASSERT_TRUE(wrote);
    EXPECT_TRUE(*wrote);
    auto back = store().load_policy();
    ASSERT_TRUE(back);
    EXPECT_EQ(back->partners, p.partners);
    EXPECT_EQ(back->blocked, p.blocked);
    EXPECT_EQ(back->settings, p.settings);
    EXPECT_EQ(back->admit("old.test").refusal, RefusalRule::NotAllowListed);
}

// One host, one file: the proxy stores the snapshot the gateway took from that same file.
// Writing it again would be a change the gateway sends back, forever.
TEST_F(Store, SnapshotEqualToTheFileWritesNothing) {
    ASSERT_TRUE(store().add_partner(partner("a.test")));
    ASSERT_TRUE(store().add_blocked("evil.test", "spam"));
    ASSERT_TRUE(store().ensure_dialback_secret());
    auto p = store().load_policy();
    ASSERT_TRUE(p);
    const auto rev = *store().revision();
    p->version = 12345;  // the sender's counter differs; the content does not
    auto wrote = store().replace_policy(*p);
    ASSERT_TRUE(wrote);
    EXPECT_FALSE(*wrote);
    EXPECT_EQ(*store().revision(), rev);
    p->settings.dialback_secret.clear();  // a snapshot without the secret keeps the stored one
    EXPECT_FALSE(*store().replace_policy(*p));
    EXPECT_EQ(*store().revision(), rev);
    p->blocked.clear();
    EXPECT_TRUE(*store().replace_policy(*p));
    EXPECT_GT(*store().revision(), rev);
}

}  // namespace
}  // namespace fedgw::registry
