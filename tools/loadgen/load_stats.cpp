// LoadStats: sequence and latency bookkeeping of fedgw-loadgen. Pure (see load_stats.hpp).
#include "tools/loadgen/load_stats.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace fedgw::loadgen {

const char* describe(Outcome o) {
    switch (o) {
        case Outcome::Matched:
            return "matched a message sent";
        case Outcome::Duplicate:
            return "a second answer for one message";
        case Outcome::Unknown:
            return "matched no message sent";
    }
    return "?";
}

std::int64_t percentile_nearest_rank(const std::vector<std::int64_t>& sorted, double q) {
    assert(!sorted.empty() && q > 0 && q <= 100);
    const auto n = static_cast<double>(sorted.size());
    auto rank = static_cast<std::size_t>(std::ceil(q / 100.0 * n));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

std::string sequence_tag(std::uint64_t seq) {
    return "lg-" + std::to_string(seq);
}

std::optional<std::uint64_t> find_sequence(std::string_view text) {
    for (std::size_t at = text.find("lg-"); at != std::string_view::npos;
         at = text.find("lg-", at + 1)) {
        std::size_t i = at + 3;
        std::uint64_t value = 0;
        bool any = false, overflow = false;
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
            const auto digit = static_cast<std::uint64_t>(text[i] - '0');
            if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) overflow = true;
            value = value * 10 + digit;
            any = true;
        }
        if (any && !overflow) return value;
    }
    return std::nullopt;
}

LoadStats::LoadStats(std::size_t max_messages) : max_messages_(max_messages) {}

std::uint64_t LoadStats::on_sent(std::int64_t now_us) {
    assert(can_send());
    sent_times_us_.push_back(now_us);
    states_.push_back(State::Sent);
    return sent_times_us_.size();
}

Outcome LoadStats::settle(std::uint64_t seq, State to) {
    if (seq == 0 || seq > sent_times_us_.size()) {
        ++unknown_;
        return Outcome::Unknown;
    }
    State& s = states_[seq - 1];
    if (s != State::Sent) {
        ++duplicates_;
        return Outcome::Duplicate;
    }
    s = to;
    return Outcome::Matched;
}

Outcome LoadStats::on_answer(std::uint64_t seq, std::int64_t now_us) {
    const Outcome o = settle(seq, State::Answered);
    if (o == Outcome::Matched) {
        ++answered_;
        // A clock that went backwards (it should not: monotonic) counts as 0, not negative.
        latencies_us_.push_back(std::max<std::int64_t>(0, now_us - sent_times_us_[seq - 1]));
    }
    return o;
}

Outcome LoadStats::on_error(std::uint64_t seq, std::string_view condition) {
    const Outcome o = settle(seq, State::Bounced);
    if (o == Outcome::Matched) {
        ++errors_;
        ++errors_by_condition_[condition.empty() ? std::string("(no condition)")
                                                 : std::string(condition)];
    }
    return o;
}

LatencySummary LoadStats::latency() const {
    LatencySummary out;
    out.count = latencies_us_.size();
    if (latencies_us_.empty()) return out;
    std::vector<std::int64_t> sorted = latencies_us_;
    std::sort(sorted.begin(), sorted.end());
    auto ms = [](std::int64_t us) { return static_cast<double>(us) / 1000.0; };
    out.p50_ms = ms(percentile_nearest_rank(sorted, 50));
    out.p95_ms = ms(percentile_nearest_rank(sorted, 95));
    out.p99_ms = ms(percentile_nearest_rank(sorted, 99));
    out.max_ms = ms(sorted.back());
    return out;
}

Summary LoadStats::summary(std::int64_t elapsed_us) const {
    Summary s;
    s.sent = sent();
    s.answered = answered_;
    s.errors = errors_;
    s.unanswered = outstanding();
    s.duplicates = duplicates_;
    s.unknown = unknown_;
    s.errors_by_condition = errors_by_condition_;
    s.elapsed_s = static_cast<double>(std::max<std::int64_t>(0, elapsed_us)) / 1e6;
    if (s.elapsed_s > 0) {
        s.sent_per_s = static_cast<double>(s.sent) / s.elapsed_s;
        s.answered_per_s = static_cast<double>(s.answered) / s.elapsed_s;
    }
    s.latency = latency();
    return s;
}

}  // namespace fedgw::loadgen
