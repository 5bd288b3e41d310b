// Serializer: exact output, escaping, namespace declarations only where needed, the stream
// header and close, and parse -> serialize -> parse round trips.
#include "common/xml/serializer.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "common/xml/stream_parser.hpp"
#include "tests/unit/xml/xml_test_support.hpp"

namespace fedgw {
namespace {

TEST(Serializer, MessageInStreamContext) {
    auto msg = Element::make("message", std::string(kNsServer));
    msg->set_attr("from", "a@xmpp.example.org").set_attr("to", "b@sip.example.com");
    msg->add_child("body").add_text("hi");
    msg->add_child("active", "http://jabber.org/protocol/chatstates");
    EXPECT_EQ(serialize(*msg, kNsServer),
              "<message from='a@xmpp.example.org' to='b@sip.example.com'><body>hi</body>"
              "<active xmlns='http://jabber.org/protocol/chatstates'/></message>");
    // Outside a stream (no default namespace) the root declares its own.
    EXPECT_EQ(serialize(*msg).substr(0, 32), "<message xmlns='jabber:server' f");
    // On a c2s-namespaced stream the server namespace must be declared.
    EXPECT_EQ(serialize(*msg, kNsClient).substr(0, 32), "<message xmlns='jabber:server' f");
}

TEST(Serializer, EscapesTextAndAttributes) {
    Element e("x", "urn:x");
    e.set_attr("a", "it's \"q\" <&> \t\n\r");
    e.add_text("a<b>&c ]]> 'q' \"q\" \r");
    EXPECT_EQ(serialize(e, "urn:x"),
              "<x a='it&apos;s &quot;q&quot; &lt;&amp;&gt; &#9;&#10;&#13;'>"
              "a&lt;b&gt;&amp;c ]]&gt; 'q' \"q\" &#13;</x>");
}

TEST(Serializer, DialbackPrefix) {
    Element db("result", std::string(kNsDialback), "db");
    db.set_attr("from", "sip.example.com").set_attr("to", "xmpp.example.org");
    db.add_text("key");
    // Standalone: the prefix is declared.
    EXPECT_EQ(serialize(db, kNsServer),
              "<db:result xmlns:db='jabber:server:dialback' from='sip.example.com' "
              "to='xmpp.example.org'>key</db:result>");
    // Inside a fedgw stream header, db is already bound.
    EXPECT_EQ(serialize(db, stream_scope(kNsServer)),
              "<db:result from='sip.example.com' to='xmpp.example.org'>key</db:result>");
    // A scope that binds db to something else forces a redeclaration.
    const PrefixBinding other[] = {{"db", "urn:other"}};
    EXPECT_EQ(serialize(db, NsScope{kNsServer, other}).substr(0, 45),
              "<db:result xmlns:db='jabber:server:dialback' ");
}

TEST(Serializer, StreamPrefixedFeatures) {
    Element f("features", std::string(kNsStreams), "stream");
    f.add_child("starttls", std::string(kNsTls)).add_child("required");
    EXPECT_EQ(serialize(f, stream_scope(kNsServer)),
              "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
              "</starttls></stream:features>");
}

TEST(Serializer, NamespaceDeclarationsFollowScope) {
    Element root("root", "urn:a");
    Element& p = root.add_child(Element::make("p", "urn:b", "b"));
    p.add_child("inner", "urn:a");                  // unprefixed: default namespace is still urn:a
    p.add_child(Element::make("q", "urn:b", "b"));  // b already bound by the parent
    p.add_child(Element::make("r", "urn:c", "b"));  // b rebound here
    root.add_child("none", "");                     // no namespace: undeclare the default
    p.set_attr("b:k", "v", "urn:b");
    p.set_attr("c:k", "v", "urn:c");
    p.set_attr("xml:lang", "en");
    EXPECT_EQ(serialize(root, "urn:a"),
              "<root><b:p xmlns:b='urn:b' xmlns:c='urn:c' b:k='v' c:k='v' xml:lang='en'>"
              "<inner/><b:q/><b:r xmlns:b='urn:c'/></b:p><none xmlns=''/></root>");
}

TEST(Serializer, PrefixWithoutNamespaceIsWrittenUnprefixed) {
    Element e("x", "", "p");
    EXPECT_EQ(serialize(e), "<x/>");
}

TEST(Serializer, StreamHeaderAndClose) {
    StreamHeader h;
    h.from = "sip.example.com";
    h.to = "xmpp.example.org";
    h.id = "abc'<&>\"";
    EXPECT_EQ(stream_header(h),
              "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
              "xmlns:stream='http://etherx.jabber.org/streams' "
              "xmlns:db='jabber:server:dialback' from='sip.example.com' to='xmpp.example.org' "
              "id='abc&apos;&lt;&amp;&gt;&quot;' version='1.0' xml:lang='en'>");
    EXPECT_EQ(stream_close(), "</stream:stream>");

    StreamHeader bare;
    bare.to = "xmpp.example.org";
    EXPECT_EQ(stream_header(bare),
              "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
              "xmlns:stream='http://etherx.jabber.org/streams' "
              "xmlns:db='jabber:server:dialback' to='xmpp.example.org' version='1.0' "
              "xml:lang='en'>");
}

TEST(Serializer, OurStreamHeaderParses) {
    StreamHeader h;
    h.from = "sip.example.com";
    h.to = "xmpp.example.org";
    h.id = "id-1";
    ParseRun run = parse_whole(stream_header(h) + std::string(stream_close()));
    ASSERT_FALSE(run.error) << run.error->describe();
    ASSERT_EQ(run.events.size(), 2u);
    const auto& open = std::get<StreamOpen>(run.events[0]);
    EXPECT_EQ(open.default_ns(), kNsServer);
    EXPECT_EQ(open.header.attr("from"), "sip.example.com");
    EXPECT_EQ(open.header.attr("xml:lang"), "en");
    EXPECT_TRUE(std::holds_alternative<StreamClose>(run.events[1]));
}

// Parses one stanza (inside our stream header), serializes it and parses it again.
void expect_round_trip(const std::string& stanza_xml) {
    StreamHeader h;
    ParseRun first = parse_whole(stream_header(h) + stanza_xml);
    ASSERT_FALSE(first.error) << first.error->describe() << " in " << stanza_xml;
    ASSERT_EQ(first.events.size(), 2u) << stanza_xml;
    const Element& parsed = *std::get<Stanza>(first.events[1]).element;

    for (const NsScope& scope : {stream_scope(kNsServer), NsScope{kNsServer, {}}}) {
        const std::string out = serialize(parsed, scope);
        ParseRun second = parse_whole(stream_header(h) + out);
        ASSERT_FALSE(second.error) << second.error->describe() << " in " << out;
        ASSERT_EQ(second.events.size(), 2u) << out;
        EXPECT_EQ(*std::get<Stanza>(second.events[1]).element, parsed) << out;
        // And the second serialization is byte-identical to the first.
        EXPECT_EQ(serialize(*std::get<Stanza>(second.events[1]).element, scope), out);
    }
}

TEST(Serializer, RoundTripQuotesAmpersandsAndWhitespace) {
    expect_round_trip(
        "<message to=\"it's &quot;both&quot; &amp; &lt;tag&gt; &#9;tab&#10;nl&#13;cr\" "
        "id='x&apos;\"y'><body>a &amp; b &lt; c &gt; d ' \" \t\n tail&#13;</body></message>");
}

TEST(Serializer, RoundTripUtf8) {
    expect_round_trip(
        "<message to='r\xc3\xb6m\xc3\xa9o@s\xc3\xadp.example.com' xml:lang='fr'>"
        "<body>\xe2\x98\x83 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 &#x1F600;</body>"
        "<subject xml:lang='ja'>\xe6\x97\xa5\xe6\x9c\xac</subject></message>");
}

TEST(Serializer, RoundTripNamespacesAndPrefixes) {
    expect_round_trip(
        "<db:verify xmlns:db='jabber:server:dialback' from='a' to='b' id='i'>k</db:verify>");
    expect_round_trip(
        "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
        "<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>");
    expect_round_trip(
        "<message xmlns='jabber:client'><x:data xmlns:x='urn:x' xmlns:y='urn:y' x:a='1' y:b='2' "
        "c='3'><inner/><x:deep><y:deeper xmlns:y='urn:other'/></x:deep></x:data>"
        "<plain xmlns=''><child/></plain></message>");
    expect_round_trip("<iq type='get'><query xmlns='jabber:iq:version'/></iq>");
}

TEST(Serializer, RoundTripMixedContent) {
    expect_round_trip(
        "<message><html xmlns='http://jabber.org/protocol/xhtml-im'><body "
        "xmlns='http://www.w3.org/1999/xhtml'><p>Hello <em>big</em> <strong>world</strong>!</p>"
        "<![CDATA[<raw> & ]]></body></html></message>");
}

TEST(Serializer, RoundTripConversation) {
    ParseRun run = parse_whole(s2s_conversation());
    ASSERT_FALSE(run.error);
    for (const auto& ev : run.events) {
        const auto* st = std::get_if<Stanza>(&ev);
        if (st == nullptr) continue;
        const std::string out = serialize(*st->element, stream_scope(kNsServer));
        ParseRun again = parse_whole(peer_header() + out);
        ASSERT_FALSE(again.error) << again.error->describe();
        ASSERT_EQ(again.events.size(), 2u);
        EXPECT_EQ(*std::get<Stanza>(again.events[1]).element, *st->element) << out;
    }
}

}  // namespace
}  // namespace fedgw
