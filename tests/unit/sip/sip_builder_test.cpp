// Request builders (MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS) and responses per RFC 3261 §8.2.6,
// with a fixed random source. No sockets.
#include "gateway/sip/sip_builder.hpp"

#include <gtest/gtest.h>

#include "tests/unit/sip/sample_messages.hpp"

namespace fedgw::gateway::sip {
namespace {

// 1, 2, 3, ...: each draw gives a different, predictable token.
RandomSource counter() {
    auto n = std::make_shared<std::uint64_t>(0);
    return [n] { return ++*n; };
}

RequestSpec basic_spec() {
    RequestSpec s;
    s.from = {"Romeo", "sip:romeo@xmpp.example", ""};
    s.to = {"", "sip:juliet@sip.example", ""};
    s.call_id_host = "gw.example";
    s.contact = "sip:gw@192.0.2.20:5070";
    return s;
}

std::string wire(const SipMessage& m) {
    auto t = m.to_string();
    EXPECT_TRUE(t.has_value());
    return t ? *t : std::string();
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\r\n" + line + "\r\n") != std::string::npos;
}

TEST(Tokens, ComeFromTheRandomSource) {
    auto r = counter();
    EXPECT_EQ(make_tag(r), "1000000000000000");
    EXPECT_EQ(make_branch(r), "z9hG4bK2000000000000000");
    EXPECT_EQ(make_call_id(r, "h"), "30000000000000004000000000000000@h");
    EXPECT_EQ(make_call_id(r, ""), "50000000000000006000000000000000");
    EXPECT_EQ(random_hex([] { return 0xfedcba9876543210ULL; }, 4), "0123");
}

TEST(BuildMessage, WritesAMessageRequest) {
    auto m = build_message(basic_spec(), "text/plain;charset=UTF-8", "hello", counter());
    ASSERT_TRUE(m.has_value()) << m.error().describe();
    EXPECT_EQ(m->method(), "MESSAGE");
    EXPECT_EQ(m->request_uri(), "sip:juliet@sip.example");
    EXPECT_EQ(m->from().tag, "1000000000000000");
    EXPECT_EQ(m->from().display_name, "Romeo");
    EXPECT_EQ(m->to().tag, "");
    EXPECT_EQ(m->call_id(), "20000000000000003000000000000000@gw.example");
    EXPECT_EQ(m->cseq().number, 1u);
    EXPECT_EQ(m->cseq().method, "MESSAGE");
    EXPECT_EQ(m->max_forwards(), 70u);
    EXPECT_EQ(m->body(), "hello");
    const std::string text = wire(*m);
    EXPECT_EQ(text.substr(0, text.find("\r\n")), "MESSAGE sip:juliet@sip.example SIP/2.0");
    EXPECT_TRUE(has_line(text, "Content-Length:     5")) << text;
    EXPECT_TRUE(has_line(text, "From: \"Romeo\" <sip:romeo@xmpp.example>;tag=1000000000000000"))
        << text;
    // Without a Via it is not a complete request yet: the stack adds one when sending.
    EXPECT_EQ(SipMessage::parse(text).error().code, SipErrorCode::MissingHeader);
    RequestSpec with_via = basic_spec();
    with_via.via = ViaSpec{SipTransport::Tcp, "192.0.2.20", 5070, true, {}};
    auto complete = build_message(with_via, "text/plain;charset=UTF-8", "hello", counter());
    ASSERT_TRUE(complete.has_value());
    auto again = SipMessage::parse(wire(*complete));
    ASSERT_TRUE(again.has_value()) << again.error().describe();
    EXPECT_EQ(again->body(), "hello");
    EXPECT_EQ(again->media_type(), "text/plain");
    EXPECT_EQ(again->from().display_name, "Romeo");
}

TEST(BuildMessage, RefusesAnEmptyBody) {
    auto m = build_message(basic_spec(), "text/plain", "", counter());
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code, SipErrorCode::InvalidArgument);
}

TEST(BuildMessage, AddsViaWithMagicCookieWhenAsked) {
    RequestSpec s = basic_spec();
    s.via = ViaSpec{SipTransport::Udp, "192.0.2.20", 5070, true, {}};
    auto m = build_message(s, "text/plain", "x", counter());
    ASSERT_TRUE(m.has_value()) << m.error().describe();
    const auto via = m->top_via();
    ASSERT_TRUE(via.has_value());
    EXPECT_EQ(via->transport, "UDP");
    EXPECT_EQ(via->host, "192.0.2.20");
    EXPECT_EQ(via->port, 5070);
    EXPECT_EQ(via->branch.substr(0, 7), "z9hG4bK");
    EXPECT_TRUE(via->rport);
}

TEST(BuildSubscribe, WritesEventExpiresAndContact) {
    auto m = build_subscribe(basic_spec(), "presence", 28800, counter());
    ASSERT_TRUE(m.has_value()) << m.error().describe();
    EXPECT_EQ(m->method(), "SUBSCRIBE");
    EXPECT_EQ(m->event(), "presence");
    EXPECT_EQ(m->expires(), 28800u);
    EXPECT_EQ(m->contacts().at(0).uri, "sip:gw@192.0.2.20:5070");
    EXPECT_EQ(m->cseq().method, "SUBSCRIBE");
    RequestSpec no_contact = basic_spec();
    no_contact.contact.clear();
    EXPECT_FALSE(build_subscribe(no_contact, "presence", 60, counter()).has_value());
    EXPECT_FALSE(build_subscribe(basic_spec(), "pres ence", 60, counter()).has_value());
}

TEST(BuildNotify, NeedsADialogAndWritesSubscriptionState) {
    RequestSpec s = basic_spec();
    s.from.tag = "ours";
    s.to.tag = "theirs";
    s.call_id = "dialog-1@gw.example";
    s.cseq = 7;
    SubscriptionState st{"active", 3600, "", std::nullopt};
    auto m = build_notify(s, "presence", st, "application/pidf+xml", "<presence/>", counter());
    ASSERT_TRUE(m.has_value()) << m.error().describe();
    EXPECT_EQ(m->header("subscription-state"), "active;expires=3600");
    EXPECT_EQ(m->subscription_state()->expires, 3600u);
    EXPECT_EQ(m->call_id(), "dialog-1@gw.example");
    EXPECT_EQ(m->cseq().number, 7u);
    EXPECT_EQ(m->from().tag, "ours");
    EXPECT_EQ(m->to().tag, "theirs");
    s.to.tag.clear();
    EXPECT_FALSE(build_notify(s, "presence", st, "", "", counter()).has_value());
    EXPECT_EQ(format_subscription_state({"terminated", std::nullopt, "timeout", 30}),
              "terminated;reason=timeout;retry-after=30");
}

TEST(BuildOptions, WritesOptions) {
    auto m = build_options(basic_spec(), counter());
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->method(), "OPTIONS");
    EXPECT_EQ(m->cseq().method, "OPTIONS");
    EXPECT_EQ(m->body(), "");
}

