// XmlStreamParser defences: restricted XML (RFC 6120 §11.1), billion laughs, namespaces
// (§11.2), encoding (§11.6), malformed input, and every Limits field, each with its stream
// error condition.
#include "common/xml/stream_parser.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "tests/unit/xml/xml_test_support.hpp"

namespace fedgw {
namespace {

// Parses `input` whole, byte by byte and split in the middle; all three must fail with `c`.
void expect_refused(const std::string& input, StreamCondition c, Limits limits = {}) {
    for (const ParseRun& run : {parse_whole(input, limits), parse_bytewise(input, limits),
                                parse_split(input, input.size() / 2, limits)}) {
        ASSERT_TRUE(run.error.has_value()) << "accepted: " << input.substr(0, 200);
        EXPECT_EQ(run.error->condition, c) << run.error->describe();
        EXPECT_FALSE(run.error->text.empty());
    }
}

const std::string kHeader = peer_header();

// --- restricted XML -----------------------------------------------------------------------------

TEST(XmlStreamParserRestricted, XmlDeclarationIsAllowed) {
    ParseRun run = parse_whole("<?xml version='1.0' encoding='utf-8'?>\n" +
                               kHeader.substr(std::string("<?xml version='1.0'?>").size()));
    EXPECT_FALSE(run.error) << run.error->describe();
    EXPECT_EQ(run.events.size(), 1u);
}

TEST(XmlStreamParserRestricted, Doctype) {
    expect_refused("<?xml version='1.0'?><!DOCTYPE stream:stream>" +
                       kHeader.substr(std::string("<?xml version='1.0'?>").size()),
                   StreamCondition::RestrictedXml);
}

TEST(XmlStreamParserRestricted, EntityDeclaration) {
    ParseRun run = parse_whole("<!DOCTYPE s [<!ENTITY x 'y'>]><s>&x;</s>");
    ASSERT_TRUE(run.error);
    EXPECT_EQ(run.error->condition, StreamCondition::RestrictedXml);
    expect_refused("<!DOCTYPE s [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><s>&x;</s>",
                   StreamCondition::RestrictedXml);
}

TEST(XmlStreamParserRestricted, EntityReferenceOtherThanPredefined) {
    expect_refused(kHeader + "<message><body>&nbsp;</body></message>",
                   StreamCondition::RestrictedXml);
    expect_refused(kHeader + "<message to='&foo;'/>", StreamCondition::RestrictedXml);
}

TEST(XmlStreamParserRestricted, PredefinedEntitiesAndCharacterReferencesAreFine) {
    ParseRun run = parse_whole(
        kHeader + "<message><body>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;</body></message>");
    ASSERT_FALSE(run.error) << run.error->describe();
    EXPECT_EQ(std::get<Stanza>(run.events[1]).element->child_text("body"), "<>&'\"AB");
}

TEST(XmlStreamParserRestricted, Comments) {
    expect_refused("<!-- hello -->" + kHeader, StreamCondition::RestrictedXml);
    expect_refused(kHeader + "<!-- between stanzas -->", StreamCondition::RestrictedXml);
    expect_refused(kHeader + "<message><body>a<!-- in a stanza -->b</body></message>",
                   StreamCondition::RestrictedXml);
}

TEST(XmlStreamParserRestricted, ProcessingInstructions) {
    expect_refused("<?xml-stylesheet href='x.xsl'?>" + kHeader, StreamCondition::RestrictedXml);
    expect_refused(kHeader + "<?php echo 1; ?>", StreamCondition::RestrictedXml);
    expect_refused(kHeader + "<message><?target data?></message>", StreamCondition::RestrictedXml);
}

TEST(XmlStreamParserRestricted, BillionLaughs) {
    std::string doc = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>";
    doc += "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>";
    for (int i = 2; i <= 9; ++i) {
        std::string prev = "&lol" + std::to_string(i - 1) + ";";
        doc += "<!ENTITY lol" + std::to_string(i) + " '";
        for (int k = 0; k < 10; ++k)
            doc += prev;
        doc += "'>";
    }
    doc += "]><lolz>&lol9;</lolz>";
    expect_refused(doc, StreamCondition::RestrictedXml);
    // Also as a "stanza" after a valid header: a DOCTYPE cannot appear there at all.
    ParseRun run = parse_whole(kHeader + doc.substr(std::string("<?xml version='1.0'?>").size()));
    ASSERT_TRUE(run.error);
    EXPECT_NE(run.error->condition, StreamCondition::PolicyViolation);
}

TEST(XmlStreamParserRestricted, ExternalParameterEntity) {
    expect_refused("<!DOCTYPE s SYSTEM 'http://evil.example/x.dtd'><s/>",
                   StreamCondition::RestrictedXml);
}

// --- namespaces, encoding, well-formedness
// --------------------------------------------------------

TEST(XmlStreamParserErrors, UnboundPrefix) {
    expect_refused(kHeader + "<foo:message/>", StreamCondition::BadNamespacePrefix);
    expect_refused(kHeader + "<message foo:attr='1'/>", StreamCondition::BadNamespacePrefix);
    // A stream header whose prefix is not declared.
    expect_refused("<stream:stream xmlns='jabber:server'>", StreamCondition::BadNamespacePrefix);
}

TEST(XmlStreamParserErrors, ReservedPrefixes) {
    expect_refused(kHeader + "<message xmlns:xml='urn:other'/>",
                   StreamCondition::BadNamespacePrefix);
    expect_refused(kHeader + "<message xmlns:xmlns='urn:other'/>",
                   StreamCondition::BadNamespacePrefix);
}

TEST(XmlStreamParserErrors, NotWellFormed) {
    expect_refused(kHeader + "<message></presence>", StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<message to='a<b'/>", StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<message to='a' to='b'/>", StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<message><body>\xff\xfe</body></message>",
                   StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<message><body>\xc3</body></message>",
                   StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<message><body>&#0;</body></message>",
                   StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<1message/>", StreamCondition::NotWellFormed);
    expect_refused("garbage\n", StreamCondition::NotWellFormed);
    expect_refused(kHeader + "<?xml version='1.0'?>", StreamCondition::NotWellFormed);
}

TEST(XmlStreamParserErrors, ErrorTextNamesTheReason) {
    ParseRun run = parse_whole(kHeader + "<message></presence>");
    ASSERT_TRUE(run.error);
    EXPECT_NE(run.error->text.find("mismatched tag"), std::string::npos) << run.error->text;
    EXPECT_NE(run.error->text.find("at byte"), std::string::npos) << run.error->text;
}

TEST(XmlStreamParserErrors, EncodingOtherThanUtf8) {
    expect_refused("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>",
                   StreamCondition::UnsupportedEncoding);
    expect_refused("<?xml version='1.0' encoding='UTF-16'?><stream:stream/>",
                   StreamCondition::UnsupportedEncoding);
}

TEST(XmlStreamParserErrors, TextBetweenStanzas) {
    expect_refused(kHeader + "<presence/>hello<presence/>", StreamCondition::BadFormat);
}

// --- limits -------------------------------------------------------------------------------------

std::string stanza_of_size(std::size_t total) {
    const std::string open = "<message><body>";
    const std::string close = "</body></message>";
    return open + std::string(total - open.size() - close.size(), 'a') + close;
}

TEST(XmlStreamParserLimits, DefaultsAreSafe) {
    XmlStreamParser p;
    EXPECT_EQ(p.limits().max_stanza_bytes, 512u * 1024u);
    EXPECT_EQ(p.limits().max_depth, 32u);
    EXPECT_EQ(p.limits().max_attributes, 64u);
    EXPECT_LE(p.limits().max_token_bytes, p.limits().max_stanza_bytes);
}

TEST(XmlStreamParserLimits, StanzaAtTheLimitPassesOneByteMoreIsRefused) {
    Limits l;
    l.max_stanza_bytes = 4096;
    const std::string exact = stanza_of_size(4096);
    for (const ParseRun& run :
         {parse_whole(kHeader + "\n" + exact + exact, l), parse_bytewise(kHeader + exact, l)}) {
        ASSERT_FALSE(run.error) << run.error->describe();
    }
    expect_refused(kHeader + stanza_of_size(4097), StreamCondition::PolicyViolation, l);
    ParseRun run = parse_whole(kHeader + stanza_of_size(4097), l);
    EXPECT_EQ(run.error->text, "stanza exceeds 4096 bytes");
}

TEST(XmlStreamParserLimits, DefaultStanzaLimitRefusesOversize) {
    ParseRun ok = parse_whole(kHeader + stanza_of_size(512 * 1024));
    EXPECT_FALSE(ok.error) << ok.error->describe();
    expect_refused(kHeader + stanza_of_size(512 * 1024 + 1), StreamCondition::PolicyViolation);
}

TEST(XmlStreamParserLimits, HugeTokenRefusedBeforeExpatBuffersIt) {
    // One start tag with a 10 MiB attribute, in one chunk: refused having handed expat no more
    // than the token limit past the header.
    const std::string huge = kHeader + "<message to='" + std::string(10 << 20, 'x') + "'/>";
    XmlStreamParser p;
    auto r = p.feed(huge);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().condition, StreamCondition::PolicyViolation);
    EXPECT_LE(p.stream_bytes(), kHeader.size() + p.limits().max_token_bytes);

    // The same for a huge text run inside a stanza: refused by the stanza limit.
    XmlStreamParser q;
    auto r2 = q.feed(kHeader + "<message><body>" + std::string(10 << 20, 'x'));
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().text, "stanza exceeds 524288 bytes");
    EXPECT_LE(q.stream_bytes(), kHeader.size() + q.limits().max_stanza_bytes);
}

TEST(XmlStreamParserLimits, HugeStreamHeaderRefused) {
    Limits l;
    l.max_stanza_bytes = 2048;
    l.max_token_bytes = 2048;
    expect_refused("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='" +
                       std::string(5000, 'a') + "'>",
                   StreamCondition::PolicyViolation, l);
}

TEST(XmlStreamParserLimits, LargeTextStreamsWithoutTokenLimit) {
    // 300 KiB of text is more than max_token_bytes: text is not one token.
    const std::string body(300 * 1024, 't');
    ParseRun run = parse_whole(kHeader + "<message><body>" + body + "</body></message>");
    ASSERT_FALSE(run.error) << run.error->describe();
    EXPECT_EQ(std::get<Stanza>(run.events[1]).element->child_text("body")->size(), body.size());
}

TEST(XmlStreamParserLimits, Depth) {
    auto nested = [](std::size_t depth) {  // stanza root is depth 1
        std::string s;
        for (std::size_t i = 1; i <= depth; ++i)
            s += "<e>";
        for (std::size_t i = 1; i <= depth; ++i)
            s += "</e>";
        return s;
    };
    ParseRun ok = parse_whole(kHeader + nested(32));
    EXPECT_FALSE(ok.error) << ok.error->describe();
    expect_refused(kHeader + nested(33), StreamCondition::PolicyViolation);
    expect_refused(kHeader + nested(100000), StreamCondition::PolicyViolation);

    // A configured depth is capped so tree walks cannot exhaust the stack.
    Limits deep;
    deep.max_depth = 1u << 30;
    XmlStreamParser p(deep);
    EXPECT_EQ(p.limits().max_depth, Limits::kMaxDepthCap);
    ParseRun capped = parse_whole(kHeader + nested(Limits::kMaxDepthCap + 1), deep);
    ASSERT_TRUE(capped.error);
    EXPECT_EQ(capped.error->condition, StreamCondition::PolicyViolation);
    ParseRun ok256 = parse_whole(kHeader + nested(Limits::kMaxDepthCap), deep);
    EXPECT_FALSE(ok256.error);
}

TEST(XmlStreamParserLimits, AttributesPerElement) {
    auto with_attrs = [](std::size_t n) {
        std::string s = "<message";
        for (std::size_t i = 0; i < n; ++i)
            s += " a" + std::to_string(i) + "='v'";
        return s + "/>";
    };
    ParseRun ok = parse_whole(kHeader + with_attrs(64));
    EXPECT_FALSE(ok.error) << ok.error->describe();
    expect_refused(kHeader + with_attrs(65), StreamCondition::PolicyViolation);
    // Namespace declarations count too.
    std::string decls = "<message";
    for (int i = 0; i < 65; ++i)
        decls += " xmlns:p" + std::to_string(i) + "='urn:" + std::to_string(i) + "'";
    expect_refused(kHeader + decls + "/>", StreamCondition::PolicyViolation);
}

TEST(XmlStreamParserLimits, ElementsPerStanza) {
    Limits l;
    l.max_elements = 10;
    std::string ten = "<message>";
    for (int i = 0; i < 9; ++i)
        ten += "<x/>";
    ParseRun ok = parse_whole(kHeader + ten + "</message>", l);
    EXPECT_FALSE(ok.error) << ok.error->describe();
    expect_refused(kHeader + ten + "<x/></message>", StreamCondition::PolicyViolation, l);
    // The count is per stanza.
    ParseRun many = parse_whole(kHeader + ten + "</message>" + ten + "</message>", l);
    EXPECT_FALSE(many.error) << many.error->describe();
}

TEST(XmlStreamParserLimits, TextPerStanza) {
    Limits l;
    l.max_text_bytes = 100;
    ParseRun ok =
        parse_whole(kHeader + "<message><body>" + std::string(50, 'a') + "</body><subject>" +
                        std::string(50, 'b') + "</subject></message>",
                    l);
    EXPECT_FALSE(ok.error) << ok.error->describe();
    expect_refused(kHeader + "<message><body>" + std::string(50, 'a') + "</body><subject>" +
                       std::string(51, 'b') + "</subject></message>",
                   StreamCondition::PolicyViolation, l);
    // Entity references count as what they decode to.
    ParseRun refs = parse_whole(kHeader + "<message><body>" + std::string(20, 'a') +
                                    "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;"
                                    "&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;</body></message>",
                                l);
    EXPECT_FALSE(refs.error) << refs.error->describe();
}

TEST(XmlStreamParserLimits, KeepalivesDoNotCountTowardsTheStanzaLimit) {
    Limits l;
    l.max_stanza_bytes = 256;
    l.max_token_bytes = 256;
    XmlStreamParser p(l);
    ASSERT_TRUE(p.feed(kHeader));
    for (int i = 0; i < 2000; ++i)
        ASSERT_TRUE(p.feed(" ")) << i;
    ASSERT_TRUE(p.feed(stanza_of_size(256)));
    EXPECT_EQ(p.take_events().size(), 2u);
}

}  // namespace
}  // namespace fedgw
