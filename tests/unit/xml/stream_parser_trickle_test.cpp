// XmlStreamParser with input trickling in one byte at a time: long tokens are not rescanned on
// every byte (the cost reparse deferral was meant to avoid), yet every event still arrives with
// its last byte and every refusal still happens.
#include "common/xml/stream_parser.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "tests/unit/xml/xml_test_support.hpp"

namespace fedgw {
namespace {

const std::string kHeader = peer_header();

// Feeds `s` byte by byte; expects no event before its last byte and `events` events after it.
// Returns the XML_Parse calls spent on it.
std::uint64_t trickle(XmlStreamParser& p, const std::string& s, std::size_t events = 1) {
    const std::uint64_t before = p.parse_calls();
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        auto r = p.feed(std::string_view(s).substr(i, 1));
        EXPECT_TRUE(r) << "byte " << i << ": " << r.error().describe();
        EXPECT_FALSE(p.has_events()) << "event before the last byte, at byte " << i;
        if (!r || p.has_events()) return 0;
    }
    auto r = p.feed(std::string_view(s).substr(s.size() - 1));
    EXPECT_TRUE(r) << r.error().describe();
    EXPECT_EQ(p.take_events().size(), events);
    return p.parse_calls() - before;
}

TEST(XmlStreamParserTrickle, LongStartTagIsNotRescannedPerByte) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(kHeader));
    p.take_events();
    const std::string tag = "<presence to='" + std::string(60000, 'x') + "'/>";
    const std::uint64_t calls = trickle(p, tag);
    // About 1 KiB of bytes are parsed one by one, the rest is kept back until the '>'.
    EXPECT_LT(calls, 1100u);
    EXPECT_GT(calls, 0u);
}

TEST(XmlStreamParserTrickle, QuotedGreaterThanDoesNotEndTheTag) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(kHeader));
    p.take_events();
    std::string value;
    for (int i = 0; i < 1500; ++i)
        value += "a>\"b";
    const std::string tag = "<message id='" + value + "' type=\"x>'y\"><body>hi</body></message>";
    EXPECT_LT(trickle(p, tag), 1200u);

    // And the tree is right.
    ASSERT_TRUE(p.feed(tag));
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 1u);
    const Element& m = *std::get<Stanza>(events[0]).element;
    EXPECT_EQ(m.attr("id"), value);
    EXPECT_EQ(m.attr("type"), "x>'y");
    EXPECT_EQ(m.child_text("body"), "hi");
}

TEST(XmlStreamParserTrickle, LongNamesInStartAndEndTags) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(kHeader));
    p.take_events();
    const std::string name(3000, 'n');
    const std::string stanza = "<" + name + " xmlns='urn:x'><" + name + "/></" + name + ">";
    trickle(p, stanza);
}

TEST(XmlStreamParserTrickle, ManyStanzasAfterALongOne) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(kHeader));
    p.take_events();
    trickle(p, "<presence status='" + std::string(5000, 's') + "'/>");
    for (int i = 0; i < 3; ++i)
        trickle(p, "<presence/>");
    trickle(p, "<message><body>" + std::string(5000, 'b') + "</body></message>");
    trickle(p, "</stream:stream>");
    EXPECT_TRUE(p.is_stopped());
}

TEST(XmlStreamParserTrickle, StopAfterStillExact) {
    const std::string head = kHeader + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls' x='" +
                             std::string(4000, 'p') + "'/>";
    const std::string input = head + "\x16\x03\x01 TLS";
    XmlStreamParser p;
    p.stop_after({{"proceed", std::string(kNsTls)}});
    ParseRun run = feed_chunks(p, [&] {
        std::vector<std::string_view> chunks;
        for (std::size_t i = 0; i < input.size(); ++i)
            chunks.push_back(std::string_view(input).substr(i, 1));
        return chunks;
    }());
    ASSERT_FALSE(run.error) << run.error->describe();
    EXPECT_TRUE(run.stopped);
    EXPECT_EQ(run.consumed, head.size());
    EXPECT_EQ(run.events.size(), 2u);
}

TEST(XmlStreamParserTrickle, RefusalsStillHappen) {
    auto refused = [](const std::string& input, StreamCondition c) {
        ParseRun run = parse_bytewise(input);
        ASSERT_TRUE(run.error) << input.substr(0, 300);
        EXPECT_EQ(run.error->condition, c) << run.error->describe();
    };
    std::string gts;
    for (int i = 0; i < 1500; ++i)
        gts += "a>";
    refused(kHeader + "<message><!-- " + gts + " -->", StreamCondition::RestrictedXml);
    refused(kHeader + "<message><?pi " + std::string(3000, '>') + "?>",
            StreamCondition::RestrictedXml);
    refused(kHeader + "<message><body>&" + std::string(3000, 'e') + ";",
            StreamCondition::RestrictedXml);
    refused(kHeader + "<message to='" + std::string(3000, 'x') + "\xff'/>",
            StreamCondition::NotWellFormed);
    refused(kHeader + "<message to='" + std::string(3000, 'x') + "' to='y'/>",
            StreamCondition::NotWellFormed);
    refused(kHeader + "<message u:to='" + std::string(3000, 'x') + "'/>",
            StreamCondition::BadNamespacePrefix);
    // A token that never ends is refused at the token limit.
    refused(kHeader + "<message to='" + std::string(70000, 'x'), StreamCondition::PolicyViolation);
}

TEST(XmlStreamParserTrickle, LongCommentIsNotRescannedPerByte) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(kHeader + "<message>"));
    const std::string comment = "<!--" + std::string(50000, 'c') + "-->";
    for (std::size_t i = 0; i + 1 < comment.size(); ++i)
        ASSERT_TRUE(p.feed(std::string_view(comment).substr(i, 1))) << i;
    EXPECT_LT(p.parse_calls(), 1100u);
    auto r = p.feed(">");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().condition, StreamCondition::RestrictedXml);
}

}  // namespace
}  // namespace fedgw
