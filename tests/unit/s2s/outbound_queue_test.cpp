// OutboundQueue (bounded per domain pair, drained on ready, handed back on failure) and
// make_bounce (RFC 6120 §8.3.1 rules, §8.3.2 syntax, §8.2.3 for IQ).
#include "proxy/s2s/outbound_queue.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "proxy/s2s/outbound_bounce.hpp"

namespace fedgw::proxy {
namespace {

std::unique_ptr<Element> message(std::string id, std::string body = "hi") {
    auto m = Element::make("message", std::string(kNsServer));
    m->set_attr("from", "alice@sip.example.com/phone")
        .set_attr("to", "bob@xmpp.example.org")
        .set_attr("type", "chat")
        .set_attr("id", id);
    m->add_child("body").add_text(body);
    return m;
}

// --- OutboundQueue -------------------------------------------------------------------------------

TEST(OutboundQueue, DrainsInOrder) {
    OutboundQueue q;
    for (auto id : {"1", "2", "3"}) {
        auto m = message(id);
        ASSERT_TRUE(q.push(m));
        EXPECT_FALSE(m) << "taken";
    }
    EXPECT_EQ(q.size(), 3u);
    EXPECT_GT(q.bytes(), 0u);
    auto out = q.drain();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0]->attr("id"), "1");
    EXPECT_EQ(out[2]->attr("id"), "3");
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_EQ(q.failed(), 0u);
}

TEST(OutboundQueue, RefusesBeyondMaxStanzasAndLeavesTheStanzaWithTheCaller) {
    OutboundQueue q(OutboundQueueLimits{2, 1 << 20});
    auto a = message("a"), b = message("b"), c = message("c");
    EXPECT_TRUE(q.push(a));
    EXPECT_TRUE(q.push(b));
    EXPECT_FALSE(q.push(c));
    ASSERT_TRUE(c) << "refused: still the caller's, to bounce";
    EXPECT_EQ(c->attr("id"), "c");
    EXPECT_EQ(q.refused(), 1u);
    EXPECT_EQ(q.size(), 2u);
}

TEST(OutboundQueue, RefusesBeyondMaxBytes) {
    auto probe = message("x");
    const std::size_t one = serialize(*probe, stream_scope(kNsServer)).size();
    OutboundQueue q(OutboundQueueLimits{100, one * 2});
    auto a = message("x"), b = message("x"), c = message("x");
    EXPECT_TRUE(q.push(a));
    EXPECT_TRUE(q.push(b));
    EXPECT_EQ(q.bytes(), one * 2);
    EXPECT_FALSE(q.push(c));
    auto huge = message("h", std::string(one * 3, 'z'));
    OutboundQueue empty(OutboundQueueLimits{100, one * 2});
    EXPECT_FALSE(empty.push(huge)) << "larger than the whole queue";
    std::unique_ptr<Element> none;
    EXPECT_FALSE(empty.push(none));
    // The caller may give the size it already knows.
    auto d = message("d");
    EXPECT_TRUE(empty.push(d, 10));
    EXPECT_EQ(empty.bytes(), 10u);
}

TEST(OutboundQueue, FailHandsBackEverythingForBouncing) {
    OutboundQueue q;
    auto a = message("a"), b = message("b");
    ASSERT_TRUE(q.push(a));
    ASSERT_TRUE(q.push(b));
    auto back = q.fail();
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(q.failed(), 2u);
    EXPECT_TRUE(q.empty());
    // Each one becomes an error reply to its sender.
    for (const auto& s : back) {
        auto bounce = make_bounce(*s, StanzaError::of(StanzaCondition::RemoteServerNotFound));
        ASSERT_TRUE(bounce);
        EXPECT_EQ((*bounce)->attr("to"), "alice@sip.example.com/phone");
    }
}

// --- make_bounce (RFC 6120 §8.3) -----------------------------------------------------------------

// §8.3.1: same kind, from/to swapped, type='error', same id, original children kept, <error/>
// added (§8.3.2), with 'by'.
TEST(MakeBounce, MessageSwapsAddressesKeepsIdAndChildren) {
    auto m = message("m1", "hello");
    m->set_attr("xml:lang", "en");
    auto r = make_bounce(*m, StanzaError::of(StanzaCondition::RemoteServerNotFound, "no route"),
                         "sip.example.com");
    ASSERT_TRUE(r);
    const Element& e = **r;
    EXPECT_EQ(serialize(e, stream_scope(kNsServer)),
              "<message from='bob@xmpp.example.org' to='alice@sip.example.com/phone' "
              "type='error' id='m1' xml:lang='en'><body>hello</body>"
              "<error type='cancel' by='sip.example.com'>"
              "<remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
              "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no route</text>"
              "</error></message>");
    // The wire form agrees with the one in common/base.
    const Element* err = e.find_child("error");
    ASSERT_TRUE(err);
    StanzaError se = StanzaError::of(StanzaCondition::RemoteServerNotFound, "no route");
    se.by = "sip.example.com";
    EXPECT_EQ(serialize(*err, stream_scope(kNsServer)), to_wire(se));
}

