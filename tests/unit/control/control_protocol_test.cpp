// Unit tests of the control socket's pure protocol (common/control/control_protocol): the
// bounded request line, request parsing with its error texts, reply lines and reply parsing.
#include "common/control/control_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace fedgw::control {
namespace {

TEST(LineReader, CompletesAtTheFirstNewline) {
    LineReader r;
    EXPECT_EQ(r.feed("{\"cmd\":"), LineReader::Status::NeedMore);
    EXPECT_EQ(r.feed("\"status\"}\nrest ignored"), LineReader::Status::Complete);
    EXPECT_EQ(r.line(), "{\"cmd\":\"status\"}");
    EXPECT_EQ(r.feed("more\n"), LineReader::Status::Complete);
    EXPECT_EQ(r.line(), "{\"cmd\":\"status\"}");
}

TEST(LineReader, LimitCountsTheNewline) {
    LineReader exact(8);
    EXPECT_EQ(exact.feed("1234567\n"), LineReader::Status::Complete);
    LineReader over(8);
    EXPECT_EQ(over.feed("12345678\n"), LineReader::Status::TooLong);
    LineReader pieces(8);
    EXPECT_EQ(pieces.feed("1234"), LineReader::Status::NeedMore);
    EXPECT_EQ(pieces.feed("5678"), LineReader::Status::NeedMore);
    EXPECT_EQ(pieces.feed("9"), LineReader::Status::TooLong);
    EXPECT_EQ(pieces.feed("\n"), LineReader::Status::TooLong) << "stays refused";
}

TEST(LineReader, DefaultLimitIs4096) {
    LineReader r;
    EXPECT_EQ(r.feed(std::string(4095, ' ')), LineReader::Status::NeedMore);
    EXPECT_EQ(r.feed("\n"), LineReader::Status::Complete);
    LineReader big;
    EXPECT_EQ(big.feed(std::string(4097, ' ')), LineReader::Status::TooLong);
}

TEST(ParseRequest, Status) {
    auto r = parse_request(R"({"cmd":"status"})");
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(r->cmd, "status");
    EXPECT_EQ(r->body["cmd"], "status");
}

TEST(ParseRequest, KeepsArgumentsAndToleratesCarriageReturn) {
    auto r = parse_request("{\"cmd\":\"streams\",\"partner\":\"p.org\"}\r");
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(r->cmd, "streams");
    EXPECT_EQ(r->body["partner"], "p.org");
}

TEST(ParseRequest, RefusesWhatIsNotARequest) {
    struct Case {
        const char* line;
        const char* error;
    } cases[] = {
        {"", "empty request"},
        {"status", "not valid JSON"},
        {"{\"cmd\":\"status\"", "not valid JSON"},
        {"[\"status\"]", "must be a JSON object"},
        {"\"status\"", "must be a JSON object"},
        {"{}", "has no \"cmd\""},
        {"{\"command\":\"status\"}", "has no \"cmd\""},
        {"{\"cmd\":1}", "must be a string"},
        {"{\"cmd\":null}", "must be a string"},
        {"{\"cmd\":\"\"}", "is empty"},
        {"{\"cmd\":\"status\"} trailing", "not valid JSON"},
    };
    for (const auto& c : cases) {
        auto r = parse_request(c.line);
        ASSERT_FALSE(r.has_value()) << c.line;
        EXPECT_NE(r.error().find(c.error), std::string::npos) << c.line << " -> " << r.error();
    }
}

TEST(Replies, AreOneLineOfCompactJson) {
    EXPECT_EQ(reply_line(nlohmann::json{{"a", 1}}), "{\"a\":1}\n");
    EXPECT_EQ(request_line("status"), "{\"cmd\":\"status\"}\n");
    EXPECT_EQ(request_line("x\"y\n"), "{\"cmd\":\"x\\\"y\\n\"}\n");
    EXPECT_EQ(reply_line(unknown_command("x")), "{\"error\":\"unknown command \\\"x\\\"\"}\n");
    EXPECT_EQ(error_reply("bad")["error"], "bad");
}

TEST(Replies, InvalidUtf8IsReplacedNotThrown) {
    nlohmann::json j{{"domain", std::string("ab\xff\xfe")}};
    std::string line;
    ASSERT_NO_THROW(line = reply_line(j));
    EXPECT_NE(line.find("\xEF\xBF\xBD"), std::string::npos) << line;
}

TEST(Replies, UnknownCommandEchoIsShortened) {
    std::string cmd(500, 'x');
    auto j = unknown_command(cmd);
    EXPECT_LT(j["error"].get<std::string>().size(), 100u);
}

TEST(ParseReply, ObjectErrorAndGarbage) {
    auto ok = parse_reply("{\"service\":\"fedgw-proxy\"}\n");
    ASSERT_TRUE(ok.has_value()) << ok.error().text;
    EXPECT_EQ((*ok)["service"], "fedgw-proxy");

    auto no_newline = parse_reply("{\"a\":1}");
    EXPECT_TRUE(no_newline.has_value());

    auto err = parse_reply("{\"error\":\"unknown command \\\"x\\\"\"}\n");
    ASSERT_FALSE(err.has_value());
    EXPECT_EQ(err.error().kind, ControlErrorKind::ServerError);
    EXPECT_EQ(err.error().text, "unknown command \"x\"");

    for (const char* bad : {"", "\n", "not json\n", "[1,2]\n", "42\n"}) {
        auto r = parse_reply(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().kind, ControlErrorKind::BadReply) << bad;
    }
}

TEST(ControlErrorKind, EveryKindIsDescribed) {
    for (auto k :
         {ControlErrorKind::Other, ControlErrorKind::NoSocket, ControlErrorKind::PermissionDenied,
          ControlErrorKind::ConnectionRefused, ControlErrorKind::Timeout,
          ControlErrorKind::BadReply, ControlErrorKind::ServerError, ControlErrorKind::InUse})
        EXPECT_FALSE(describe(k).empty());
    EXPECT_EQ(ControlError{"why"}.describe(), "why");
}

}  // namespace
}  // namespace fedgw::control
