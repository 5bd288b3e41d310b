// XmlStreamParser: events from a realistic s2s stream in any chunking, prompt delivery (the
// reparse-deferral trap), stop-after for STARTTLS/SASL, reset, and refusal after an error.
#include "common/xml/stream_parser.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "tests/unit/xml/xml_test_support.hpp"

namespace fedgw {
namespace {

const Element& stanza_at(const ParseRun& run, std::size_t i) {
    return *std::get<Stanza>(run.events.at(i)).element;
}

TEST(XmlStreamParser, ConversationWhole) {
    const std::string conv = s2s_conversation();
    ParseRun run = parse_whole(conv);
    ASSERT_FALSE(run.error) << run.error->describe();
    EXPECT_EQ(run.consumed, conv.size());
    EXPECT_TRUE(run.stopped);  // the stream close stops the parser
    ASSERT_EQ(run.events.size(), 9u);

    const auto& open = std::get<StreamOpen>(run.events[0]);
    EXPECT_EQ(open.header.name(), "stream");
    EXPECT_EQ(open.header.ns(), kNsStreams);
    EXPECT_EQ(open.header.prefix(), "stream");
    EXPECT_EQ(open.header.attr("from"), "xmpp.example.org");
    EXPECT_EQ(open.header.attr("to"), "sip.example.com");
    EXPECT_EQ(open.header.attr("id"), "b5a7c1e2-94f3-4b6e-8d0a-6f2c0e1d9a77");
    EXPECT_EQ(open.header.attr("version"), "1.0");
    EXPECT_EQ(open.header.attr("xml:lang"), "en");
    EXPECT_EQ(open.default_ns(), kNsServer);
    EXPECT_EQ(open.prefix_ns("stream"), kNsStreams);
    EXPECT_EQ(open.prefix_ns("db"), kNsDialback);
    EXPECT_EQ(open.prefix_ns("nope"), std::nullopt);

    const Element& features = stanza_at(run, 1);
    EXPECT_TRUE(features.is("features", kNsStreams));
    EXPECT_EQ(features.prefix(), "stream");
    const Element* starttls = features.find_child("starttls", kNsTls);
    ASSERT_NE(starttls, nullptr);
    EXPECT_NE(starttls->find_child("required"), nullptr);
    EXPECT_NE(features.find_child("dialback", kNsDialbackFeature), nullptr);

    EXPECT_TRUE(stanza_at(run, 2).is("starttls", kNsTls));

    const Element& db = stanza_at(run, 3);
    EXPECT_TRUE(db.is("result", kNsDialback));
    EXPECT_EQ(db.prefix(), "db");
    EXPECT_EQ(db.attr("from"), "xmpp.example.org");
    EXPECT_EQ(db.text(), "b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3");

    const Element& msg = stanza_at(run, 4);
    EXPECT_TRUE(msg.is("message", kNsServer));
    EXPECT_EQ(msg.attr("type"), "chat");
    EXPECT_EQ(msg.attr("xml:lang"), "en");
    EXPECT_EQ(msg.child_text("subject"), "Re: tonight");
    EXPECT_EQ(msg.find_child("thread")->attr("parent"), "7edac73ab41e45c4aafa7b2d7b749080");
    auto bodies = msg.children("body", kNsServer);
    ASSERT_EQ(bodies.size(), 2u);
    EXPECT_EQ(bodies[0]->text(), "Wherefore art thou, Romeo? <3 & \"quotes\" 'too' \xe2\x98\xba");
    EXPECT_EQ(bodies[1]->attr("xml:lang"), "fr");
    // CDATA and text around it arrive as one merged text node.
    EXPECT_EQ(bodies[1]->text(), "O\xc3\xb9 es-tu, Rom\xc3\xa9o ?\n<tag> & more end");
    ASSERT_EQ(bodies[1]->nodes().size(), 1u);
    EXPECT_NE(msg.find_child("active", "http://jabber.org/protocol/chatstates"), nullptr);

    const Element& pres = stanza_at(run, 5);
    EXPECT_TRUE(pres.is("presence", kNsServer));
    EXPECT_EQ(pres.child_text("status"), "At the ball\t\xe2\x98\x83");
    EXPECT_EQ(pres.find_child("c", "http://jabber.org/protocol/caps")->attr("ver"),
              "QgayPKawpkPSDYmwT/WM94uAlu0=");

    EXPECT_TRUE(stanza_at(run, 6).is("iq", kNsServer));
    const Element& disco = stanza_at(run, 7);
    EXPECT_EQ(disco.attr("type"), "result");
    const Element* q = disco.find_child("query", "http://jabber.org/protocol/disco#info");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->find_child("identity")->attr("name"), "SIP & \"more\"");

