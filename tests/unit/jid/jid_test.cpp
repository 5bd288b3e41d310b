// Tests for fedgw::Jid: RFC 7622 §3.1 splitting, §3.2 domainparts (IDNA2008, IP literals,
// trailing dot), §3.3/§3.4 localparts and resourceparts (stringprep, the documented deviation
// from PRECIS), the §3.5 examples, length limits, comparison and hashing.
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/jid/jid.hpp"

namespace fedgw {

void PrintTo(JidError e, std::ostream* os) {
    *os << describe(e);
}

namespace {

Jid ok(std::string_view s) {
    auto j = Jid::parse(s);
    EXPECT_TRUE(j.has_value()) << "'" << s << "': " << (j ? "" : j.error().describe());
    if (!j) return Jid::parse("fallback.example").value();
    return *j;
}

JidError err(std::string_view s) {
    auto j = Jid::parse(s);
    EXPECT_FALSE(j.has_value()) << "'" << s << "' parsed as '" << (j ? j->to_string() : "") << "'";
    if (j) return JidError::Empty;
    return j.error().error;
}

// ---- RFC 7622 §3.5.1: examples of valid JIDs ------------------------------------------

TEST(JidRfc7622Examples, ValidBareJid) {  // §3.5.1 item 1
    Jid j = ok("juliet@example.com");
    EXPECT_EQ(j.localpart(), "juliet");
    EXPECT_EQ(j.domainpart(), "example.com");
    EXPECT_FALSE(j.has_resource());
    EXPECT_TRUE(j.is_bare());
}

TEST(JidRfc7622Examples, ValidFullJid) {  // §3.5.1 item 2
    Jid j = ok("juliet@example.com/foo");
    EXPECT_EQ(j.resourcepart(), "foo");
    EXPECT_TRUE(j.is_full());
}

TEST(JidRfc7622Examples, ValidSpaceInResourcepart) {  // §3.5.1 item 3
    EXPECT_EQ(ok("juliet@example.com/foo bar").resourcepart(), "foo bar");
}

TEST(JidRfc7622Examples, ValidAtSignInResourcepart) {  // §3.5.1 item 4
    Jid j = ok("juliet@example.com/foo@bar");
    EXPECT_EQ(j.localpart(), "juliet");
    EXPECT_EQ(j.resourcepart(), "foo@bar");
}

TEST(JidRfc7622Examples, ValidEscapedSpaceInLocalpart) {  // §3.5.1 item 5 (XEP-0106)
    EXPECT_EQ(ok("foo\\20bar@example.com").localpart(), "foo\\20bar");
}

TEST(JidRfc7622Examples, ValidFussball) {  // §3.5.1 items 6 and 7
    EXPECT_EQ(ok("fussball@example.com").localpart(), "fussball");
    // DEVIATION (jid_prep.hpp): Nodeprep folds U+00DF to "ss"; PRECIS keeps "fußball" distinct.
    Jid sharp = ok("fußball@example.com");
    EXPECT_EQ(sharp.localpart(), "fussball");
    EXPECT_EQ(sharp, ok("fussball@example.com"));
}

TEST(JidRfc7622Examples, ValidGreekLocalparts) {  // §3.5.1 items 8-11
    EXPECT_EQ(ok("π@example.com").localpart(), "π");
    EXPECT_EQ(ok("Σ@example.com/foo").localpart(), "σ");
    EXPECT_EQ(ok("σ@example.com/foo").localpart(), "σ");
    // DEVIATION: Nodeprep maps final sigma U+03C2 to U+03C3; PRECIS keeps it.
    EXPECT_EQ(ok("ς@example.com/foo").localpart(), "σ");
}

TEST(JidRfc7622Examples, ValidSymbolInResourcepart) {  // §3.5.1 item 12
    EXPECT_EQ(ok("king@example.com/♚").resourcepart(), "♚");
}

TEST(JidRfc7622Examples, ValidDomainOnly) {  // §3.5.1 items 13-15
    Jid d = ok("example.com");
    EXPECT_TRUE(d.is_domain());
    Jid dr = ok("example.com/foobar");
    EXPECT_FALSE(dr.has_localpart());
    EXPECT_EQ(dr.resourcepart(), "foobar");
    EXPECT_FALSE(dr.is_domain());
    Jid at = ok("a.example.com/b@example.net");
    EXPECT_FALSE(at.has_localpart());
    EXPECT_EQ(at.domainpart(), "a.example.com");
    EXPECT_EQ(at.resourcepart(), "b@example.net");
}

// ---- RFC 7622 §3.5.2: examples of invalid JIDs ----------------------------------------

TEST(JidRfc7622Examples, InvalidQuotesInLocalpart) {  // §3.5.2 item 1
    EXPECT_EQ(err("\"juliet\"@example.com"), JidError::ForbiddenCharacter);
}

TEST(JidRfc7622Examples, InvalidSpaceInLocalpart) {  // §3.5.2 item 2
    EXPECT_EQ(err("foo bar@example.com"), JidError::ForbiddenCharacter);
}

TEST(JidRfc7622Examples, InvalidEmptyResourcepart) {  // §3.5.2 item 3
    EXPECT_EQ(err("juliet@example.com/"), JidError::EmptyResource);
}

TEST(JidRfc7622Examples, InvalidEmptyLocalpartAndResourcepart) {  // §3.5.2 item 4
    EXPECT_EQ(err("@example.com/"), JidError::EmptyLocalpart);
}

TEST(JidRfc7622Examples, InvalidRomanNumeralFour) {  // §3.5.2 item 5, by the HasCompat check
    EXPECT_EQ(err("henryⅣ@example.com"), JidError::ForbiddenCharacter);
}

TEST(JidRfc7622Examples, InvalidChessKingLocalpart) {  // §3.5.2 item 6, by the symbol check
    EXPECT_EQ(err("♚@example.com"), JidError::ForbiddenCharacter);
}

TEST(JidRfc7622Examples, InvalidNoDomainpart) {  // §3.5.2 items 7 and 8
    EXPECT_EQ(err("juliet@"), JidError::EmptyDomain);
    EXPECT_EQ(err("/foobar"), JidError::EmptyDomain);
}

// ---- §3.1 splitting --------------------------------------------------------------------

TEST(JidSplit, FirstSlashStartsTheResource) {
    Jid j = ok("a@b.example/c/d@e");
    EXPECT_EQ(j.localpart(), "a");
    EXPECT_EQ(j.domainpart(), "b.example");
    EXPECT_EQ(j.resourcepart(), "c/d@e");
}

TEST(JidSplit, SecondAtSignBeforeSlashIsRefused) {
    EXPECT_EQ(err("a@b@c.example"), JidError::BadDomain);
}

TEST(JidSplit, EmptyInputAndSeparatorsAlone) {
    EXPECT_EQ(err(""), JidError::Empty);
    EXPECT_EQ(err("@"), JidError::EmptyLocalpart);
    EXPECT_EQ(err("/"), JidError::EmptyResource);
    EXPECT_EQ(err("@/"), JidError::EmptyLocalpart);
    EXPECT_EQ(err("@d.example"), JidError::EmptyLocalpart);
    EXPECT_EQ(err("d.example/"), JidError::EmptyResource);
    EXPECT_EQ(err("u@/r"), JidError::EmptyDomain);
}

// ---- case handling -----------------------------------------------------------------------

TEST(JidCase, DomainAndLocalpartFoldResourceKeepsCase) {
    Jid j = ok("Juliet@Example.COM/Balcony");
    EXPECT_EQ(j.localpart(), "juliet");
    EXPECT_EQ(j.domainpart(), "example.com");
    EXPECT_EQ(j.resourcepart(), "Balcony");
    EXPECT_EQ(j.to_string(), "juliet@example.com/Balcony");
    EXPECT_EQ(j, ok("juliet@example.com/Balcony"));
    EXPECT_NE(j, ok("juliet@example.com/balcony"));
}

TEST(JidCase, NonAsciiLocalpartFolds) {
    EXPECT_EQ(ok("ÄÖÜ@example.com").localpart(), "äöü");
    EXPECT_EQ(ok("ÄÖÜ@example.com/ÄÖÜ").resourcepart(), "ÄÖÜ");
}

// ---- stringprep behaviour (the documented deviation) ----------------------------------

TEST(JidStringprep, FullWidthLocalpartIsWidthMapped) {
    Jid j = ok("ｊｕｌｉｅｔ@example.com");
    EXPECT_EQ(j.localpart(), "juliet");
    EXPECT_EQ(j, ok("juliet@example.com"));
}

TEST(JidStringprep, FullWidthForbiddenCharactersAreStillForbidden) {
    EXPECT_EQ(err("a＠b@example.com"), JidError::ForbiddenCharacter);  // U+FF20 -> '@'
    EXPECT_EQ(err("a＂b@example.com"), JidError::ForbiddenCharacter);  // U+FF02 -> '"'
}

TEST(JidStringprep, CompatibilityCharactersInResourceAreNfkcMapped) {
    // DEVIATION: Resourceprep applies NFKC; PRECIS OpaqueString would keep U+2163.
    EXPECT_EQ(ok("a@example.com/henryⅣ").resourcepart(), "henryIV");
    EXPECT_EQ(ok("a@example.com/ｘ＠ｙ").resourcepart(), "x@y");
    EXPECT_EQ(ok("a@example.com/ﬁ").resourcepart(), "fi");
}

TEST(JidStringprep, CompatibilityCharactersInLocalpartAreRefused) {
    EXPECT_EQ(err("ﬁsh@example.com"), JidError::ForbiddenCharacter);  // U+FB01 ligature
    EXPECT_EQ(err("x²@example.com"), JidError::ForbiddenCharacter);   // U+00B2
}

TEST(JidStringprep, MappedToNothingCharactersAreDeleted) {
    EXPECT_EQ(ok("ju\u00ADliet@example.com").localpart(), "juliet");  // soft hyphen
    EXPECT_EQ(ok("a@example.com/x\u200By").resourcepart(), "xy");     // zero-width space
    EXPECT_EQ(err("\u00AD@example.com"), JidError::EmptyLocalpart);
    EXPECT_EQ(err("a@example.com/\u00AD"), JidError::EmptyResource);
}

TEST(JidStringprep, ProhibitedAndBidiViolations) {
    EXPECT_EQ(err("a\tb@example.com"), JidError::ForbiddenCharacter);            // control
    EXPECT_EQ(err("a@example.com/x\x01y"), JidError::ForbiddenCharacter);        // control
    EXPECT_EQ(err("a@example.com/\xEE\x80\x80"), JidError::ForbiddenCharacter);  // private use
    EXPECT_EQ(err("ا1@example.com"), JidError::LocalpartPrepFailed);  // RAL then L/EN end
    EXPECT_EQ(err("a@example.com/ا1"), JidError::ResourcePrepFailed);
}

TEST(JidStringprep, EmojiOnlyInResourcepart) {
    EXPECT_EQ(ok("a@example.com/phone 📱").resourcepart(), "phone 📱");
    EXPECT_EQ(err("📱@example.com"), JidError::ForbiddenCharacter);
}

TEST(JidStringprep, EveryRfc7622ForbiddenLocalpartCharacter) {
    for (const char* c : {"\"", "&", "'", ":", "<", ">", " "}) {
        std::string s = std::string("a") + c + "b@example.com";
        EXPECT_EQ(err(s), JidError::ForbiddenCharacter) << s;
    }
    auto made = Jid::make("a/b", "example.com");  // '/' and '@' only reachable through make()
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().error, JidError::ForbiddenCharacter);
    EXPECT_FALSE(Jid::make("a@b", "example.com"));
}

TEST(JidStringprep, MalformedUtf8AndNul) {
    EXPECT_EQ(err("\xC3@example.com"), JidError::InvalidUtf8);
    EXPECT_EQ(err("\xC0\xAF@example.com"), JidError::InvalidUtf8);            // overlong '/'
    EXPECT_EQ(err("a@example.com/\xED\xA0\x80"), JidError::InvalidUtf8);      // surrogate
    EXPECT_EQ(err("a@example.com/\xF4\x90\x80\x80"), JidError::InvalidUtf8);  // > U+10FFFF
    EXPECT_EQ(err("a@ex\xFFmple.com"), JidError::InvalidUtf8);
    EXPECT_EQ(err(std::string_view("a\0b@example.com", 15)), JidError::ForbiddenCharacter);
    EXPECT_EQ(err(std::string_view("a@example.com/x\0", 16)), JidError::ForbiddenCharacter);
}

// ---- domainpart: IDNA2008 ----------------------------------------------------------------

TEST(JidDomain, ULabelAndALabelAreTheSameDomain) {
    Jid u = ok("user@münchen.example");
    EXPECT_EQ(u.domainpart(), "münchen.example");
    EXPECT_EQ(u.domain_ascii(), "xn--mnchen-3ya.example");
    Jid a = ok("user@xn--mnchen-3ya.example");
    EXPECT_EQ(a.domainpart(), "münchen.example");  // A-label input normalised to U-labels
    EXPECT_EQ(a.to_string(), "user@münchen.example");
    EXPECT_EQ(u, a);
    Jid upper = ok("user@XN--MNCHEN-3YA.Example");
    EXPECT_EQ(upper, u);
    EXPECT_EQ(ok("user@MÜNCHEN.example"), u);
}

TEST(JidDomain, AsciiDomainHasTheSameForms) {
    Jid j = ok("Example.COM");
    EXPECT_EQ(j.domainpart(), "example.com");
    EXPECT_EQ(j.domain_ascii(), "example.com");
}

TEST(JidDomain, Idna2008NonTransitional) {
    EXPECT_EQ(ok("ß.example").domain_ascii(), "xn--zca.example");  // not "ss" (IDNA2003)
}

TEST(JidDomain, FullWidthAndIdeographicDotsMap) {
    EXPECT_EQ(ok("ｅｘａｍｐｌｅ.com").domainpart(), "example.com");
    EXPECT_EQ(ok("example。com").domainpart(), "example.com");
}

TEST(JidDomain, RefusedByIdna) {
    EXPECT_EQ(err("💩.example"), JidError::IdnaFailed);
    EXPECT_EQ(err("xn--zz.example"), JidError::IdnaFailed);  // bad punycode
    EXPECT_EQ(err("xn--a.example"), JidError::IdnaFailed);
    EXPECT_EQ(err("-a.example"), JidError::IdnaFailed);
    auto j = Jid::parse("a@💩.example");
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().describe().find("disallowed"), std::string::npos)
        << j.error().describe();  // libidn2's message travels in the detail
}

