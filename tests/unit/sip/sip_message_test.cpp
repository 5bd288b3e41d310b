// SipMessage: parsing Kamailio's messages, the accessors, serialisation, and the refusals
// with their errors. No sockets.
#include "gateway/sip/sip_message.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/sip/sample_messages.hpp"

namespace fedgw::gateway::sip {
namespace {

using samples::crlf;

SipMessage parse_ok(const std::string& text) {
    auto m = SipMessage::parse(text);
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().describe());
    if (!m) std::abort();
    return std::move(*m);
}

SipErrorCode parse_error(const std::string& text, const SipLimits& limits = {}) {
    auto m = SipMessage::parse(text, limits);
    EXPECT_FALSE(m.has_value());
    if (m) return SipErrorCode::Internal;
    EXPECT_FALSE(m.error().text.empty());
    return m.error().code;
}

std::string minimal(std::string_view start, std::string_view extra = {}) {
    std::string out(start);
    out +=
        "\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
        "To: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\n";
    out += extra;
    out += "\r\n";
    return out;
}

TEST(SipMessage, ParsesKamailioMessage) {
    SipMessage m = parse_ok(samples::kamailio_message());
    EXPECT_TRUE(m.is_request());
    EXPECT_EQ(m.method(), "MESSAGE");
    EXPECT_EQ(m.request_uri(), "sip:romeo@xmpp.example");
    EXPECT_EQ(m.from().uri, "sip:juliet@sip.example");
    EXPECT_EQ(m.from().display_name, "Juliet Capulet");
    EXPECT_EQ(m.from().tag, "8a7c4f2e");
    EXPECT_EQ(m.to().uri, "sip:romeo@xmpp.example");
    EXPECT_EQ(m.to().tag, "");
    EXPECT_EQ(m.call_id(), "ZTA4YjE2MjQ3NDRjYzQ2ZmY2ZGI2NzQ2Yjc3YWYxYzE.");
    EXPECT_EQ(m.cseq().number, 2u);
    EXPECT_EQ(m.cseq().method, "MESSAGE");
    const auto vias = m.vias();
    ASSERT_EQ(vias.size(), 2u);
    EXPECT_EQ(vias[0].transport, "UDP");
    EXPECT_EQ(vias[0].host, "192.0.2.10");
    EXPECT_FALSE(vias[0].port.has_value());
    EXPECT_EQ(vias[0].branch, "z9hG4bKd5f2.9c0ae8a4a8b0f3b2d2d0c2e9a3f5e6b1.0");
    EXPECT_EQ(vias[1].port, 5060);
    EXPECT_EQ(vias[1].received, "198.51.100.7");
    EXPECT_TRUE(vias[1].rport);
    EXPECT_EQ(vias[1].rport_value, 5060);
    EXPECT_EQ(m.top_via()->branch, vias[0].branch);
    EXPECT_EQ(m.max_forwards(), 69u);
    EXPECT_EQ(m.media_type(), "text/plain");
    EXPECT_NE(m.content_type().find("charset=UTF-8"), std::string::npos);
    EXPECT_EQ(m.body(), "Wherefore art thou? \xe2\x9d\xa4");
    EXPECT_EQ(m.header("user-agent"), "Linphone/5.2.0 (belle-sip/5.2.0)");
    EXPECT_FALSE(m.expires().has_value());
    EXPECT_FALSE(m.event().has_value());
}

TEST(SipMessage, ParsesSubscribe) {
    SipMessage m = parse_ok(samples::kamailio_subscribe());
    EXPECT_EQ(m.method(), "SUBSCRIBE");
    EXPECT_EQ(m.event(), "presence");  // parameters dropped
    EXPECT_EQ(m.expires(), 600u);
    EXPECT_EQ(m.to().display_name, "Romeo");
    const auto contacts = m.contacts();
    ASSERT_EQ(contacts.size(), 1u);
    EXPECT_EQ(contacts[0].uri, "sip:juliet@198.51.100.7:41522;transport=tcp");
    EXPECT_EQ(m.vias()[1].transport, "TCP");
    EXPECT_EQ(m.body(), "");
}

TEST(SipMessage, ParsesNotifyWithPidf) {
    SipMessage m = parse_ok(samples::kamailio_notify());
    EXPECT_EQ(m.method(), "NOTIFY");
    EXPECT_EQ(m.event(), "presence");
    const auto state = m.subscription_state();
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->state, "active");
    EXPECT_EQ(state->expires, 3598u);
    EXPECT_EQ(state->reason, "");
    EXPECT_EQ(m.media_type(), "application/pidf+xml");
    EXPECT_NE(m.body().find("<basic>open</basic>"), std::string::npos);
    EXPECT_EQ(m.to().tag, "2f9a1c");
    EXPECT_EQ(m.from().tag, "a6a1c5f60faecf035a1ae5b6e96e979a-d4a3");
    EXPECT_EQ(m.contacts().at(0).uri, "sip:192.0.2.10:5060");
}