    EXPECT_TRUE(std::holds_alternative<StreamClose>(run.events[8]));
}

TEST(XmlStreamParser, ConversationByteByByteGivesSameEvents) {
    const std::string conv = s2s_conversation();
    ParseRun whole = parse_whole(conv);
    ParseRun bytes = parse_bytewise(conv);
    ASSERT_FALSE(bytes.error) << bytes.error->describe();
    EXPECT_EQ(bytes.events, whole.events);
    EXPECT_EQ(bytes.consumed, conv.size());
}

TEST(XmlStreamParser, ConversationSplitAtEveryByteGivesSameEvents) {
    const std::string conv = s2s_conversation();
    ParseRun whole = parse_whole(conv);
    for (std::size_t at = 0; at <= conv.size(); ++at) {
        ParseRun split = parse_split(conv, at);
        ASSERT_FALSE(split.error) << "split at " << at << ": " << split.error->describe();
        ASSERT_EQ(split.events, whole.events) << "split at " << at;
        ASSERT_EQ(split.consumed, conv.size()) << "split at " << at;
    }
}

TEST(XmlStreamParser, EventsArriveAsSoonAsTheirLastByte) {
    // COMPAT: expat >= 2.6 (and Debian 12's backport) defers reparsing by default, which held
    // back a stanza whose tail arrived in a later segment. Each stanza must be delivered by the
    // feed() that carries its final '>'.
    const std::string header = peer_header();
    const std::string stanza =
        "<message from='a@xmpp.example.org' to='b@sip.example.com' type='chat'><body>" +
        std::string(260, 'x') + "</body></message>";
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(header));
    ASSERT_EQ(p.take_events().size(), 1u);  // the header needs no further byte either

    ASSERT_TRUE(p.feed(std::string_view(stanza).substr(0, stanza.size() - 3)));
    EXPECT_FALSE(p.has_events());
    ASSERT_TRUE(p.feed(std::string_view(stanza).substr(stanza.size() - 3)));
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<Stanza>(events[0]).element->find_child("body")->text().size(), 260u);

    // The final '>' alone.
    ASSERT_TRUE(p.feed(std::string_view(stanza).substr(0, stanza.size() - 1)));
    EXPECT_FALSE(p.has_events());
    ASSERT_TRUE(p.feed(">"));
    EXPECT_EQ(p.take_events().size(), 1u);

    // A long single token (an empty element with ~300 bytes of attributes) whose last bytes
    // come alone: the case deferral holds back, because the new bytes are few next to the
    // unfinished token.
    const std::string presence = "<presence from='juliet@xmpp.example.org/" +
                                 std::string(200, 'r') +
                                 "' to='romeo@sip.example.com' id='p-1' type='unavailable'/>";
    ASSERT_TRUE(p.feed(std::string_view(presence).substr(0, presence.size() - 3)));
    EXPECT_FALSE(p.has_events());
    ASSERT_TRUE(p.feed(std::string_view(presence).substr(presence.size() - 3)));
    ASSERT_EQ(p.take_events().size(), 1u);
    for (std::size_t tail = 1; tail <= 8; ++tail) {
        ASSERT_TRUE(p.feed(std::string_view(presence).substr(0, presence.size() - tail)));
        ASSERT_FALSE(p.has_events());
        ASSERT_TRUE(p.feed(std::string_view(presence).substr(presence.size() - tail)));
        ASSERT_EQ(p.take_events().size(), 1u) << "tail of " << tail << " bytes";
    }

    // Many small stanzas in one read, then one split across reads.
    std::string burst;
    for (int i = 0; i < 50; ++i)
        burst += "<presence from='a@xmpp.example.org'/>";
    ASSERT_TRUE(p.feed(burst + "<iq type='get' id='x'><ping xmlns='urn:xmpp:ping'/"));
    EXPECT_EQ(p.take_events().size(), 50u);
    ASSERT_TRUE(p.feed("></iq>"));
    EXPECT_EQ(p.take_events().size(), 1u);
}