TEST(JidDomain, NonLdhCharactersRefused) {
    // COMPAT: libidn2 with STD3 rules would delete these; we refuse them.
    EXPECT_EQ(err("a_b.example"), JidError::BadDomain);
    EXPECT_EQ(err("a b.example"), JidError::BadDomain);
    EXPECT_EQ(err("a<b.example"), JidError::BadDomain);
    EXPECT_EQ(err("a:5222"), JidError::BadDomain);
}

TEST(JidDomain, TrailingDotStrippedOnce) {
    EXPECT_EQ(ok("juliet@example.com."), ok("juliet@example.com"));
    EXPECT_EQ(ok("example.com./r").to_string(), "example.com/r");
    EXPECT_EQ(err("example.com.."), JidError::BadDomain);
    EXPECT_EQ(err("."), JidError::EmptyDomain);
    EXPECT_EQ(err("a@."), JidError::EmptyDomain);
}

TEST(JidDomain, EmptyLabelsRefused) {
    EXPECT_EQ(err(".example.com"), JidError::BadDomain);
    EXPECT_EQ(err("a..example.com"), JidError::BadDomain);
    EXPECT_EQ(err("a.example。。com"), JidError::BadDomain);
}

TEST(JidDomain, SingleLabelDomainIsAllowed) {
    EXPECT_EQ(ok("localhost").domainpart(), "localhost");
}