TEST(SipMessage, ParsesPublish) {
    SipMessage m = parse_ok(samples::kamailio_publish());
    EXPECT_EQ(m.method(), "PUBLISH");
    EXPECT_EQ(m.expires(), 3600u);
    EXPECT_EQ(m.event(), "presence");
    EXPECT_TRUE(m.top_via()->rport);
    EXPECT_FALSE(m.top_via()->rport_value.has_value());
    EXPECT_NE(m.body().find("<basic>closed</basic>"), std::string::npos);
}

TEST(SipMessage, ParsesResponseWithMinExpires) {
    SipMessage m = parse_ok(samples::interval_too_brief());
    EXPECT_TRUE(m.is_response());
    EXPECT_EQ(m.status_code(), 423);
    EXPECT_EQ(m.reason_phrase(), "Interval Too Brief");
    EXPECT_EQ(m.method(), "");
    EXPECT_EQ(m.cseq().method, "SUBSCRIBE");
    EXPECT_EQ(m.min_expires(), 60u);
}

TEST(SipMessage, ParsesRetryAfterWithComment) {
    const std::string text =
        crlf({"SIP/2.0 503 Service Unavailable", "Via: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKx",
              "From: <sip:a@x>;tag=1", "To: <sip:b@y>;tag=2", "Call-ID: c", "CSeq: 1 MESSAGE",
              "Retry-After: 120 (maintenance);duration=3600", "Content-Length: 0"});
    EXPECT_EQ(parse_ok(text).retry_after(), 120u);
}

TEST(SipMessage, ParsesCompactForms) {
    SipMessage m = parse_ok(samples::compact_notify());
    EXPECT_EQ(m.from().tag, "f1");
    EXPECT_EQ(m.to().tag, "t1");
    EXPECT_EQ(m.call_id(), "compact-call-id");
    EXPECT_EQ(m.event(), "presence");
    EXPECT_EQ(m.contacts().at(0).uri, "sip:192.0.2.10");
    const auto state = m.subscription_state();
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->state, "terminated");
    EXPECT_EQ(state->reason, "timeout");
    EXPECT_EQ(state->retry_after, 30u);
    EXPECT_FALSE(state->expires.has_value());
}

TEST(SipMessage, KeepsBinaryBodyAndDiscardsBytesAfterContentLength) {
    std::string body("a\0b\r\n\r\nc", 8);
    SipMessage m =
        parse_ok(minimal("MESSAGE sip:b@y SIP/2.0",
                         "Content-Type: application/octet-stream\r\nContent-Length: 8\r\n") +
                 body + "TRAILING");
    EXPECT_EQ(m.body(), body);
}

TEST(SipMessage, DatagramWithoutContentLengthTakesTheRest) {
    SipMessage m =
        parse_ok(minimal("MESSAGE sip:b@y SIP/2.0", "Content-Type: text/plain\r\n") + "hi");
    EXPECT_EQ(m.body(), "hi");
}

TEST(SipMessage, IgnoresLeadingLineBreaks) {
    EXPECT_EQ(parse_ok("\r\n\r\n" + samples::kamailio_message()).method(), "MESSAGE");
}

