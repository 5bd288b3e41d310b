// Durations as the configuration writes them: every accepted form and every refusal, with the
// exact message an operator sees.
#include <gtest/gtest.h>

#include <string>

#include "common/config/duration.hpp"

namespace fedgw {
namespace {

std::int64_t ms(std::string_view text) {
    auto d = parse_duration(text);
    EXPECT_TRUE(d.has_value()) << text << ": " << (d ? "" : d.error());
    return d ? d->ms : -1;
}

std::string error_of(std::string_view text) {
    auto d = parse_duration(text);
    EXPECT_FALSE(d.has_value()) << text;
    return d ? std::string() : d.error();
}

TEST(Duration, SingleUnits) {
    EXPECT_EQ(ms("0s"), 0);
    EXPECT_EQ(ms("0ms"), 0);
    EXPECT_EQ(ms("250ms"), 250);
    EXPECT_EQ(ms("30s"), 30'000);
    EXPECT_EQ(ms("5m"), 300'000);
    EXPECT_EQ(ms("8h"), 28'800'000);
    EXPECT_EQ(ms("007s"), 7'000);
}

TEST(Duration, CombinedUnitsLargestFirst) {
    EXPECT_EQ(ms("1h30m"), 5'400'000);
    EXPECT_EQ(ms("1m30s500ms"), 90'500);
    EXPECT_EQ(ms("2h0m1s"), 7'201'000);
    EXPECT_EQ(ms("1h1ms"), 3'600'001);
}

TEST(Duration, LargestAccepted) {
    EXPECT_EQ(ms("10000h"), kMaxDuration.ms);
    EXPECT_EQ(ms("9999h60m"), kMaxDuration.ms);
}

TEST(Duration, BareNumberIsRefused) {
    EXPECT_EQ(error_of("30"),
              "invalid duration \"30\": missing unit; add ms, s, m or h, like \"30s\"");
    EXPECT_EQ(error_of("1m30"),
              "invalid duration \"1m30\": missing unit; add ms, s, m or h, like \"30s\"");
}

TEST(Duration, NegativeIsRefused) {
    EXPECT_EQ(error_of("-5s"), "invalid duration \"-5s\": must not be negative");
}

TEST(Duration, EmptyIsRefused) {
    EXPECT_EQ(error_of(""),
              "invalid duration \"\": empty; write a number and a unit, like \"500ms\", \"30s\" "
              "or \"1h30m\"");
}

TEST(Duration, FractionIsRefused) {
    EXPECT_EQ(error_of("1.5s"),
              "invalid duration \"1.5s\": fractions are not supported; combine units instead, "
              "like \"1s500ms\"");
    EXPECT_EQ(error_of("1,5s"),
              "invalid duration \"1,5s\": fractions are not supported; combine units instead, "
              "like \"1s500ms\"");
}

TEST(Duration, UnknownUnitIsRefused) {
    EXPECT_EQ(error_of("30sec"),
              "invalid duration \"30sec\": unknown unit \"sec\"; use ms, s, m or h");
    EXPECT_EQ(error_of("2d"), "invalid duration \"2d\": unknown unit \"d\"; use ms, s, m or h");
    EXPECT_EQ(error_of("30S"), "invalid duration \"30S\": unknown unit \"S\"; use ms, s, m or h");
}

TEST(Duration, UnitsOutOfOrderOrRepeatedAreRefused) {
    const std::string order =
        "units must go from largest to smallest, each at most once, like "
        "\"1h30m\"";
    EXPECT_EQ(error_of("30s5m"), "invalid duration \"30s5m\": " + order);
    EXPECT_EQ(error_of("5m5m"), "invalid duration \"5m5m\": " + order);
    EXPECT_EQ(error_of("500ms1s"), "invalid duration \"500ms1s\": " + order);
}

TEST(Duration, OtherCharactersAreRefused) {
    const std::string expected =
        "expected a number followed by a unit (ms, s, m or h), like "
        "\"500ms\", \"30s\" or \"1h30m\"";
    EXPECT_EQ(error_of("30 s"), "invalid duration \"30 s\": " + expected);
    EXPECT_EQ(error_of(" 30s"), "invalid duration \" 30s\": " + expected);
    EXPECT_EQ(error_of("s"), "invalid duration \"s\": " + expected);
    EXPECT_EQ(error_of("+5s"), "invalid duration \"+5s\": " + expected);
    EXPECT_EQ(error_of("1h 30m"), "invalid duration \"1h 30m\": " + expected);
}

TEST(Duration, TooLargeIsRefusedWithoutOverflow) {
    EXPECT_EQ(error_of("10001h"), "invalid duration \"10001h\": too large (at most 10000h)");
    EXPECT_EQ(error_of("10000h1ms"), "invalid duration \"10000h1ms\": too large (at most 10000h)");
    EXPECT_EQ(error_of("99999999999999999999999999ms"),
              "invalid duration \"99999999999999999999999999ms\": too large (at most 10000h)");
}

TEST(Duration, FormatIsShortestReadableForm) {
    EXPECT_EQ(format_duration(Duration{}), "0s");
    EXPECT_EQ(format_duration(Duration::millis(500)), "500ms");
    EXPECT_EQ(format_duration(Duration::seconds(30)), "30s");
    EXPECT_EQ(format_duration(Duration::minutes(90)), "1h30m");
    EXPECT_EQ(format_duration(Duration::millis(1250)), "1s250ms");
    EXPECT_EQ(format_duration(Duration::millis(-1500)), "-1s500ms");
}

TEST(Duration, FormatReadsBack) {
    for (std::int64_t v : {0L, 1L, 999L, 1000L, 61'001L, 3'600'000L, 3'723'004L, kMaxDuration.ms}) {
        auto back = parse_duration(format_duration(Duration{v}));
        ASSERT_TRUE(back.has_value()) << v;
        EXPECT_EQ(back->ms, v);
    }
}

}  // namespace
}  // namespace fedgw
