// message/cpim (RFC 3862 §2, §3; its example message reused) and RFC 3339 date-times.
#include "gateway/translate/cpim.hpp"

#include <gtest/gtest.h>

namespace fedgw::gateway {
namespace {

// Modelled on the RFC 3862 example message (headers, empty line, MIME part).
constexpr std::string_view kExample =
    "From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
    "To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
    "DateTime: 2000-12-13T13:40:00-08:00\r\n"
    "Subject: the weather will be fine today\r\n"
    "Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n"
    "NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"
    "Require: MyFeatures.VitalMessageOption\r\n"
    "MyFeatures.VitalMessageOption: Confirmation-requested\r\n"
    "MyFeatures.WackyMessageOption: Use-silly-font\r\n"
    "\r\n"
    "Content-type: text/xml; charset=utf-8\r\n"
    "Content-ID: <1234567890@foo.com>\r\n"
    "\r\n"
    "<body>\r\n"
    "Here is the text of my message.\r\n"
    "</body>\r\n";

TEST(Cpim, Rfc3862Example) {
    auto m = parse_cpim(kExample);
    ASSERT_TRUE(m) << m.error().describe();
    EXPECT_EQ(m->headers.size(), 9u);
    EXPECT_EQ(m->from_uri(), "im:piglet@100akerwood.com");
    EXPECT_EQ(m->to_uri(), "im:eeyore@100akerwood.com");
    EXPECT_EQ(m->header("datetime")->value, "2000-12-13T13:40:00-08:00");
    EXPECT_EQ(m->subject(), "the weather will be fine today");
    EXPECT_EQ(m->headers[4].params, ";lang=fr");
    EXPECT_EQ(m->headers[4].value, "beau temps prevu pour aujourd'hui");
    EXPECT_EQ(m->header("MyFeatures.WackyMessageOption")->value, "Use-silly-font");
    EXPECT_EQ(m->content_type, "text/xml; charset=utf-8");
    EXPECT_EQ(m->content_header("content-id")->value, "<1234567890@foo.com>");
    EXPECT_EQ(m->body, "<body>\r\nHere is the text of my message.\r\n</body>\r\n");
}

TEST(Cpim, SubjectLanguage) {
    auto m = parse_cpim("Subject:;lang=fr Bonjour\r\n\r\nContent-Type: text/plain\r\n\r\nx");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->subject(), "Bonjour");
    EXPECT_EQ(m->subject_lang(), "fr");
}

// COMPAT: bare LF line ends are read too.
TEST(Cpim, BareLineFeeds) {
    auto m = parse_cpim("From: <sip:a@b>\n\nContent-Type: text/plain\n\nhello\n");
    ASSERT_TRUE(m) << m.error().describe();
    EXPECT_EQ(m->from_uri(), "sip:a@b");
    EXPECT_EQ(m->body, "hello\n");
}

TEST(Cpim, NoMessageHeadersIsFine) {
    auto m = parse_cpim("\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nhi");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->headers.empty());
    EXPECT_EQ(m->body, "hi");
}

TEST(Cpim, Refusals) {
    EXPECT_EQ(parse_cpim("From: x").error().error, CpimError::NoHeaderEnd);
    EXPECT_EQ(parse_cpim("From: x\r\n\r\nContent-Type: text/plain\r\n").error().error,
              CpimError::NoHeaderEnd);
    EXPECT_EQ(parse_cpim("no colon here\r\n\r\n").error().error, CpimError::BadHeaderLine);
    EXPECT_EQ(parse_cpim("From: x\r\n folded\r\n\r\n").error().error, CpimError::BadHeaderLine);
    EXPECT_EQ(parse_cpim("Bad Name: x\r\n\r\n").error().error, CpimError::BadHeaderLine);
    EXPECT_EQ(parse_cpim("From: \xC0\xAF\r\n\r\n").error().error, CpimError::InvalidUtf8);
    EXPECT_EQ(parse_cpim("From: x\r\n\r\nContent-ID: <1>\r\n\r\nbody").error().error,
              CpimError::MissingContentType);
}

TEST(Cpim, Limits) {
    std::string many;
    for (int i = 0; i < 70; ++i)
        many += "X-H: v\r\n";
    many += "\r\nContent-Type: text/plain\r\n\r\n";
    EXPECT_EQ(parse_cpim(many).error().error, CpimError::TooManyHeaders);
    const std::string long_line = "Subject: " + std::string(5000, 'a') + "\r\n\r\n";
    EXPECT_EQ(parse_cpim(long_line).error().error, CpimError::LineTooLong);
    EXPECT_EQ(parse_cpim("Subject: " + std::string(5000, 'a')).error().error,
              CpimError::LineTooLong);
}

// RFC 3339 §5.6 date-time; XEP-0082 / XEP-0203 UTC stamp.
TEST(DateTime, ToUtc) {
    EXPECT_EQ(datetime_to_utc("2000-12-13T13:40:00-08:00").value_or(""), "2000-12-13T21:40:00Z");
    EXPECT_EQ(datetime_to_utc("2000-12-13T13:40:00Z").value_or(""), "2000-12-13T13:40:00Z");
    EXPECT_EQ(datetime_to_utc("2000-12-31T23:30:00-01:00").value_or(""), "2001-01-01T00:30:00Z");
    EXPECT_EQ(datetime_to_utc("2024-03-01T00:10:00+01:00").value_or(""), "2024-02-29T23:10:00Z");
    EXPECT_EQ(datetime_to_utc("1985-04-12T23:20:50.52Z").value_or(""), "1985-04-12T23:20:50.52Z");
    EXPECT_EQ(datetime_to_utc("1970-01-01T00:00:00+00:30").value_or(""), "1969-12-31T23:30:00Z");
}

TEST(DateTime, Invalid) {
    for (std::string_view s :
         {"", "2000-12-13", "2000-12-13T13:40:00", "2000-13-01T00:00:00Z", "2001-02-29T00:00:00Z",
          "2000-12-13T24:00:00Z", "2000-12-13T13:40:00+0800", "2000-12-13T13:40:00Zjunk",
          "2000-12-13T13:40:00.Z"})
        EXPECT_FALSE(datetime_to_utc(s)) << s;
}

}  // namespace
}  // namespace fedgw::gateway