TEST(MakeBounce, TimeoutIsTypeWait) {
    auto r = make_bounce(*message("t"), StanzaError::of(StanzaCondition::RemoteServerTimeout));
    ASSERT_TRUE(r);
    const Element* err = (*r)->find_child("error");
    ASSERT_TRUE(err);
    EXPECT_EQ(err->attr("type"), "wait");  // §8.3.3.17
    EXPECT_FALSE(err->has_attr("by"));
    EXPECT_TRUE(err->find_child("remote-server-timeout", kNsStanzaErrors));
    EXPECT_FALSE(err->find_child("text", kNsStanzaErrors));
}

// §8.3.1: "An entity that receives an error stanza MUST NOT respond to the stanza with a
// further error stanza; this helps to prevent looping."
TEST(MakeBounce, NeverBouncesAnError) {
    for (auto kind : {"message", "presence", "iq"}) {
        Element e(kind, std::string(kNsServer));
        e.set_attr("from", "a@sip.example.com").set_attr("to", "b@xmpp.example.org");
        e.set_attr("type", "error").set_attr("id", "x");
        auto r = make_bounce(e, StanzaError::of(StanzaCondition::RemoteServerNotFound));
        ASSERT_FALSE(r) << kind;
        EXPECT_EQ(r.error(), NoBounce::ErrorStanza);
    }
}

// §8.2.3: only get and set are requests; a result is never answered. §8.3.1: an iq error
// carries the request's id.
TEST(MakeBounce, IqRules) {
    Element get("iq", std::string(kNsServer));
    get.set_attr("from", "a@sip.example.com/r")
        .set_attr("to", "xmpp.example.org")
        .set_attr("type", "get")
        .set_attr("id", "ping1");
    get.add_child("ping", "urn:xmpp:ping");
    auto r = make_bounce(get, StanzaError::of(StanzaCondition::RemoteServerNotFound));
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)->attr("id"), "ping1");
    EXPECT_EQ((*r)->attr("type"), "error");
    EXPECT_EQ((*r)->attr("from"), "xmpp.example.org");
    EXPECT_EQ((*r)->attr("to"), "a@sip.example.com/r");
    EXPECT_TRUE((*r)->find_child("ping", "urn:xmpp:ping")) << "the request payload is kept";

    Element no_id("iq", std::string(kNsServer));
    no_id.set_attr("from", "a@sip.example.com").set_attr("to", "b@xmpp.example.org");
    no_id.set_attr("type", "set");
    auto r2 = make_bounce(no_id, StanzaError::of(StanzaCondition::RemoteServerTimeout));
    ASSERT_TRUE(r2);
    EXPECT_EQ((*r2)->attr("id"), "") << "§8.3.1: 'or empty' for an iq without id";

    for (auto type : {"result", "", "bogus"}) {
        Element res("iq", std::string(kNsServer));
        res.set_attr("from", "a@sip.example.com").set_attr("to", "b@xmpp.example.org");
        if (*type) res.set_attr("type", type);
        auto r3 = make_bounce(res, StanzaError::of(StanzaCondition::RemoteServerNotFound));
        ASSERT_FALSE(r3) << type;
        EXPECT_EQ(r3.error(), NoBounce::IqResponse);
    }
}

// Presence follows the same §8.3.1 rules: id only when the original had one.
TEST(MakeBounce, PresenceKeepsItsKindAndOmitsAnAbsentId) {
    Element p("presence", std::string(kNsServer));
    p.set_attr("from", "alice@sip.example.com").set_attr("to", "bob@xmpp.example.org");
    p.set_attr("type", "subscribe");
    auto r = make_bounce(p, StanzaError::of(StanzaCondition::RemoteServerNotFound));
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)->name(), "presence");
    EXPECT_EQ((*r)->attr("type"), "error");
    EXPECT_FALSE((*r)->has_attr("id"));
    EXPECT_EQ((*r)->attr("to"), "alice@sip.example.com");
}

TEST(MakeBounce, RefusesWhatCannotBeReturned) {
    Element no_from("message", std::string(kNsServer));
    no_from.set_attr("to", "bob@xmpp.example.org");
    EXPECT_EQ(make_bounce(no_from, StanzaError::of(StanzaCondition::RemoteServerNotFound)).error(),
              NoBounce::NoSender);
    Element db("result", std::string(kNsDialback), "db");
    db.set_attr("from", "a").set_attr("to", "b");
    EXPECT_EQ(make_bounce(db, StanzaError::of(StanzaCondition::RemoteServerNotFound)).error(),
              NoBounce::NotAStanza);
    for (auto r :
         {NoBounce::NotAStanza, NoBounce::ErrorStanza, NoBounce::IqResponse, NoBounce::NoSender})
        EXPECT_NE(describe(r), "unknown");
}

TEST(MakeBounce, WithoutToTheReplyHasNoFrom) {
    Element m("message", std::string(kNsServer));
    m.set_attr("from", "alice@sip.example.com");
    auto r = make_bounce(m, StanzaError::of(StanzaCondition::RemoteServerNotFound));
    ASSERT_TRUE(r);
    EXPECT_FALSE((*r)->has_attr("from"));
    EXPECT_EQ((*r)->attr("to"), "alice@sip.example.com");
}

}  // namespace
}  // namespace fedgw::proxy
