// Unit tests of fedgw-loadgen's measuring core (tools/loadgen/load_stats.hpp): sequence
// bookkeeping, answers, bounces by condition, duplicates, percentiles, and the report
// (range patterns, text and JSON). Pure: the timeline is made up.
#include "tools/loadgen/load_stats.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tools/loadgen/report.hpp"

namespace fedgw::loadgen {
namespace {

TEST(Percentile, NearestRank) {
    const std::vector<std::int64_t> v{10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    EXPECT_EQ(percentile_nearest_rank(v, 50), 50);
    EXPECT_EQ(percentile_nearest_rank(v, 95), 100);
    EXPECT_EQ(percentile_nearest_rank(v, 90), 90);
    EXPECT_EQ(percentile_nearest_rank(v, 10), 10);
    EXPECT_EQ(percentile_nearest_rank(v, 1), 10);
    EXPECT_EQ(percentile_nearest_rank(v, 100), 100);
    EXPECT_EQ(percentile_nearest_rank({7}, 99), 7);
}

TEST(Percentile, HundredSamples) {
    std::vector<std::int64_t> v;
    for (int i = 1; i <= 100; ++i)
        v.push_back(i);
    EXPECT_EQ(percentile_nearest_rank(v, 50), 50);
    EXPECT_EQ(percentile_nearest_rank(v, 95), 95);
    EXPECT_EQ(percentile_nearest_rank(v, 99), 99);
}

TEST(SequenceTag, RoundTrip) {
    EXPECT_EQ(sequence_tag(42), "lg-42");
    EXPECT_EQ(find_sequence("lg-42"), 42u);
    EXPECT_EQ(find_sequence("fedgw-loadgen lg-7 t=1700000000"), 7u);
    EXPECT_EQ(find_sequence("echo: fedgw-loadgen lg-123 t=1"), 123u);
}

TEST(SequenceTag, NoneOrMalformed) {
    EXPECT_EQ(find_sequence(""), std::nullopt);
    EXPECT_EQ(find_sequence("hello"), std::nullopt);
    EXPECT_EQ(find_sequence("lg-"), std::nullopt);
    EXPECT_EQ(find_sequence("lg-x lg-9"), 9u);  // the first well-formed one
    EXPECT_EQ(find_sequence("lg-99999999999999999999999"), std::nullopt);  // > 64 bits
}

TEST(LoadStats, SequencesAreDenseFromOne) {
    LoadStats s;
    EXPECT_EQ(s.on_sent(0), 1u);
    EXPECT_EQ(s.on_sent(5), 2u);
    EXPECT_EQ(s.on_sent(9), 3u);
    EXPECT_EQ(s.sent(), 3u);
    EXPECT_EQ(s.outstanding(), 3u);
}

TEST(LoadStats, AnswersGiveLatency) {
    LoadStats s;
    for (int i = 0; i < 4; ++i)
        s.on_sent(i * 1000);                              // sent at 0, 1, 2, 3 ms
    EXPECT_EQ(s.on_answer(1, 10'000), Outcome::Matched);  // 10 ms
    EXPECT_EQ(s.on_answer(2, 21'000), Outcome::Matched);  // 20 ms
    EXPECT_EQ(s.on_answer(4, 43'000), Outcome::Matched);  // 40 ms
    EXPECT_EQ(s.answered(), 3u);
    EXPECT_EQ(s.outstanding(), 1u);
    const LatencySummary l = s.latency();
    EXPECT_EQ(l.count, 3u);
    EXPECT_DOUBLE_EQ(l.p50_ms, 20.0);
    EXPECT_DOUBLE_EQ(l.p95_ms, 40.0);
    EXPECT_DOUBLE_EQ(l.p99_ms, 40.0);
    EXPECT_DOUBLE_EQ(l.max_ms, 40.0);
}

TEST(LoadStats, DuplicatesAndUnknownAreCountedApart) {
    LoadStats s;
    s.on_sent(0);
    s.on_sent(0);
    EXPECT_EQ(s.on_answer(1, 100), Outcome::Matched);
    EXPECT_EQ(s.on_answer(1, 200), Outcome::Duplicate);  // an echo bot answering twice
    EXPECT_EQ(s.on_error(1, "service-unavailable"), Outcome::Duplicate);
    EXPECT_EQ(s.on_answer(3, 100), Outcome::Unknown);  // never sent
    EXPECT_EQ(s.on_answer(0, 100), Outcome::Unknown);  // sequences start at 1
    s.on_untagged();
    const Summary sum = s.summary(1'000'000);
    EXPECT_EQ(sum.answered, 1u);
    EXPECT_EQ(sum.errors, 0u);
    EXPECT_EQ(sum.duplicates, 2u);
    EXPECT_EQ(sum.unknown, 3u);
    EXPECT_EQ(sum.unanswered, 1u);
    EXPECT_EQ(sum.latency.count, 1u);  // the duplicate adds no sample
}

TEST(LoadStats, BouncesByCondition) {
    LoadStats s;
    for (int i = 0; i < 5; ++i)
        s.on_sent(0);
    EXPECT_EQ(s.on_error(1, "service-unavailable"), Outcome::Matched);
    EXPECT_EQ(s.on_error(2, "service-unavailable"), Outcome::Matched);
    EXPECT_EQ(s.on_error(3, "item-not-found"), Outcome::Matched);
    EXPECT_EQ(s.on_error(4, ""), Outcome::Matched);
    EXPECT_EQ(s.on_answer(2, 5), Outcome::Duplicate);  // an answer after its bounce
    const Summary sum = s.summary(2'000'000);
    EXPECT_EQ(sum.errors, 4u);
    EXPECT_EQ(sum.unanswered, 1u);
    EXPECT_EQ(sum.errors_by_condition.at("service-unavailable"), 2u);
    EXPECT_EQ(sum.errors_by_condition.at("item-not-found"), 1u);
    EXPECT_EQ(sum.errors_by_condition.at("(no condition)"), 1u);
    EXPECT_EQ(sum.latency.count, 0u);
}

TEST(LoadStats, RatesOverElapsed) {
    LoadStats s;
    for (int i = 0; i < 10; ++i)
        s.on_answer(s.on_sent(0), 1000);
    const Summary sum = s.summary(2'000'000);
    EXPECT_DOUBLE_EQ(sum.elapsed_s, 2.0);
    EXPECT_DOUBLE_EQ(sum.sent_per_s, 5.0);
    EXPECT_DOUBLE_EQ(sum.answered_per_s, 5.0);
    const Summary none = LoadStats().summary(0);
    EXPECT_DOUBLE_EQ(none.sent_per_s, 0.0);  // no division by zero
}

TEST(LoadStats, MaxMessagesBoundsSending) {
    LoadStats s(2);
    s.on_sent(0);
    EXPECT_TRUE(s.can_send());
    s.on_sent(0);
    EXPECT_FALSE(s.can_send());
}

TEST(ExpandRange, Ranges) {
    auto r = expand_range("load{1..3}@partner.test");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (std::vector<std::string>{"load1@partner.test", "load2@partner.test",
                                            "load3@partner.test"}));
    auto plain = expand_range("bob@sip.test");
    ASSERT_TRUE(plain);
    EXPECT_EQ(*plain, std::vector<std::string>{"bob@sip.test"});
    auto one = expand_range("u{5..5}");
    ASSERT_TRUE(one);
    EXPECT_EQ(*one, std::vector<std::string>{"u5"});
}

TEST(ExpandRange, Errors) {
    EXPECT_EQ(expand_range("u{1..3").error(), PatternError::Unbalanced);
    EXPECT_EQ(expand_range("u}1..3{").error(), PatternError::Unbalanced);
    EXPECT_EQ(expand_range("u{3..1}").error(), PatternError::BadRange);
    EXPECT_EQ(expand_range("u{a..b}").error(), PatternError::BadRange);
    EXPECT_EQ(expand_range("u{1-3}").error(), PatternError::BadRange);
    EXPECT_EQ(expand_range("u{1..2}{1..2}").error(), PatternError::TwoRanges);
    EXPECT_EQ(expand_range("u{1..1000}", 100).error(), PatternError::TooMany);
    EXPECT_TRUE(expand_range("u{1..100}", 100));
}

TEST(Report, TextAndJson) {
    LoadStats s;
    for (int i = 0; i < 3; ++i)
        s.on_sent(0);
    s.on_answer(1, 2000);
    s.on_error(2, "remote-server-timeout");
    Summary sum = s.summary(1'000'000);
    sum.accounts = 2;
    sum.logged_in = 2;
    const std::string text = render_text(sum);
    EXPECT_NE(text.find("sent:             3"), std::string::npos) << text;
    EXPECT_NE(text.find("remote-server-timeout"), std::string::npos) << text;
    EXPECT_NE(text.find("p50 2.00 ms"), std::string::npos) << text;
    const auto j = nlohmann::json::parse(render_json(sum));
    EXPECT_EQ(j["sent"], 3);
    EXPECT_EQ(j["answered"], 1);
    EXPECT_EQ(j["errors"], 1);
    EXPECT_EQ(j["unanswered"], 1);
    EXPECT_EQ(j["errors_by_condition"]["remote-server-timeout"], 1);
    EXPECT_DOUBLE_EQ(j["latency_ms"]["p99"].get<double>(), 2.0);
    EXPECT_EQ(j["logged_in"], 2);
}

}  // namespace
}  // namespace fedgw::loadgen