TEST(BuildRequest, EscapesDisplayNamesAndRefusesInjection) {
    RequestSpec s = basic_spec();
    s.from.display_name = "Ro\"meo\\";
    auto m = build_options(s, counter());
    ASSERT_TRUE(m.has_value()) << m.error().describe();
    EXPECT_EQ(m->from().display_name, "Ro\"meo\\");

    RequestSpec bad = basic_spec();
    bad.from.display_name = "x\r\nVia: evil";
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
    bad = basic_spec();
    bad.to.uri = "sip:juliet@sip.example>;evil=1";
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
    bad = basic_spec();
    bad.to.uri = "not a uri";
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
    bad = basic_spec();
    bad.headers = {{"Subject", "a\nb"}};
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
    bad = basic_spec();
    bad.headers = {{"Call-ID", "x"}};
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
    bad = basic_spec();
    bad.call_id = "has space";
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
    bad = basic_spec();
    bad.cseq = 0x80000000U;
    EXPECT_EQ(build_options(bad, counter()).error().code, SipErrorCode::InvalidArgument);
}

// ---- responses, RFC 3261 §8.2.6 ----

SipMessage request(const std::string& text) {
    auto m = SipMessage::parse(text);
    if (!m) std::abort();
    return std::move(*m);
}

TEST(BuildResponse, CopiesViasFromToCallIdCSeqAndAddsToTag) {
    SipMessage req = request(samples::kamailio_message());
    auto r = build_response(req, 200, {}, {}, counter());
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_TRUE(r->is_response());
    EXPECT_EQ(r->status_code(), 200);
    EXPECT_EQ(r->reason_phrase(), "OK");
    const auto vias = r->vias();
    const auto req_vias = req.vias();
    ASSERT_EQ(vias.size(), req_vias.size());
    for (std::size_t i = 0; i < vias.size(); ++i) {
        EXPECT_EQ(vias[i].host, req_vias[i].host);
        EXPECT_EQ(vias[i].branch, req_vias[i].branch);
        EXPECT_EQ(vias[i].received, req_vias[i].received);
        EXPECT_EQ(vias[i].rport_value, req_vias[i].rport_value);
    }
    EXPECT_EQ(r->from().uri, req.from().uri);
    EXPECT_EQ(r->from().tag, "8a7c4f2e");
    EXPECT_EQ(r->from().display_name, "Juliet Capulet");
    EXPECT_EQ(r->to().uri, req.to().uri);
    EXPECT_EQ(r->to().tag, "1000000000000000");
    EXPECT_EQ(r->call_id(), req.call_id());
    EXPECT_EQ(r->cseq().number, 2u);
    EXPECT_EQ(r->cseq().method, "MESSAGE");
    EXPECT_EQ(r->body(), "");
    const std::string text = wire(*r);
    EXPECT_EQ(text.substr(0, text.find("\r\n")), "SIP/2.0 200 OK");
    EXPECT_TRUE(has_line(text, "Content-Length: 0")) << text;
    EXPECT_FALSE(r->header("record-route").has_value());
    auto again = SipMessage::parse(text);
    ASSERT_TRUE(again.has_value()) << again.error().describe();
    EXPECT_EQ(again->status_code(), 200);
}

