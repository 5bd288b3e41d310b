// Messages (RFC 7572 §4-§7, RFC 3428, RFC 6121 §5.2, RFC 3862, XEP-0085/0184/0203).
//
// Provenance tags ([RFC text], [recalled], [ours]) as in translate_test_support.hpp. RFC 7572
// rows are [recalled]: its text could not be fetched with the tools available.
#include "gateway/translate/message_map.hpp"

#include <gtest/gtest.h>

#include "tests/unit/translate/translate_test_support.hpp"

namespace fedgw::gateway {
namespace {

using test::stanza;
using test::xml;

const OutboundMessage& sent(const OutboundDecision& d) {
    static const OutboundMessage none;
    if (const auto* m = std::get_if<OutboundMessage>(&d)) return *m;
    ADD_FAILURE() << "not an OutboundMessage";
    return none;
}

// RFC 7572 §4 table [recalled]: to -> Request-URI/To, from -> From, <body/> -> body as
// text/plain;charset=UTF-8, <subject/> -> Subject, <thread/> -> Call-ID, xml:lang ->
// Content-Language; id and type have no SIP mapping. [ours] the sender's resource goes as a
// GRUU (RFC 7247 §6.3 [recalled]) for the Contact.
TEST(XmppToSip, Rfc7572FieldMapping) {
    auto msg = stanza(
        "<message from='romeo@example.net/orchard' to='juliet@example.com' type='chat' "
        "id='m1' "
        "xml:lang='en'><subject>Hi</subject><thread>e0ffe42b28561960c6b12b944a092794b9683a38"
        "</thread><body>Art thou not Romeo, and a Montague?</body></message>");
    const OutboundDecision d = plan_sip_message(*msg);
    const OutboundMessage& m = sent(d);
    EXPECT_EQ(m.request_uri, "sip:juliet@example.com");
    EXPECT_EQ(m.from_uri, "sip:romeo@example.net");
    EXPECT_EQ(m.from_gruu, "sip:romeo@example.net;gr=orchard");
    EXPECT_EQ(m.content_type, "text/plain;charset=UTF-8");
    EXPECT_EQ(m.body, "Art thou not Romeo, and a Montague?");
    EXPECT_EQ(m.subject, "Hi");
    EXPECT_EQ(m.content_language, "en");
    EXPECT_EQ(m.thread, "e0ffe42b28561960c6b12b944a092794b9683a38");
    EXPECT_EQ(m.call_id, m.thread);
    EXPECT_EQ(m.id, "m1");

    const sip::RequestSpec spec = to_request_spec(m);
    EXPECT_EQ(spec.method, "MESSAGE");
    EXPECT_EQ(spec.request_uri, "sip:juliet@example.com");
    EXPECT_EQ(spec.to.uri, "sip:juliet@example.com");
    EXPECT_EQ(spec.from.uri, "sip:romeo@example.net");
    EXPECT_EQ(spec.call_id, m.thread);
    ASSERT_EQ(spec.headers.size(), 2u);
    EXPECT_EQ(spec.headers[0].name, "Subject");
    EXPECT_EQ(spec.headers[1].name, "Content-Language");
}

TEST(XmppToSip, SpecBuildsARealMessage) {
    auto msg = stanza(
        "<message from='romeo@example.net' to='juliet@example.com'>"
        "<body>hi</body></message>");
    const OutboundDecision d = plan_sip_message(*msg);
    const OutboundMessage& m = sent(d);
    std::uint64_t n = 0;
    auto built =
        sip::build_message(to_request_spec(m), m.content_type, m.body, [&n] { return ++n; });
    ASSERT_TRUE(built) << built.error().describe();
    EXPECT_EQ(built->media_type(), "text/plain");
    EXPECT_EQ(built->body(), "hi");
}

// RFC 6121 §5.2.2: no type, or an unknown one, is "normal": translated.
TEST(XmppToSip, NormalAndUnknownTypesSent) {
    for (std::string_view t : {"", " type='normal'", " type='bogus'"}) {
        auto msg = stanza("<message from='a@x.test' to='b@y.test'" + std::string(t) +
                          "><body>x</body></message>");
        EXPECT_TRUE(std::holds_alternative<OutboundMessage>(plan_sip_message(*msg))) << t;
    }
}

TEST(XmppToSip, GroupchatAndHeadlineRefused) {
    for (std::string_view t : {"groupchat", "headline"}) {
        auto msg = stanza("<message from='a@x.test' to='b@y.test' type='" + std::string(t) +
                          "'><body>x</body></message>");
        const auto d = plan_sip_message(*msg);
        ASSERT_TRUE(std::holds_alternative<StanzaError>(d)) << t;
        EXPECT_EQ(std::get<StanzaError>(d).condition, StanzaCondition::FeatureNotImplemented);
    }
}

TEST(XmppToSip, ErrorMessagesNotTranslated) {
    auto msg = stanza(
        "<message from='a@x.test' to='b@y.test' type='error'><body>x</body>"
        "<error type='cancel'><item-not-found "
        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
    const auto d = plan_sip_message(*msg);
    ASSERT_TRUE(std::holds_alternative<NothingToSend>(d));
    EXPECT_EQ(std::get<NothingToSend>(d).reason, NothingToSendReason::ErrorStanza);
}

// XEP-0085 §5: a standalone chat state has no body; XEP-0184 receipts likewise. Never an empty
// MESSAGE (RFC 7572 / DESIGN.md).
TEST(XmppToSip, BodylessNeverSent) {
    auto composing = stanza(
        "<message from='a@x.test' to='b@y.test' type='chat'><composing "
        "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    auto d = plan_sip_message(*composing);
    ASSERT_TRUE(std::holds_alternative<NothingToSend>(d));
    EXPECT_EQ(std::get<NothingToSend>(d).reason, NothingToSendReason::ChatStateOnly);

    auto receipt = stanza(
        "<message from='a@x.test' to='b@y.test'><received "
        "xmlns='urn:xmpp:receipts' id='r1'/></message>");
    d = plan_sip_message(*receipt);
    ASSERT_TRUE(std::holds_alternative<NothingToSend>(d));
    EXPECT_EQ(std::get<NothingToSend>(d).reason, NothingToSendReason::ReceiptOnly);

    auto marker = stanza(
        "<message from='a@x.test' to='b@y.test'><displayed "
        "xmlns='urn:xmpp:chat-markers:0' id='r1'/></message>");
    EXPECT_EQ(std::get<NothingToSend>(plan_sip_message(*marker)).reason,
              NothingToSendReason::ReceiptOnly);

    auto empty = stanza("<message from='a@x.test' to='b@y.test'><body/></message>");
    EXPECT_EQ(std::get<NothingToSend>(plan_sip_message(*empty)).reason,
              NothingToSendReason::NoBody);
}

// A body with a chat state is a normal message.
TEST(XmppToSip, BodyWithChatStateSent) {
    auto msg = stanza(
        "<message from='a@x.test' to='b@y.test' type='chat'><body>x</body><active "
        "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_EQ(sent(plan_sip_message(*msg)).body, "x");
}

// RFC 6121 §5.2.3: several bodies in different languages; the stanza's language wins
// (RFC 7572 §7 [recalled]: one body goes to SIP, its language in Content-Language).
TEST(XmppToSip, BodyInTheStanzaLanguage) {
    auto msg = stanza(
        "<message from='a@x.test' to='b@y.test' xml:lang='en'>"
        "<body xml:lang='cs'>Ahoj</body><body>Hello</body>"
        "<subject xml:lang='cs'>Pozdrav</subject><subject>Greeting</subject>"
        "</message>");
    const OutboundDecision d = plan_sip_message(*msg);
    const OutboundMessage& m = sent(d);
    EXPECT_EQ(m.body, "Hello");
    EXPECT_EQ(m.content_language, "en");
    EXPECT_EQ(m.subject, "Greeting");
    EXPECT_EQ(m.notes.size(), 2u);
}

TEST(XmppToSip, FirstBodyWhenNoneMatches) {
    auto msg = stanza(
        "<message from='a@x.test' to='b@y.test'>"
        "<body xml:lang='de'>Hallo</body><body xml:lang='fr'>Salut</body></message>");
    OutboundMessageOptions o;
    o.default_lang = "en";
    const OutboundDecision d = plan_sip_message(*msg, o);
    EXPECT_EQ(sent(d).body, "Hallo");
    EXPECT_EQ(sent(d).content_language, "de");
}

// RFC 3261 §7.3.1: a header is one line; the subject is flattened and cut.
TEST(XmppToSip, SubjectOneLineAndCut) {
    auto msg = stanza(
        "<message from='a@x.test' to='b@y.test'><subject>line1\nline2</subject>"
        "<body>x</body></message>");
    EXPECT_EQ(sent(plan_sip_message(*msg)).subject, "line1 line2");
    auto longer = stanza("<message from='a@x.test' to='b@y.test'><subject>" + std::string(10, 'a') +
                         "é</subject><body>x</body></message>");
    OutboundMessageOptions o;
    o.max_subject_bytes = 11;  // would split "é"
    EXPECT_EQ(sent(plan_sip_message(*longer, o)).subject, std::string(10, 'a'));
}

// RFC 3261 §25.1 callid = word ["@" word]: a thread with spaces cannot be one.
TEST(XmppToSip, ThreadNotUsableAsCallId) {
    auto msg = stanza(
        "<message from='a@x.test' to='b@y.test'><thread>my thread</thread>"
        "<body>x</body></message>");
    const OutboundDecision d = plan_sip_message(*msg);
    EXPECT_EQ(sent(d).thread, "my thread");
    EXPECT_EQ(sent(d).call_id, "");
}

TEST(XmppToSip, AddressProblemsBounce) {
    auto to_domain = stanza("<message from='a@x.test' to='y.test'><body>x</body></message>");
    auto d = plan_sip_message(*to_domain);
    ASSERT_TRUE(std::holds_alternative<StanzaError>(d));
    EXPECT_EQ(std::get<StanzaError>(d).condition, StanzaCondition::ServiceUnavailable);

    auto bad_to = stanza("<message from='a@x.test' to='a@b@y.test'><body>x</body></message>");
    d = plan_sip_message(*bad_to);
    ASSERT_TRUE(std::holds_alternative<StanzaError>(d));
    EXPECT_EQ(std::get<StanzaError>(d).condition, StanzaCondition::JidMalformed);
}

TEST(XmppToSip, OversizedBodyRefused) {
    auto msg = stanza("<message from='a@x.test' to='b@y.test'><body>" + std::string(100, 'x') +
                      "</body></message>");
    OutboundMessageOptions o;
    o.max_body_bytes = 99;
    const auto d = plan_sip_message(*msg, o);
    ASSERT_TRUE(std::holds_alternative<StanzaError>(d));
    EXPECT_EQ(std::get<StanzaError>(d).condition, StanzaCondition::PolicyViolation);
}

InboundMessageRequest sip_message(std::string content_type, std::string body) {
    InboundMessageRequest r;
    r.request_uri = "sip:juliet@xmpp.test";
    r.from_uri = "sip:alice@sip.test";
    r.to_uri = "sip:juliet@xmpp.test";
    r.call_id = "a84b4c76e66710@pc33.sip.test";
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
}

// RFC 7572 §5 [recalled]: the reverse table; Call-ID -> thread, Subject -> <subject/>,
// Content-Language -> xml:lang. [ours] type='chat' by default (InboundMessageOptions).
TEST(SipToXmpp, TextPlain) {
    auto req = sip_message("text/plain; charset=UTF-8", "hi\r\n");
    req.subject = "Greeting";
    req.content_language = "en";
    auto m = translate_sip_message(req);
    ASSERT_TRUE(m) << m.error().text;
    EXPECT_EQ(m->from.to_string(), "alice@sip.test");
    EXPECT_EQ(m->to.to_string(), "juliet@xmpp.test");
    EXPECT_EQ(m->body, "hi\r\n");  // sipp's CRLF kept: no assumption either way
    EXPECT_EQ(m->subject, "Greeting");
    EXPECT_EQ(m->lang, "en");
    EXPECT_EQ(m->thread, "a84b4c76e66710@pc33.sip.test");
    auto s = build_message_stanza(*m, "gw-1");
    EXPECT_EQ(xml(*s),
              "<message from='alice@sip.test' to='juliet@xmpp.test' type='chat' id='gw-1' "
              "xml:lang='en'><body>hi&#13;\n</body><subject>Greeting</subject>"
              "<thread>a84b4c76e66710@pc33.sip.test</thread></message>")
        << xml(*s);
}

TEST(SipToXmpp, CharsetHandling) {
    EXPECT_TRUE(translate_sip_message(sip_message("text/plain", "hi")));
    EXPECT_TRUE(translate_sip_message(sip_message("", "hi")));
    EXPECT_TRUE(translate_sip_message(sip_message("text/plain;charset=us-ascii", "hi")));
    // RFC 3261 §21.4.13 [RFC text] 415: "The server MUST return a list of acceptable formats
    // using the Accept, Accept-Encoding, or Accept-Language header field".
    auto latin1 = translate_sip_message(sip_message("text/plain; charset=ISO-8859-1", "\xE9t\xE9"));
    ASSERT_FALSE(latin1);
    EXPECT_EQ(latin1.error().status, 415);
    ASSERT_FALSE(latin1.error().headers.empty());
    EXPECT_EQ(latin1.error().headers[0].name, "Accept");
    EXPECT_EQ(latin1.error().headers[0].value,
              "text/plain;charset=UTF-8, message/cpim, application/im-iscomposing+xml");
    auto bad = translate_sip_message(sip_message("text/plain;charset=utf-8", "\xE9t\xE9"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().status, 400);
    auto ctl = translate_sip_message(sip_message("text/plain", "bell\x07"));
    ASSERT_FALSE(ctl);
    EXPECT_EQ(ctl.error().status, 400);
}

TEST(SipToXmpp, OtherContentRefusedWith415) {
    for (std::string_view ct : {"text/html", "text/enriched", "image/png", "not a media type"}) {
        auto r = translate_sip_message(sip_message(std::string(ct), "x"));
        ASSERT_FALSE(r) << ct;
        EXPECT_EQ(r.error().status, 415) << ct;
    }
    auto gz = sip_message("text/plain", "x");
    gz.content_encoding = "gzip";
    EXPECT_EQ(translate_sip_message(gz).error().status, 415);
}

TEST(SipToXmpp, EmptyAndOversizedRefused) {
    EXPECT_EQ(translate_sip_message(sip_message("text/plain", "")).error().status, 400);
    InboundMessageOptions o;
    o.max_body_bytes = 3;
    EXPECT_EQ(translate_sip_message(sip_message("text/plain", "four"), o).error().status, 413);
}

// RFC 3862: the payload of message/cpim is unwrapped; Subject and DateTime used (XEP-0203).
TEST(SipToXmpp, CpimUnwrapped) {
    auto req = sip_message("message/cpim",
                           "From: Alice <sip:alice@sip.test>\r\n"
                           "To: <sip:juliet@xmpp.test>\r\n"
                           "DateTime: 2024-05-01T10:00:00+02:00\r\n"
                           "Subject: Lunch?\r\n"
                           "\r\n"
                           "Content-Type: text/plain;charset=UTF-8\r\n"
                           "\r\n"
                           "Shall we?");
    auto m = translate_sip_message(req);
    ASSERT_TRUE(m) << m.error().text;
    EXPECT_EQ(m->body, "Shall we?");
    EXPECT_EQ(m->subject, "Lunch?");
    EXPECT_EQ(m->delay_stamp, "2024-05-01T08:00:00Z");
    EXPECT_EQ(m->cpim_from, "sip:alice@sip.test");
    EXPECT_EQ(m->from.to_string(), "alice@sip.test");  // the SIP From stays authoritative
    auto s = build_message_stanza(*m, "x");
    const Element* delay = s->find_child("delay", kNsDelay);
    ASSERT_NE(delay, nullptr);
    EXPECT_EQ(delay->attr_or("stamp", ""), "2024-05-01T08:00:00Z");
    EXPECT_EQ(delay->attr_or("from", ""), "sip.test");
}

TEST(SipToXmpp, CpimRefusals) {
    auto html = translate_sip_message(
        sip_message("message/cpim", "\r\nContent-Type: text/html\r\n\r\n<b>x</b>"));
    EXPECT_EQ(html.error().status, 415);
    auto nested = translate_sip_message(
        sip_message("message/cpim", "\r\nContent-Type: message/cpim\r\n\r\nx"));
    EXPECT_EQ(nested.error().status, 415);
    auto b64 = translate_sip_message(sip_message(
        "message/cpim",
        "\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk="));
    EXPECT_EQ(b64.error().status, 415);
    auto broken = translate_sip_message(sip_message("message/cpim", "From: x"));
    EXPECT_EQ(broken.error().status, 400);
    auto latin1 = translate_sip_message(sip_message(
        "message/cpim", "\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n\xE9"));
    EXPECT_EQ(latin1.error().status, 415);
}

TEST(SipToXmpp, AddressRefusals) {
    auto bad_from = sip_message("text/plain", "x");
    bad_from.from_uri = "sip:a&b@sip.test";
    auto r = translate_sip_message(bad_from);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 400);

    auto tel = sip_message("text/plain", "x");
    tel.request_uri = "tel:+4930123";
    EXPECT_EQ(translate_sip_message(tel).error().status, 416);

    // A Request-URI without a user (rewritten to the gateway's address) falls back to To.
    auto host_only = sip_message("text/plain", "x");
    host_only.request_uri = "sip:127.0.0.5:5060";
    auto ok = translate_sip_message(host_only);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->to.to_string(), "juliet@xmpp.test");
}

TEST(SipToXmpp, Options) {
    InboundMessageOptions o;
    o.type = "normal";
    o.thread_from_call_id = false;
    auto m = translate_sip_message(sip_message("text/plain", "x"), o);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, "normal");
    EXPECT_EQ(m->thread, "");
}

// RFC 3994 isComposing <-> XEP-0085 chat states.
TEST(IsComposing, FromXmppChatState) {
    auto composing = stanza(
        "<message from='romeo@example.net/orchard' to='juliet@example.com' "
        "type='chat' id='c1'><composing "
        "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    auto c = plan_is_composing(*composing, 90);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, ComposingState::Active);
    EXPECT_EQ(c->message.content_type, "application/im-iscomposing+xml");
    EXPECT_EQ(c->message.request_uri, "sip:juliet@example.com");
    EXPECT_EQ(c->message.body,
              "<?xml version='1.0' encoding='UTF-8'?><isComposing "
              "xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>active</state>"
              "<contenttype>text/plain</contenttype><refresh>90</refresh></isComposing>");
    for (std::string_view s : {"paused", "active", "inactive", "gone"}) {
        auto m = stanza("<message from='a@x.test' to='b@y.test'><" + std::string(s) +
                        " xmlns='http://jabber.org/protocol/chatstates'/></message>");
        auto p = plan_is_composing(*m);
        ASSERT_TRUE(p) << s;
        EXPECT_EQ(p->state, ComposingState::Idle) << s;
        EXPECT_EQ(parse_is_composing(p->message.body), ComposingState::Idle) << s;
    }
    auto none = stanza("<message from='a@x.test' to='b@y.test'><body>x</body></message>");
    EXPECT_FALSE(plan_is_composing(*none));
    auto unmappable = stanza(
        "<message from='a@x.test' to='y.test'><composing "
        "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_FALSE(plan_is_composing(*unmappable));
}

TEST(IsComposing, ToXmppChatState) {
    auto active = translate_sip_message(
        sip_message("application/im-iscomposing+xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n"
                    "  <state>active</state>\n  <contenttype>text/plain</contenttype>\n"
                    "  <refresh>60</refresh>\n</isComposing>\n"));
    ASSERT_TRUE(active) << active.error().text;
    EXPECT_EQ(active->chat_state, ChatState::Composing);
    EXPECT_EQ(xml(*build_message_stanza(*active, "t1")),
              "<message from='alice@sip.test' to='juliet@xmpp.test' type='chat' id='t1'>"
              "<thread>a84b4c76e66710@pc33.sip.test</thread>"
              "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
    auto idle = translate_sip_message(sip_message(
        "application/im-iscomposing+xml",
        "<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state> idle </state>"
        "</isComposing>"));
    ASSERT_TRUE(idle);
    EXPECT_EQ(idle->chat_state, ChatState::Paused);
    for (std::string_view bad :
         {"<isComposing xmlns='urn:x'><state>active</state></isComposing>",
          "<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'><state>typing</state>"
          "</isComposing>",
          "<isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'>",
          "<!DOCTYPE x><isComposing xmlns='urn:ietf:params:xml:ns:im-iscomposing'/>"}) {
        auto r =
            translate_sip_message(sip_message("application/im-iscomposing+xml", std::string(bad)));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().status, 400) << bad;
    }
}

}  // namespace
}  // namespace fedgw::gateway