// ---- domainpart: IP literals -------------------------------------------------------------

TEST(JidIpLiteral, Ipv4KeptAsSent) {
    Jid j = ok("juliet@192.0.2.1/r");
    EXPECT_EQ(j.domainpart(), "192.0.2.1");
    EXPECT_EQ(j.domain_ascii(), "192.0.2.1");
    EXPECT_TRUE(j.is_ip_literal());
    EXPECT_FALSE(ok("example.com").is_ip_literal());
}

TEST(JidIpLiteral, FullWidthDigitsMapToAnIpv4Address) {
    Jid j = ok("a@１９２.０.２.１");
    EXPECT_EQ(j.domainpart(), "192.0.2.1");
    EXPECT_TRUE(j.is_ip_literal());
}

TEST(JidIpLiteral, BadIpv4Refused) {
    EXPECT_EQ(err("256.0.0.1"), JidError::BadIpLiteral);
    EXPECT_EQ(err("1.2.3"), JidError::BadIpLiteral);
    EXPECT_EQ(err("1.2.3.4.5"), JidError::BadIpLiteral);
    EXPECT_EQ(err("01.2.3.4"), JidError::BadIpLiteral);
    EXPECT_EQ(err("12345"), JidError::BadIpLiteral);
    EXPECT_EQ(err("a.123"), JidError::BadDomain);  // numeric top-level label
}

