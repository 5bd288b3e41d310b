// Address mapping (RFC 7247 §6; RFC 3261 §19.1, §25.1; RFC 7622 §3.3.1).
//
// Provenance tags ([RFC text], [recalled], [ours]) as in translate_test_support.hpp. RFC 7247
// rows are [recalled]: its text could not be fetched with the tools available.
#include "gateway/translate/address_map.hpp"

#include <gtest/gtest.h>

namespace fedgw::gateway {
namespace {

Jid jid(std::string_view s) {
    auto j = Jid::parse(s);
    EXPECT_TRUE(j.has_value()) << s;
    return *j;
}

// RFC 7247 §6.5 [recalled]: user@domain -> sip:user@domain.
TEST(JidToSip, NativeAddress) {
    auto a = jid_to_sip(jid("juliet@example.com"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uri, "sip:juliet@example.com");
    EXPECT_EQ(a->gruu, "");
}

// RFC 7247 §6.3 [recalled]: a full JID's resourcepart is the GRUU 'gr' parameter (RFC 5627);
// the address of record stays bare.
TEST(JidToSip, ResourceBecomesGruu) {
    auto a = jid_to_sip(jid("romeo@example.net/dr4hcr0st3lup4c"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uri, "sip:romeo@example.net");
    EXPECT_EQ(a->gruu, "sip:romeo@example.net;gr=dr4hcr0st3lup4c");
}

// RFC 3261 §25.1 paramchar: a space or '=' in a resource must be escaped in the parameter.
TEST(JidToSip, GruuValueEscaped) {
    auto a = jid_to_sip(jid("romeo@example.net/home phone=1"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->gruu, "sip:romeo@example.net;gr=home%20phone%3D1");
}

// RFC 3261 §25.1: hostname = LDH labels only, so an IDN goes as A-labels (RFC 5891).
TEST(JidToSip, InternationalDomainAsALabel) {
    auto a = jid_to_sip(jid("juliet@münchen.example"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uri, "sip:juliet@xn--mnchen-3ya.example");
}

// RFC 3261 §19.1.2: characters outside the user part's set are %HH; UTF-8 octet by octet.
TEST(JidToSip, NonAsciiLocalpartPercentEncoded) {
    auto a = jid_to_sip(jid("josé@example.com"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uri, "sip:jos%C3%A9@example.com");
}

// RFC 3261 §25.1 [RFC text]: "user = 1*( unreserved / escaped / user-unreserved )",
// "user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"", "unreserved = alphanum /
// mark", "mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"": these stay. [ours] ';'
// and '?' are escaped anyway (address_map.hpp: escaped and unescaped forms compare equal).
TEST(JidToSip, EscapingSet) {
    EXPECT_EQ(escape_user_part("a-b_c.d!e~f*g'h(i)j"), "a-b_c.d!e~f*g'h(i)j");
    EXPECT_EQ(escape_user_part("x=y+z$w,v"), "x=y+z$w,v");
    EXPECT_EQ(escape_user_part("semi;colon?q"), "semi%3Bcolon%3Fq");
    EXPECT_EQ(escape_user_part("per%cent#hash"), "per%25cent%23hash");
}

TEST(JidToSip, IpLiteralDomainKept) {
    auto a = jid_to_sip(jid("bob@[2001:db8::1]"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uri, "sip:bob@[2001:db8::1]");
}

TEST(JidToSip, DomainJidRefused) {
    auto a = jid_to_sip(jid("example.com"));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().error, AddressError::NoLocalpart);
    EXPECT_EQ(to_stanza_error(a.error()).condition, StanzaCondition::ServiceUnavailable);
    EXPECT_EQ(to_sip_status(a.error()), 404);
}

// RFC 7247 §6.4 [recalled]: sip:user@domain -> user@domain.
TEST(SipToJid, NativeAddress) {
    auto j = sip_to_jid("sip:alice@sip.test");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->to_string(), "alice@sip.test");
    EXPECT_TRUE(j->is_bare());
}

TEST(SipToJid, SipsSchemeAndCaseInsensitiveScheme) {
    EXPECT_EQ(sip_to_jid("sips:alice@sip.test")->to_string(), "alice@sip.test");
    EXPECT_EQ(sip_to_jid("SIP:alice@sip.test")->to_string(), "alice@sip.test");
}

// RFC 3261 §19.1.1: port and URI parameters are not part of the address.
TEST(SipToJid, PortAndParametersIgnored) {
    auto j = sip_to_jid("sip:alice@sip.test:5060;transport=tcp;lr?subject=x");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->to_string(), "alice@sip.test");
}

// RFC 7247 §6.3 [recalled]: a 'gr' parameter becomes the resourcepart.
TEST(SipToJid, GruuBecomesResource) {
    auto j = sip_to_jid("sip:romeo@example.net;gr=dr4hcr0st3lup4c");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->to_string(), "romeo@example.net/dr4hcr0st3lup4c");
    auto k = sip_to_jid("sip:romeo@example.net;gr=home%20phone");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->resourcepart(), "home phone");
}

TEST(SipToJid, RoundTripsWithJidToSip) {
    for (std::string_view s : {"juliet@example.com", "josé@example.com", "a+b=c@example.com",
                               "romeo@example.net/balcony", "x@xn--mnchen-3ya.example"}) {
        const Jid j = jid(s);
        auto a = jid_to_sip(j);
        ASSERT_TRUE(a) << s;
        auto back = sip_to_jid(j.is_full() ? a->gruu : a->uri);
        ASSERT_TRUE(back) << s << ": " << back.error().describe();
        EXPECT_EQ(*back, j) << s;
    }
}

// RFC 3261 §19.1.2: escapes are decoded ("%61lice" is "alice").
TEST(SipToJid, PercentDecoded) {
    EXPECT_EQ(sip_to_jid("sip:%61lice@sip.test")->localpart(), "alice");
    EXPECT_EQ(sip_to_jid("sip:jos%c3%a9@sip.test")->localpart(), "josé");
}

// RFC 7622 §3.3.1 [recalled wording]: " & ' / : < > @ and space are not allowed in a
// localpart; a SIP user part may carry them (RFC 3261 §25.1 [RFC text] user-unreserved "&" and
// "/", or escaped). RFC 7247 §6.4 [recalled] lets a gateway refuse such an address or apply an
// escaping scheme; [ours] refused, never mangled (address_map.hpp). [ours] jid-malformed and
// 400: RFC 6120 §8.3.3.8 [RFC text] jid-malformed: an address "that violates the rules defined
// in [XMPP-ADDR]"; RFC 3261 §21.4.1 [RFC text] 400: "The request could not be understood due to
// malformed syntax."
TEST(SipToJid, ForbiddenLocalpartCharactersRefused) {
    for (std::string_view uri :
         {"sip:a&b@sip.test", "sip:a/b@sip.test", "sip:a%22b@sip.test", "sip:a%27b@sip.test",
          "sip:a%3Ab@sip.test", "sip:a%3Cb@sip.test", "sip:a%3Eb@sip.test", "sip:a%40b@sip.test",
          "sip:a%20b@sip.test"}) {
        auto j = sip_to_jid(uri);
        ASSERT_FALSE(j) << uri;
        EXPECT_EQ(j.error().error, AddressError::ForbiddenCharacter) << uri;
        EXPECT_EQ(to_stanza_error(j.error()).condition, StanzaCondition::JidMalformed);
        EXPECT_EQ(to_sip_status(j.error()), 400);
    }
}

TEST(SipToJid, ForbiddenCharacterNamedInDetail) {
    auto j = sip_to_jid("sip:a&b@sip.test");
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().describe().find("U+0026"), std::string::npos) << j.error().describe();
}

// RFC 3261 §21.4.15 [RFC text] 416 Unsupported URI Scheme: "The server cannot process the
// request because the scheme of the URI in the Request-URI is unknown to the server."
TEST(SipToJid, OtherSchemesRefused) {
    for (std::string_view uri : {"tel:+4930123", "im:alice@sip.test", "pres:alice@sip.test",
                                 "xmpp:alice@sip.test", "alice@sip.test"}) {
        auto j = sip_to_jid(uri);
        ASSERT_FALSE(j) << uri;
        EXPECT_EQ(j.error().error, AddressError::NotSipUri) << uri;
        EXPECT_EQ(to_sip_status(j.error()), 416);
    }
}

TEST(SipToJid, HostOnlyIsNotAUser) {
    auto j = sip_to_jid("sip:sip.test");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().error, AddressError::NoUserPart);
    EXPECT_FALSE(sip_to_jid("sip:@sip.test"));
}

// RFC 3261 §19.1.1: "The use of passwords in the userinfo is NOT RECOMMENDED".
TEST(SipToJid, PasswordRefused) {
    auto j = sip_to_jid("sip:alice:secret@sip.test");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().error, AddressError::PasswordInUri);
}