TEST(SipMessage, RoundTripsThroughToString) {
    SipMessage m = parse_ok(samples::kamailio_notify());
    auto text = m.to_string();
    ASSERT_TRUE(text.has_value());
    SipMessage again = parse_ok(*text);
    EXPECT_EQ(again.method(), "NOTIFY");
    EXPECT_EQ(again.body(), m.body());
    EXPECT_EQ(again.call_id(), m.call_id());
    EXPECT_EQ(again.subscription_state()->expires, 3598u);
    EXPECT_NE(text->find("Content-Length: "), std::string::npos);
}

TEST(SipMessage, CloneIsIndependent) {
    SipMessage m = parse_ok(samples::kamailio_message());
    auto copy = m.clone();
    ASSERT_TRUE(copy.has_value());
    ASSERT_TRUE(copy->add_header("X-Test", "1").has_value());
    EXPECT_EQ(copy->header("x-test"), "1");
    EXPECT_FALSE(m.header("x-test").has_value());
    EXPECT_EQ(copy->body(), m.body());
}

TEST(SipMessage, SetBodyReplacesBodyAndType) {
    SipMessage m = parse_ok(samples::kamailio_message());
    ASSERT_TRUE(m.set_body("application/im-iscomposing+xml", "<x/>").has_value());
    EXPECT_EQ(m.body(), "<x/>");
    EXPECT_EQ(m.media_type(), "application/im-iscomposing+xml");
    ASSERT_TRUE(m.set_body("", "").has_value());
    EXPECT_EQ(m.body(), "");
    EXPECT_EQ(m.content_type(), "");
}

TEST(SipMessage, AddHeaderRefusesInjectionAndStructuralNames) {
    SipMessage m = parse_ok(samples::kamailio_message());
    EXPECT_EQ(m.add_header("Subject", "hi\r\nVia: evil").error().code,
              SipErrorCode::InvalidArgument);
    EXPECT_EQ(m.add_header("Bad Name", "x").error().code, SipErrorCode::InvalidArgument);
    EXPECT_EQ(m.add_header("Via", "SIP/2.0/UDP x").error().code, SipErrorCode::InvalidArgument);
    EXPECT_EQ(m.add_header("i", "x").error().code, SipErrorCode::InvalidArgument);
    EXPECT_TRUE(m.add_header("Subject", "fine").has_value());
}

// ---- refusals ----

TEST(SipMessageRefusal, EmptyAndLineBreaksOnly) {
    EXPECT_EQ(parse_error(""), SipErrorCode::Empty);
    EXPECT_EQ(parse_error("\r\n\r\n"), SipErrorCode::Empty);
}

TEST(SipMessageRefusal, TooLarge) {
    SipLimits limits;
    limits.max_message_bytes = 200;
    auto m = SipMessage::parse(samples::kamailio_message(), limits);
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code, SipErrorCode::TooLarge);
    EXPECT_NE(m.error().describe().find("200"), std::string::npos);
}

TEST(SipMessageRefusal, TooManyHeaderLines) {
    std::string extra;
    for (int i = 0; i < 20; ++i)
        extra += "X-H" + std::to_string(i) + ": v\r\n";
    SipLimits limits;
    limits.max_header_lines = 10;
    EXPECT_EQ(parse_error(minimal("MESSAGE sip:b@y SIP/2.0", extra), limits),
              SipErrorCode::TooManyHeaders);
}

TEST(SipMessageRefusal, IncompleteHeaders) {
    EXPECT_EQ(parse_error("MESSAGE sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"),
              SipErrorCode::IncompleteHeaders);
}

TEST(SipMessageRefusal, BadContentLength) {
    EXPECT_EQ(parse_error(minimal("MESSAGE sip:b@y SIP/2.0", "Content-Length: ten\r\n")),
              SipErrorCode::BadContentLength);
    EXPECT_EQ(parse_error(minimal("MESSAGE sip:b@y SIP/2.0", "Content-Length: -1\r\n")),
              SipErrorCode::BadContentLength);
    EXPECT_EQ(
        parse_error(minimal("MESSAGE sip:b@y SIP/2.0", "Content-Length: 2\r\nl: 3\r\n") + "abc"),
        SipErrorCode::BadContentLength);
}

