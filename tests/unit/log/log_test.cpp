#include "common/log/log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fedgw::log {
namespace {

struct Capture {
    Capture() {
        set_sink([this](Level, std::string_view line) { lines.emplace_back(line); });
    }
    ~Capture() {
        set_sink({});
        set_level(Level::Info);
        set_log_bodies(false);
    }
    std::vector<std::string> lines;
};

TEST(Log, OneLineKeyValue) {
    Capture c;
    warn("s2s.refused", {{"domain", "evil.example"}, {"rule", "blocked"}, {"port", 5269}});
    ASSERT_EQ(c.lines.size(), 1u);
    EXPECT_EQ(c.lines[0], "level=warn event=s2s.refused domain=evil.example rule=blocked port=5269");
}

TEST(Log, QuotesAndEscapesValues) {
    Capture c;
    info("x", {{"reason", "two words"}, {"q", "say \"hi\""}, {"nl", "a\nb"}, {"empty", ""}});
    ASSERT_EQ(c.lines.size(), 1u);
    EXPECT_EQ(c.lines[0],
              "level=info event=x reason=\"two words\" q=\"say \\\"hi\\\"\" nl=\"a\\nb\" empty=\"\"");
}

TEST(Log, LevelsFilter) {
    Capture c;
    set_level(Level::Warn);
    debug("d");
    info("i");
    warn("w");
    error("e");
    ASSERT_EQ(c.lines.size(), 2u);
    EXPECT_EQ(c.lines[0], "level=warn event=w");
    EXPECT_EQ(c.lines[1], "level=error event=e");
}

TEST(Log, BodiesWithheldUnlessConfigured) {
    Capture c;
    EXPECT_EQ(body("secret text"), "[withheld: 11 bytes]");
    set_log_bodies(true);
    EXPECT_EQ(body("secret text"), "secret text");
}

TEST(Log, LevelNames) {
    EXPECT_EQ(level_from_name("debug"), Level::Debug);
    EXPECT_EQ(level_from_name("warning"), Level::Warn);
    EXPECT_FALSE(level_from_name("loud").has_value());
    EXPECT_EQ(level_name(Level::Error), "error");
}

TEST(Log, TimestampedLineStartsWithTs) {
    auto line = format_line(Level::Info, "e", {}, true);
    ASSERT_GE(line.size(), 28u);
    EXPECT_EQ(line.substr(0, 3), "ts=");
    EXPECT_EQ(line[26], 'Z');
}

}  // namespace
}  // namespace fedgw::log