TEST(SipToJid, MalformedRefused) {
    EXPECT_EQ(sip_to_jid("sip:a%4@sip.test").error().error, AddressError::MalformedUri);
    EXPECT_EQ(sip_to_jid("sip:a%zz@sip.test").error().error, AddressError::MalformedUri);
    EXPECT_EQ(sip_to_jid("sip:a b@sip.test").error().error, AddressError::MalformedUri);
    EXPECT_EQ(sip_to_jid("sip:alice@").error().error, AddressError::MalformedUri);
    EXPECT_EQ(sip_to_jid("sip:alice@[::1").error().error, AddressError::MalformedUri);
    EXPECT_EQ(sip_to_jid("sip:alice@bad_host").error().error, AddressError::InvalidDomain);
    EXPECT_EQ(sip_to_jid("sip:alice@sip.test;gr=").error().error, AddressError::InvalidResource);
}

// RFC 7622 §3.2 via common/jid: an A-label host comes back as its U-label.
TEST(SipToJid, ALabelHostToUnicode) {
    auto j = sip_to_jid("sip:juliet@xn--mnchen-3ya.example");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->domainpart(), "münchen.example");
}

// COMPAT note in address_map.hpp: localpart preparation case-folds.
TEST(SipToJid, LocalpartCaseFolded) {
    EXPECT_EQ(sip_to_jid("sip:Alice@SIP.test")->to_string(), "alice@sip.test");
}

TEST(SipToJid, IpLiteralHost) {
    auto j = sip_to_jid("sip:bob@[2001:db8::1]:5060");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->domainpart(), "[2001:db8::1]");
}

TEST(AddressFailure, EveryErrorDescribed) {
    for (auto e : {AddressError::NotSipUri, AddressError::NoUserPart, AddressError::MalformedUri,
                   AddressError::PasswordInUri, AddressError::ForbiddenCharacter,
                   AddressError::InvalidLocalpart, AddressError::InvalidDomain,
                   AddressError::InvalidResource, AddressError::NoLocalpart})
        EXPECT_FALSE(describe(e).empty());
}

}  // namespace
}  // namespace fedgw::gateway
