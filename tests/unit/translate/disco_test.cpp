// IQ answers on the gateway domain (XEP-0030 §3, §4; XEP-0092; XEP-0199 §4; RFC 6120 §8.2.3,
// §8.3) and error replies.
#include "gateway/translate/disco.hpp"

#include <gtest/gtest.h>

#include "tests/unit/translate/translate_test_support.hpp"

namespace fedgw::gateway {
namespace {

using test::stanza;
using test::xml;

GatewayInfo info() {
    GatewayInfo g;
    g.version = "0.1.0";
    return g;
}

std::string answer(std::string_view iq) {
    auto r = answer_iq(*stanza(iq), info());
    return r ? xml(*r) : std::string("(none)");
}

// XEP-0030 §3.1: identity category/type, features.
TEST(Disco, InfoForTheDomain) {
    EXPECT_EQ(answer("<iq from='juliet@xmpp.test/x' to='sip.test' type='get' id='d1'>"
                     "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
              "<iq from='sip.test' to='juliet@xmpp.test/x' id='d1' type='result'>"
              "<query xmlns='http://jabber.org/protocol/disco#info'>"
              "<identity category='gateway' type='sip' name='SIP gateway'/>"
              "<feature var='http://jabber.org/protocol/disco#info'/>"
              "<feature var='http://jabber.org/protocol/disco#items'/>"
              "<feature var='jabber:iq:version'/><feature var='urn:xmpp:ping'/></query></iq>");
}

TEST(Disco, InfoWithUnknownNode) {
    const std::string r = answer(
        "<iq from='a@x.test' to='sip.test' type='get' id='d2'><query "
        "xmlns='http://jabber.org/protocol/disco#info' node='n'/></iq>");
    EXPECT_NE(r.find("type='error'"), std::string::npos) << r;
    EXPECT_NE(r.find("<item-not-found"), std::string::npos) << r;
}

TEST(Disco, ItemsEmpty) {
    EXPECT_EQ(answer("<iq from='a@x.test' to='sip.test' type='get' id='d3'>"
                     "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>"),
              "<iq from='sip.test' to='a@x.test' id='d3' type='result'>"
              "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
}

// XEP-0092 §2: name and version.
TEST(Version, Answered) {
    EXPECT_EQ(answer("<iq from='a@x.test' to='sip.test' type='get' id='v1'>"
                     "<query xmlns='jabber:iq:version'/></iq>"),
              "<iq from='sip.test' to='a@x.test' id='v1' type='result'>"
              "<query xmlns='jabber:iq:version'><name>fedgw</name><version>0.1.0</version>"
              "</query></iq>");
}

// XEP-0199 §4.2 (server ping): an empty result.
TEST(Ping, Answered) {
    EXPECT_EQ(answer("<iq from='x.test' to='sip.test' type='get' id='p1'>"
                     "<ping xmlns='urn:xmpp:ping'/></iq>"),
              "<iq from='sip.test' to='x.test' id='p1' type='result'/>");
}

// RFC 6120 §8.2.3: every get/set is answered; unknown payloads with service-unavailable.
TEST(OtherIqs, ServiceUnavailable) {
    for (std::string_view iq :
         {"<iq from='a@x.test' to='sip.test' type='get' id='o1'><vCard xmlns='vcard-temp'/></iq>",
          "<iq from='a@x.test' to='sip.test' type='set' id='o2'><ping xmlns='urn:xmpp:ping'/></iq>",
          "<iq from='a@x.test' to='alice@sip.test' type='get' id='o3'>"
          "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
          "<iq from='a@x.test' to='alice@sip.test/phone' type='get' id='o4'>"
          "<ping xmlns='urn:xmpp:ping'/></iq>"}) {
        const std::string r = answer(iq);
        EXPECT_NE(r.find("type='error'"), std::string::npos) << r;
        EXPECT_NE(r.find("<error type='cancel'><service-unavailable "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"),
                  std::string::npos)
            << r;
    }
}

// RFC 6120 §8.2.3: results and errors are never answered.
TEST(OtherIqs, ResultsAndErrorsIgnored) {
    EXPECT_EQ(answer("<iq from='a@x.test' to='sip.test' type='result' id='r1'/>"), "(none)");
    EXPECT_EQ(answer("<iq from='a@x.test' to='sip.test' type='error' id='r2'/>"), "(none)");
}

TEST(OtherIqs, MalformedIqs) {
    EXPECT_NE(answer("<iq from='a@x.test' to='sip.test' type='get'><ping xmlns='urn:xmpp:ping'/>"
                     "</iq>")
                  .find("<bad-request"),
              std::string::npos);
    EXPECT_NE(answer("<iq from='a@x.test' to='sip.test' type='get' id='m'/>").find("<bad-request"),
              std::string::npos);
    EXPECT_NE(answer("<iq from='a@x.test' to='sip.test' type='get' id='m'><a xmlns='x'/>"
                     "<b xmlns='x'/></iq>")
                  .find("<bad-request"),
              std::string::npos);
    EXPECT_NE(
        answer("<iq from='a@x.test' to='sip.test' type='bogus' id='m'/>").find("<bad-request"),
        std::string::npos);
}

// RFC 6120 §8.3.1: swap addresses, keep the id, type error, the defined condition with text.
TEST(ErrorReply, ForAMessage) {
    auto msg = stanza(
        "<message from='juliet@xmpp.test/balcony' to='alice@sip.test' id='m7' "
        "type='chat'><body>hi</body></message>");
    StanzaError e = StanzaError::of(StanzaCondition::RecipientUnavailable, "SIP 480");
    auto r = error_reply(*msg, e);
    ASSERT_TRUE(r);
    EXPECT_EQ(xml(*r),
              "<message from='alice@sip.test' to='juliet@xmpp.test/balcony' id='m7' "
              "type='error'><error type='wait'><recipient-unavailable "
              "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
              "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>SIP 480</text></error>"
              "</message>");
    auto err = stanza("<message from='a@x.test' to='b@y.test' type='error'/>");
    EXPECT_FALSE(error_reply(*err, e));
}

}  // namespace
}  // namespace fedgw::gateway
