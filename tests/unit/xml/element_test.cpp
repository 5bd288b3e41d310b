// fedgw::Element: building, attributes, children, text, deep copy and equality.
#include "common/xml/element.hpp"

#include <gtest/gtest.h>

#include "common/xml/namespaces.hpp"

namespace fedgw {
namespace {

std::unique_ptr<Element> sample_message() {
    auto msg = Element::make("message", std::string(kNsServer));
    msg->set_attr("from", "juliet@xmpp.example.org/balcony")
        .set_attr("to", "romeo@sip.example.com")
        .set_attr("type", "chat")
        .set_attr("xml:lang", "en");
    msg->add_child("subject").add_text("Re: tonight");
    msg->add_child("body").add_text("Hello");
    msg->add_child("body").set_attr("xml:lang", "fr").add_text("Bonjour");
    msg->add_child("active", "http://jabber.org/protocol/chatstates");
    return msg;
}

TEST(Element, NameNamespacePrefix) {
    Element e("result", std::string(kNsDialback), "db");
    EXPECT_EQ(e.name(), "result");
    EXPECT_EQ(e.ns(), kNsDialback);
    EXPECT_EQ(e.prefix(), "db");
    EXPECT_EQ(e.qualified_name(), "db:result");
    EXPECT_TRUE(e.is("result", kNsDialback));
    EXPECT_FALSE(e.is("result", kNsServer));
    e.set_prefix("");
    EXPECT_EQ(e.qualified_name(), "result");
    e.set_name("verify").set_ns("urn:x");
    EXPECT_TRUE(e.is("verify", "urn:x"));
}

TEST(Element, AttributesKeepOrderAndReplaceInPlace) {
    auto msg = sample_message();
    EXPECT_EQ(msg->attr("to"), "romeo@sip.example.com");
    EXPECT_EQ(msg->attr("missing"), std::nullopt);
    EXPECT_EQ(msg->attr_or("missing", "dflt"), "dflt");
    EXPECT_TRUE(msg->has_attr("type"));

    msg->set_attr("to", "tybalt@sip.example.com");
    ASSERT_EQ(msg->attributes().size(), 4u);
    EXPECT_EQ(msg->attributes()[1].name, "to");
    EXPECT_EQ(msg->attributes()[1].value, "tybalt@sip.example.com");
    // xml:lang is stored under its qualified name, in the XML namespace.
    EXPECT_EQ(msg->attributes()[3], (Attribute{"xml:lang", "en", std::string(kNsXml)}));

    EXPECT_TRUE(msg->remove_attr("type"));
    EXPECT_FALSE(msg->remove_attr("type"));
    EXPECT_EQ(msg->attributes().size(), 3u);

    msg->set_attr("x:y", "1", "urn:x");
    EXPECT_EQ(msg->attributes().back(), (Attribute{"x:y", "1", "urn:x"}));
}

TEST(Element, ChildrenAndFind) {
    auto msg = sample_message();
    EXPECT_EQ(msg->child_elements().size(), 4u);
    EXPECT_EQ(msg->find_child("subject")->text(), "Re: tonight");
    EXPECT_EQ(msg->find_child("body", kNsServer)->text(), "Hello");
    EXPECT_EQ(msg->find_child("body", "urn:other"), nullptr);
    EXPECT_EQ(msg->find_child("active"), nullptr);  // other namespace
    EXPECT_NE(msg->find_child("active", "http://jabber.org/protocol/chatstates"), nullptr);
    auto bodies = msg->children("body", kNsServer);
    ASSERT_EQ(bodies.size(), 2u);
    EXPECT_EQ(bodies[1]->attr("xml:lang"), "fr");
    EXPECT_EQ(msg->child_text("body"), "Hello");
    EXPECT_EQ(msg->child_text("thread"), std::nullopt);
    // Children created by name inherit the parent's namespace.
    EXPECT_EQ(msg->find_child("subject")->ns(), kNsServer);

    const Element& cmsg = *msg;
    EXPECT_EQ(cmsg.children("body", kNsServer).size(), 2u);
    EXPECT_EQ(cmsg.child_elements().size(), 4u);
}

TEST(Element, AddChildReturnsTheChild) {
    Element iq("iq", std::string(kNsServer));
    Element& q = iq.add_child("query", "http://jabber.org/protocol/disco#info");
    q.add_child("identity").set_attr("category", "gateway").set_attr("type", "sip");
    Element& adopted = iq.add_child(Element::make("error", std::string(kNsServer)));
    adopted.set_attr("type", "cancel");
    ASSERT_EQ(iq.child_elements().size(), 2u);
    EXPECT_EQ(iq.find_child("query", "http://jabber.org/protocol/disco#info")
                  ->find_child("identity")
                  ->attr("type"),
              "sip");
    EXPECT_EQ(iq.find_child("error")->attr("type"), "cancel");
}

TEST(Element, TextIsMergedAndOnlyDirect) {
    Element body("body");
    body.add_text("Hello, ").add_text("world");
    ASSERT_EQ(body.nodes().size(), 1u);
    body.add_child("b").add_text("bold");
    body.add_text("!");
    body.add_text("");
    EXPECT_EQ(body.nodes().size(), 3u);
    EXPECT_EQ(body.text(), "Hello, world!");
    body.set_text("replaced");
    EXPECT_EQ(body.nodes().size(), 1u);
    EXPECT_EQ(body.text(), "replaced");
    body.set_text("");
    EXPECT_TRUE(body.nodes().empty());
    body.add_child("x");
    body.clear_children();
    EXPECT_TRUE(body.nodes().empty());
}

TEST(Element, CloneIsDeepAndEqual) {
    auto msg = sample_message();
    auto copy = msg->clone();
    EXPECT_EQ(*copy, *msg);
    copy->find_child("body")->set_text("changed");
    EXPECT_EQ(msg->find_child("body")->text(), "Hello");
    EXPECT_NE(*copy, *msg);
}

TEST(Element, EqualityLooksAtEverything) {
    auto a = sample_message();
    auto b = sample_message();
    EXPECT_EQ(*a, *b);
    b->set_prefix("x");
    EXPECT_NE(*a, *b);
    b = sample_message();
    b->set_attr("id", "1");
    EXPECT_NE(*a, *b);
    b = sample_message();
    b->set_attr("xml:lang", "de");
    EXPECT_NE(*a, *b);
    b = sample_message();
    b->add_text(" ");
    EXPECT_NE(*a, *b);
    b = sample_message();
    b->set_ns(std::string(kNsClient));
    EXPECT_NE(*a, *b);
    // Attribute order matters (it is kept).
    Element x("x"), y("y");
    x.set_attr("a", "1").set_attr("b", "2");
    Element x2("x");
    x2.set_attr("b", "2").set_attr("a", "1");
    EXPECT_NE(x, x2);
}

TEST(Element, NodesCanBeMoved) {
    auto msg = sample_message();
    Element moved = std::move(*msg);
    EXPECT_EQ(moved.child_elements().size(), 4u);
    std::vector<Node> nodes;
    nodes.emplace_back(std::string("t"));
    nodes.emplace_back(Element::make("e"));
    EXPECT_TRUE(nodes[0].is_text());
    EXPECT_TRUE(nodes[1].is_element());
    EXPECT_EQ(nodes[1].element().name(), "e");
}

}  // namespace
}  // namespace fedgw