TEST(JidIpLiteral, Ipv6InBrackets) {
    Jid j = ok("juliet@[2001:DB8::1]/r");
    EXPECT_EQ(j.domainpart(), "[2001:db8::1]");
    EXPECT_TRUE(j.is_ip_literal());
    EXPECT_EQ(j.to_string(), "juliet@[2001:db8::1]/r");
    for (const char* good : {"[::]", "[::1]", "[1::]", "[1:2:3:4:5:6:7:8]", "[1:2:3:4:5:6:7::]",
                             "[::ffff:192.0.2.1]", "[1:2:3:4:5:6:192.0.2.1]", "[fe80::a:b]"})
        EXPECT_TRUE(Jid::parse(good)) << good;
}

TEST(JidIpLiteral, BadIpv6Refused) {
    for (const char* bad : {"[]", "[:]", "[:::]", "[1:2:3:4:5:6:7:8:9]", "[1::2::3]", "[12345::]",
                            "[1:]", "[:1]", "[::1", "[fe80::1%eth0]", "[v1.x]", "[::1].", "[g::1]",
                            "[1:2:3:4:5:6:7:192.0.2.1]", "[::256.0.0.1]", "[1:2:3:4:5:6:7:8::]"})
        EXPECT_EQ(err(bad), JidError::BadIpLiteral) << bad;
    EXPECT_EQ(err("::1"), JidError::BadDomain);  // without brackets it is no host name
}