TEST(SipMessageRefusal, TruncatedBody) {
    auto m = SipMessage::parse(
        minimal("MESSAGE sip:b@y SIP/2.0", "Content-Type: text/plain\r\nContent-Length: 10\r\n") +
        "short");
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code, SipErrorCode::TruncatedBody);
    EXPECT_EQ(m.error().describe(),
              "truncated-body: Content-Length is 10 but only 5 body bytes arrived");
}

TEST(SipMessageRefusal, BadCharacters) {
    EXPECT_EQ(parse_error(minimal("MESSAGE sip:b@y SIP/2.0", std::string("Subject: a\0b\r\n", 14))),
              SipErrorCode::BadCharacters);
    EXPECT_EQ(parse_error(minimal("MESSAGE sip:b@y SIP/2.0", "Subject: a\rVia: x\r\n")),
              SipErrorCode::BadCharacters);
}

TEST(SipMessageRefusal, Unparsable) {
    EXPECT_EQ(parse_error("garbage\r\n\r\n"), SipErrorCode::Unparsable);
    EXPECT_EQ(parse_error(minimal("MESSAGE  SIP/2.0")), SipErrorCode::Unparsable);
    EXPECT_EQ(parse_error("MESSAGE sip:b@y SIP/2.0\r\nFrom x\r\n\r\n"), SipErrorCode::Unparsable);
}

TEST(SipMessageRefusal, MissingHeaders) {
    const std::string all[] = {"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
                               "From: <sip:a@x>;tag=1", "To: <sip:b@y>", "Call-ID: c1",
                               "CSeq: 1 MESSAGE"};
    const std::string names[] = {"Via", "From", "To", "Call-ID", "CSeq"};
    for (int skip = 0; skip < 5; ++skip) {
        std::string text = "MESSAGE sip:b@y SIP/2.0\r\n";
        for (int i = 0; i < 5; ++i) {
            if (i != skip) text += all[i] + "\r\n";
        }
        text += "\r\n";
        auto m = SipMessage::parse(text);
        ASSERT_FALSE(m.has_value()) << names[skip];
        EXPECT_EQ(m.error().code, SipErrorCode::MissingHeader) << names[skip];
        EXPECT_EQ(m.error().text, "missing header: " + names[skip]);
    }
}

TEST(SipMessageRefusal, Inconsistent) {
    EXPECT_EQ(parse_error(minimal("SUBSCRIBE sip:b@y SIP/2.0")), SipErrorCode::Inconsistent);
    EXPECT_EQ(parse_error(minimal("MESSAGE sip:b@y SIP/3.0")), SipErrorCode::Inconsistent);
    EXPECT_EQ(parse_error(minimal("SIP/2.0 99999 Odd")), SipErrorCode::Inconsistent);
    EXPECT_EQ(parse_error(minimal("SIP/2.0 99 Odd")), SipErrorCode::Inconsistent);
    const std::string big_cseq =
        "MESSAGE sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
        "To: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 4294967295 MESSAGE\r\n\r\n";
    EXPECT_EQ(parse_error(big_cseq), SipErrorCode::Inconsistent);
}

TEST(SipError, DescribesEveryCode) {
    for (int c = 0; c <= static_cast<int>(SipErrorCode::Internal); ++c) {
        EXPECT_NE(describe(static_cast<SipErrorCode>(c)), "unknown");
    }
    EXPECT_EQ(equivalent_status(RequestFailure::Timeout), 408);
    EXPECT_EQ(equivalent_status(RequestFailure::TransportError), 503);
    EXPECT_EQ((RequestError{RequestFailure::Timeout, "x"}).describe(), "timeout: x");
}

}  // namespace
}  // namespace fedgw::gateway::sip