// STARTTLS, receiving side: <starttls/> followed in the same read by bytes that must go to TLS
// (here a fake ClientHello that would be an XML error if parsed).
const std::string kFakeTls =
    std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "</oops><!-- not xml -->";

TEST(XmlStreamParser, StopAfterStarttlsLeavesTlsBytesUnconsumed) {
    const std::string head =
        peer_header() + "<stream:features/><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    const std::string input = head + kFakeTls;
    XmlStreamParser p;
    p.stop_after({{"starttls", std::string(kNsTls)}, {"proceed", std::string(kNsTls)}});
    auto r = p.feed(input);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_TRUE(r->stopped);
    EXPECT_EQ(r->consumed, head.size());
    EXPECT_TRUE(p.is_stopped());
    EXPECT_FALSE(p.is_failed());
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_TRUE(std::get<Stanza>(events[2]).element->is("starttls", kNsTls));

    // Anything fed before reset() is refused, not parsed.
    auto again = p.feed(kFakeTls);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->consumed, 0u);
    EXPECT_TRUE(again->stopped);
    EXPECT_FALSE(p.has_events());
}

TEST(XmlStreamParser, StopAfterWorksAtEverySplit) {
    // Initiating side: <proceed/> with the (fake) TLS bytes behind it.
    const std::string head = peer_header() +
                             "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                             "<required/></starttls></stream:features>\n"
                             "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'></proceed>";
    const std::string input = head + kFakeTls;
    for (std::size_t at = 0; at <= input.size(); ++at) {
        XmlStreamParser p;
        p.stop_after({{"proceed", std::string(kNsTls)}});
        ParseRun run = feed_chunks(
            p, {std::string_view(input).substr(0, at), std::string_view(input).substr(at)});
        ASSERT_FALSE(run.error) << "split at " << at << ": " << run.error->describe();
        ASSERT_TRUE(run.stopped) << "split at " << at;
        ASSERT_EQ(run.consumed, head.size()) << "split at " << at;
        ASSERT_EQ(run.events.size(), 3u) << "split at " << at;
        ASSERT_TRUE(std::get<Stanza>(run.events[2]).element->is("proceed", kNsTls));
    }
}

TEST(XmlStreamParser, StopAfterOnlyMatchesFirstLevelElements) {
    // A nested <proceed/> (inside a message) must not stop the stream.
    const std::string input = peer_header() +
                              "<message><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                              "</message><presence/>";
    XmlStreamParser p;
    p.stop_after({{"proceed", std::string(kNsTls)}});
    auto r = p.feed(input);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->stopped);
    EXPECT_EQ(r->consumed, input.size());
    EXPECT_EQ(p.take_events().size(), 3u);
}

TEST(XmlStreamParser, SaslSuccessThenResetParsesNewStream) {
    const std::string head = peer_header() + "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    // An eager peer sends the restarted stream header right behind <success/>.
    const std::string next = peer_header("xmpp.example.org", "sip.example.com");
    XmlStreamParser p;
    p.stop_after({{"success", std::string(kNsSasl)}});
    auto r = p.feed(head + next);
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->stopped);
    ASSERT_EQ(r->consumed, head.size());
    EXPECT_EQ(p.take_events().size(), 2u);

    p.reset();
    EXPECT_FALSE(p.is_stopped());
    EXPECT_FALSE(p.is_stream_open());
    auto r2 = p.feed(std::string_view(head + next).substr(r->consumed));
    ASSERT_TRUE(r2) << r2.error().describe();
    EXPECT_EQ(r2->consumed, next.size());
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<StreamOpen>(events[0]).header.attr("to"), "sip.example.com");
    EXPECT_TRUE(p.is_stream_open());

    // The new stream carries stanzas as usual, with its own byte count.
    ASSERT_TRUE(p.feed("<presence/>"));
    EXPECT_EQ(p.take_events().size(), 1u);
    EXPECT_EQ(p.stream_bytes(), next.size() + 11);
}

TEST(XmlStreamParser, ResetClearsPendingStopRequestAndPartialStanza) {
    XmlStreamParser p;
    p.stop_after({{"presence", std::string(kNsServer)}});
    ASSERT_TRUE(p.feed(peer_header() + "<message><body>half"));
    EXPECT_EQ(p.take_events().size(), 1u);
    p.reset();
    auto r = p.feed(peer_header() + "<presence/><presence/>");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->stopped);  // the request did not survive the reset
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<StreamOpen>(events[0]));
    EXPECT_TRUE(std::get<Stanza>(events[1]).element->is("presence", kNsServer));
}