// ---- length limits (§3.1: 1023 bytes per part, after preparation) ----------------------

TEST(JidLimits, LocalpartBoundary) {
    EXPECT_TRUE(Jid::parse(std::string(1023, 'a') + "@example.com"));
    EXPECT_EQ(err(std::string(1024, 'a') + "@example.com"), JidError::LocalpartTooLong);
    std::string e2;  // bytes, not characters: 511 two-byte 'é' + 'a' = 1023 bytes
    for (int i = 0; i < 511; ++i)
        e2 += "é";
    EXPECT_TRUE(Jid::parse(e2 + "a@example.com"));
    EXPECT_EQ(err(e2 + "é@example.com"), JidError::LocalpartTooLong);
}

TEST(JidLimits, ResourceBoundary) {
    EXPECT_TRUE(Jid::parse("a@example.com/" + std::string(1023, 'r')));
    EXPECT_EQ(err("a@example.com/" + std::string(1024, 'r')), JidError::ResourceTooLong);
}

TEST(JidLimits, LengthCountsAfterPreparation) {
    std::string soft;  // 1023 'r' plus soft hyphens that Resourceprep deletes
    for (int i = 0; i < 100; ++i)
        soft += "\u00AD";
    EXPECT_TRUE(Jid::parse("a@example.com/" + std::string(1023, 'r') + soft));
    // Expansion counts too: U+FB01 becomes "fi" (3 bytes to 2 is a shrink, so use U+FDFA).
    std::string wide;
    for (int i = 0; i < 60; ++i)
        wide += "\uFDFA";  // 3 bytes each, 33 bytes after NFKC
    EXPECT_EQ(err("a@example.com/" + wide), JidError::ResourceTooLong);
}