TEST(BuildResponse, KeepsAnExistingToTagAndGivesTryingNone) {
    SipMessage notify = request(samples::kamailio_notify());
    auto r = build_response(notify, 481, {}, {}, counter());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->to().tag, "2f9a1c");
    EXPECT_EQ(r->reason_phrase(), "Call/Transaction Does Not Exist");

    SipMessage msg = request(samples::kamailio_message());
    auto trying = build_response(msg, 100, {}, {}, counter());
    ASSERT_TRUE(trying.has_value());
    EXPECT_EQ(trying->to().tag, "");
}

TEST(BuildResponse, UsesGivenTagReasonHeadersContactAndBody) {
    SipMessage sub = request(samples::kamailio_subscribe());
    ResponseSpec spec;
    spec.to_tag = "fixed";
    spec.contact = "sip:gw@192.0.2.20:5070;transport=tcp";
    spec.headers = {{"Expires", "600"}};
    spec.content_type = "text/plain";
    spec.body = "why";
    auto r = build_response(sub, 202, "Accepted Here", spec, counter());
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(r->to().tag, "fixed");
    EXPECT_EQ(r->to().display_name, "Romeo");
    EXPECT_EQ(r->reason_phrase(), "Accepted Here");
    EXPECT_EQ(r->expires(), 600u);
    EXPECT_EQ(r->contacts().at(0).uri, "sip:gw@192.0.2.20:5070;transport=tcp");
    EXPECT_EQ(r->body(), "why");
}

// RFC 3261 §12.1.1: "When a UAS responds to a request with a response that establishes a
// dialog (such as a 2xx to INVITE), the UAS MUST copy all Record-Route header field values from
// the request into the response (including the URIs, URI parameters, and any Record-Route
// header field parameters, whether they are known or unknown to the UAS) and MUST maintain the
// order of those values." RFC 6665 §4.2.1.1 makes a 2xx to SUBSCRIBE such a response. Without
// them Kamailio answers the watcher's refresh with 404 (seen in tests/interop/gateway_full).
TEST(BuildResponse, DialogCreatingAnswerCopiesRecordRouteInOrder) {
    std::string text = samples::kamailio_subscribe();
    const std::string rr =
        "Record-Route: <sip:192.0.2.10;lr;ftag=uS8xHKc2L>\r\n"
        "Record-Route: <sip:192.0.2.11;lr>\r\n";
    text.insert(text.find("Max-Forwards"), rr);
    SipMessage sub = request(text);
    auto ok = build_response(sub, 200, {}, {}, counter());
    ASSERT_TRUE(ok.has_value()) << ok.error().describe();
    const std::string w = wire(*ok);
    const auto first = w.find("<sip:192.0.2.10;lr;ftag=uS8xHKc2L>");
    const auto second = w.find("<sip:192.0.2.11;lr>");
    ASSERT_NE(first, std::string::npos) << w;
    ASSERT_NE(second, std::string::npos) << w;
    EXPECT_LT(first, second) << "order kept";

    auto refused = build_response(sub, 404, {}, {}, counter());
    ASSERT_TRUE(refused.has_value());
    EXPECT_FALSE(refused->header("record-route").has_value()) << "no dialog, no route set";
}

TEST(BuildResponse, Refusals) {
    SipMessage msg = request(samples::kamailio_message());
    EXPECT_EQ(build_response(msg, 700, {}, {}, counter()).error().code,
              SipErrorCode::InvalidArgument);
    EXPECT_EQ(build_response(msg, 99, {}, {}, counter()).error().code,
              SipErrorCode::InvalidArgument);
    EXPECT_EQ(build_response(msg, 200, "OK\r\nX: y", {}, counter()).error().code,
              SipErrorCode::InvalidArgument);
    SipMessage resp = request(samples::interval_too_brief());
    EXPECT_FALSE(build_response(resp, 200, {}, {}, counter()).has_value());
    std::string ack = samples::kamailio_message();
    ack.replace(0, 7, "ACK");
    ack.replace(ack.find("CSeq: 2 MESSAGE"), 15, "CSeq: 2 ACK");
    auto ack_msg = SipMessage::parse(ack);
    ASSERT_TRUE(ack_msg.has_value()) << ack_msg.error().describe();
    EXPECT_FALSE(build_response(*ack_msg, 200, {}, {}, counter()).has_value());
}

TEST(ReasonPhrase, StandardPhrases) {
    EXPECT_EQ(reason_phrase(408), "Request Timeout");
    EXPECT_EQ(reason_phrase(488), "Not Acceptable Here");
    EXPECT_EQ(reason_phrase(299), "Unknown");
    EXPECT_EQ(host_port_text("2001:db8::1", 5060), "[2001:db8::1]:5060");
    EXPECT_EQ(host_port_text("gw.example", 0), "gw.example");
}

}  // namespace
}  // namespace fedgw::gateway::sip
