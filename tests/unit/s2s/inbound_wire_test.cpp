// The wire helpers of InboundStream: base64 (RFC 4648 §4, §10 test vectors), trimming, and
// the dialback and SASL wire forms (XEP-0220 §2.2, §2.5; RFC 6120 §6.4.5).
#include "proxy/s2s/inbound_wire.hpp"

#include <gtest/gtest.h>

namespace fedgw::proxy::inbound_wire {
namespace {

// RFC 4648 §10.
TEST(InboundWire, Base64TestVectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        EXPECT_EQ(base64_decode(encoded), plain) << encoded;
    }
    EXPECT_EQ(base64_decode("eG1wcC5leGFtcGxlLm9yZw=="), "xmpp.example.org");
    EXPECT_EQ(base64_decode("AAEC/w=="), std::string("\x00\x01\x02\xff", 4));
}

TEST(InboundWire, Base64RefusesMalformedInput) {
    for (std::string bad :
         {"Zg", "Zg=", "Z===", "=Zg=", "Zg==Zg==", "Zm9v!A==", "Zm 9v", "Zg=a", "Zm9v\n"}) {
        EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
    }
}

TEST(InboundWire, TrimAndStrip) {
    EXPECT_EQ(trim("\n\t  abc \r\n"), "abc");
    EXPECT_EQ(trim("   "), "");
    EXPECT_EQ(strip_space(" Zm9v\n  YmFy\t"), "Zm9vYmFy");
}

TEST(InboundWire, ParseDomain) {
    auto d = parse_domain("XMPP.Example.org");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->name, "xmpp.example.org");
    EXPECT_EQ(d->ascii, "xmpp.example.org");
    auto idn = parse_domain("bücher.example");
    ASSERT_TRUE(idn.has_value());
    EXPECT_EQ(idn->name, "bücher.example");
    EXPECT_EQ(idn->ascii, "xn--bcher-kva.example");
    EXPECT_FALSE(parse_domain("").has_value());
    EXPECT_FALSE(parse_domain("user@example.org").has_value());
    EXPECT_FALSE(parse_domain("example.org/resource").has_value());
    EXPECT_FALSE(parse_domain("exa mple.org").has_value());
}

// XEP-0220 §2.2.1 Example 2 and §2.5: attribute values escaped, the error in jabber:server.
TEST(InboundWire, DialbackForms) {
    EXPECT_EQ(db_result("montague.example", "capulet.example", "valid"),
              "<db:result from='montague.example' to='capulet.example' type='valid'/>");
    EXPECT_EQ(db_verify("montague.example", "capulet.example", "417GAF25", "invalid"),
              "<db:verify from='montague.example' to='capulet.example' id='417GAF25' "
              "type='invalid'/>");
    EXPECT_EQ(db_result_error("a'b", "c", StanzaError::of(StanzaCondition::ItemNotFound)),
              "<db:result from='a&apos;b' to='c' type='error'><error type='cancel'><item-not-found "
              "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>");
}

TEST(InboundWire, SaslForms) {
    EXPECT_EQ(sasl_failure("invalid-authzid", "a < b"),
              "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-authzid/><text "
              "xml:lang='en'>a &lt; b</text></failure>");
    EXPECT_EQ(sasl_failure("aborted", ""),
              "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>");
    EXPECT_EQ(sasl_success(), "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    EXPECT_EQ(tls_proceed(), "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
}

}  // namespace
}  // namespace fedgw::proxy::inbound_wire