TEST(JidLimits, RawInputCap) {
    std::string soft;
    for (std::size_t i = 0; i < kMaxRawPartBytes / 2 + 1; ++i)
        soft += "\u00AD";
    EXPECT_EQ(err("a@example.com/x" + soft), JidError::ResourceTooLong);
}

TEST(JidLimits, DomainBoundary) {
    // DNS caps a host name at 253 characters (RFC 1035 §3.1, via libidn2), well below 1023.
    std::string label(63, 'a');
    std::string d253 = label + "." + label + "." + label + "." + std::string(61, 'b');
    ASSERT_EQ(d253.size(), 253u);
    EXPECT_TRUE(Jid::parse(d253));
    EXPECT_TRUE(Jid::parse(d253 + "."));
    EXPECT_EQ(err(d253 + "b"), JidError::DomainTooLong);
    EXPECT_EQ(err(std::string(1023, 'a')), JidError::DomainTooLong);
    EXPECT_EQ(err(std::string(1024, 'a')), JidError::DomainTooLong);
    EXPECT_EQ(err(std::string(kMaxRawPartBytes + 1, 'a')), JidError::DomainTooLong);
    std::string long_name;
    while (long_name.size() < 1024)
        long_name += "abcdefg.";
    long_name += "example";
    EXPECT_EQ(err(long_name), JidError::DomainTooLong);
    EXPECT_EQ(err(std::string(64, 'a') + ".example"), JidError::IdnaFailed);  // label > 63
}

// ---- bare/full, comparison, hashing ------------------------------------------------------

TEST(JidCompare, BareAndFull) {
    Jid full = ok("juliet@example.com/balcony");
    Jid bare = full.bare();
    EXPECT_TRUE(bare.is_bare());
    EXPECT_EQ(bare.to_string(), "juliet@example.com");
    EXPECT_EQ(full.bare_string(), "juliet@example.com");
    EXPECT_EQ(bare, ok("juliet@example.com"));
    EXPECT_NE(bare, full);
    EXPECT_TRUE(full.same_bare(bare));
    EXPECT_TRUE(full.same_bare(ok("Juliet@EXAMPLE.com/chamber")));
    EXPECT_FALSE(full.same_bare(ok("romeo@example.com/balcony")));
    EXPECT_FALSE(full.same_bare(ok("example.com/balcony")));
    EXPECT_TRUE(full.same_domain(ok("example.com")));
    EXPECT_EQ(full.domain(), ok("example.com"));
    EXPECT_TRUE(full.domain().is_domain());
}