TEST(XmlStreamParser, ResetKeepsUndrainedEvents) {
    // Nothing is dropped silently: events not yet drained survive a reset.
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(peer_header() + "<presence/>"));
    p.reset();
    ASSERT_TRUE(p.feed(peer_header()));
    EXPECT_EQ(p.take_events().size(), 3u);
}

TEST(XmlStreamParser, StreamCloseStopsAndIgnoresTrailingBytes) {
    const std::string input = peer_header() + "<presence/></stream:stream>";
    XmlStreamParser p;
    auto r = p.feed(input + "  garbage <after> close");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->stopped);
    EXPECT_EQ(r->consumed, input.size());
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 3u);
    EXPECT_TRUE(std::holds_alternative<StreamClose>(events[2]));
    EXPECT_FALSE(p.is_stream_open());
}

TEST(XmlStreamParser, DeadAfterErrorUntilReset) {
    XmlStreamParser p;
    auto r = p.feed(peer_header() + "<presence/><message></presence>");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().condition, StreamCondition::NotWellFormed);
    EXPECT_TRUE(p.is_failed());
    // Events before the error are kept, in order.
    auto events = p.take_events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_TRUE(std::get<Stanza>(events[1]).element->is("presence", kNsServer));

    auto again = p.feed("<presence/>");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().condition, StreamCondition::NotWellFormed);
    EXPECT_EQ(again.error().text, r.error().text);
    EXPECT_FALSE(p.has_events());

    p.reset();
    EXPECT_FALSE(p.is_failed());
    EXPECT_FALSE(p.error().has_value());
    auto ok = p.feed(peer_header() + "<presence/>");
    ASSERT_TRUE(ok) << ok.error().describe();
    EXPECT_EQ(p.take_events().size(), 2u);
}

TEST(XmlStreamParser, NextEventDrainsInOrder) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(peer_header() + "<presence/><iq/>"));
    auto a = p.next_event();
    auto b = p.next_event();
    auto c = p.next_event();
    ASSERT_TRUE(a && b && c);
    EXPECT_TRUE(std::holds_alternative<StreamOpen>(*a));
    EXPECT_TRUE(std::get<Stanza>(*b).element->is("presence", kNsServer));
    EXPECT_TRUE(std::get<Stanza>(*c).element->is("iq", kNsServer));
    EXPECT_FALSE(p.next_event());
}

TEST(XmlStreamParser, EmptyFeedIsHarmless) {
    XmlStreamParser p;
    auto r = p.feed("");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->consumed, 0u);
    EXPECT_FALSE(r->stopped);
}

TEST(XmlStreamParser, WhitespaceKeepalivesBetweenStanzasAreIgnored) {
    XmlStreamParser p;
    ASSERT_TRUE(p.feed(peer_header()));
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(p.feed(" "));
    ASSERT_TRUE(p.feed("\n<presence/>\r\n\t"));
    EXPECT_EQ(p.take_events().size(), 2u);
}

TEST(XmlStreamParser, NamespacesAndPrefixesOnStanzas) {
    const std::string input = peer_header() +
                              "<message xmlns='jabber:client'><x:data xmlns:x='urn:x' x:a='1' "
                              "b='2'><inner/></x:data><plain xmlns=''/></message>";
    ParseRun run = parse_whole(input);
    ASSERT_FALSE(run.error) << run.error->describe();
    const Element& m = stanza_at(run, 1);
    EXPECT_EQ(m.ns(), kNsClient);
    const Element* data = m.find_child("data", "urn:x");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->prefix(), "x");
    ASSERT_EQ(data->attributes().size(), 2u);
    EXPECT_EQ(data->attributes()[0], (Attribute{"x:a", "1", "urn:x"}));
    EXPECT_EQ(data->attributes()[1], (Attribute{"b", "2", ""}));
    // Unprefixed children of a prefixed element are in the default namespace in force.
    EXPECT_NE(data->find_child("inner", kNsClient), nullptr);
    const Element* plain = m.find_child("plain", "");
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->ns(), "");
}

}  // namespace
}  // namespace fedgw