TEST(JidCompare, WithResource) {
    Jid j = ok("juliet@example.com/a");
    auto r = j.with_resource("Balcony");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->to_string(), "juliet@example.com/Balcony");
    EXPECT_EQ(j.with_resource("")->to_string(), "juliet@example.com");
    EXPECT_FALSE(j.with_resource("\x01"));
}

TEST(JidCompare, MakeEqualsParse) {
    auto m = Jid::make("Juliet", "EXAMPLE.com.", "Balcony");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, ok("juliet@example.com/Balcony"));
    auto d = Jid::make("", "example.com");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->is_domain());
    EXPECT_EQ(Jid::make("a", "").error().error, JidError::EmptyDomain);
}

TEST(JidCompare, OrderingForMaps) {
    std::map<Jid, int> m;
    m[ok("b@example.com")] = 1;
    m[ok("A@example.com")] = 2;
    m[ok("a@example.com")] = 3;
    EXPECT_EQ(m.size(), 2u);
    EXPECT_EQ(m.begin()->first.to_string(), "a@example.com");
}

TEST(JidHash, EqualJidsHashEqualAndWorkAsKeys) {
    std::unordered_map<Jid, int> m;
    m[ok("juliet@münchen.example/r")] = 1;
    m[ok("JULIET@xn--mnchen-3ya.example./r")] += 1;
    m[ok("juliet@münchen.example/R")] = 5;
    EXPECT_EQ(m.size(), 2u);
    EXPECT_EQ(m[ok("juliet@MÜNCHEN.example/r")], 2);
    std::hash<Jid> h;
    EXPECT_EQ(h(ok("a@example.com")), h(ok("A@Example.com.")));
    std::unordered_set<Jid> s{ok("a@example.com"), ok("example.com"), ok("example.com/a")};
    EXPECT_EQ(s.size(), 3u);
}

TEST(JidRoundTrip, ToStringReparsesToTheSameJid) {
    for (const char* in :
         {"juliet@example.com", "Juliet@Example.com/Balcony", "ｊｕｌｉｅｔ@ｅｘａｍｐｌｅ.com/ｘ",
          "a@xn--mnchen-3ya.example", "a@[::FFFF:192.0.2.1]/r", "example.com./x/y@z",
          "fußball@example.com/ﬁ", "a@example.com/henryⅣ"}) {
        Jid j = ok(in);
        EXPECT_EQ(ok(j.to_string()), j) << in;
        EXPECT_EQ(ok(j.bare_string()), j.bare()) << in;
    }
}

// ---- errors --------------------------------------------------------------------------------

TEST(JidErrors, EveryErrorIsJidMalformed) {
    auto j = Jid::parse("\"x\"@example.com");
    ASSERT_FALSE(j);
    EXPECT_EQ(stanza_condition(j.error().error), StanzaCondition::JidMalformed);
    StanzaError se = to_stanza_error(j.error());
    EXPECT_EQ(se.condition, StanzaCondition::JidMalformed);
    EXPECT_EQ(se.type, StanzaErrorType::Modify);
    EXPECT_EQ(se.text, "forbidden character: U+0022 in the localpart (RFC 7622 §3.3.1)");
}

TEST(JidErrors, EveryValueHasADescription) {
    for (int i = 0; i <= static_cast<int>(JidError::IdnaFailed); ++i)
        EXPECT_FALSE(describe(static_cast<JidError>(i)).empty());
}

TEST(JidPrepareDomain, StandaloneForms) {
    EXPECT_EQ(prepare_domain("MÜNCHEN.example.").value(), "münchen.example");
    EXPECT_EQ(prepare_domain_ascii("MÜNCHEN.example.").value(), "xn--mnchen-3ya.example");
    EXPECT_EQ(prepare_domain("[::1]").value(), "[::1]");
    EXPECT_EQ(prepare_domain("a@b").error().error, JidError::BadDomain);
    EXPECT_EQ(prepare_domain("").error().error, JidError::EmptyDomain);
}

}  // namespace
}  // namespace fedgw
