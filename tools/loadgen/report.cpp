// fedgw-loadgen: range patterns and the summary's text and JSON forms. Pure (see report.hpp).
#include "tools/loadgen/report.hpp"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

namespace fedgw::loadgen {

const char* describe(PatternError e) {
    switch (e) {
        case PatternError::Unbalanced:
            return "a '{' without its '}' (or the reverse)";
        case PatternError::BadRange:
            return "a range must read {A..B} with numbers A <= B";
        case PatternError::TooMany:
            return "the range gives too many names";
        case PatternError::TwoRanges:
            return "only one {A..B} range per pattern";
    }
    return "?";
}

namespace {

bool parse_number(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<std::vector<std::string>, PatternError> expand_range(std::string_view pattern,
                                                            std::size_t limit) {
    const auto open = pattern.find('{');
    const auto close = pattern.find('}');
    if (open == std::string_view::npos && close == std::string_view::npos) {
        return std::vector<std::string>{std::string(pattern)};
    }
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return Unexpected(PatternError::Unbalanced);
    }
    const std::string_view rest = pattern.substr(close + 1);
    if (rest.find_first_of("{}") != std::string_view::npos) {
        return Unexpected(PatternError::TwoRanges);
    }
    const std::string_view inner = pattern.substr(open + 1, close - open - 1);
    const auto dots = inner.find("..");
    std::uint64_t first = 0, last = 0;
    if (dots == std::string_view::npos || !parse_number(inner.substr(0, dots), first) ||
        !parse_number(inner.substr(dots + 2), last) || first > last) {
        return Unexpected(PatternError::BadRange);
    }
    if (last - first >= limit) return Unexpected(PatternError::TooMany);
    std::vector<std::string> out;
    out.reserve(last - first + 1);
    const std::string_view head = pattern.substr(0, open);
    for (std::uint64_t n = first; n <= last; ++n) {
        out.push_back(fmt::format("{}{}{}", head, n, rest));
    }
    return out;
}

std::string render_text(const Summary& s) {
    std::string out;
    auto line = [&out](std::string_view key, const std::string& value) {
        out += fmt::format("{:<18}{}\n", fmt::format("{}:", key), value);
    };
    line("accounts", fmt::format("{} logged in of {}", s.logged_in, s.accounts));
    line("sent", std::to_string(s.sent));
    line("answered", std::to_string(s.answered));
    line("errors", std::to_string(s.errors));
    for (const auto& [condition, n] : s.errors_by_condition) {
        out += fmt::format("  {:<24}{}\n", condition, n);
    }
    line("unanswered", std::to_string(s.unanswered));
    if (s.duplicates != 0) line("duplicates", std::to_string(s.duplicates));
    if (s.unknown != 0) line("unknown", std::to_string(s.unknown));
    line("elapsed", fmt::format("{:.3f} s", s.elapsed_s));
    line("sent/s", fmt::format("{:.1f}", s.sent_per_s));
    line("answered/s", fmt::format("{:.1f}", s.answered_per_s));
    if (s.latency.count == 0) {
        line("latency", "(no answers)");
    } else {
        line("latency",
             fmt::format("p50 {:.2f} ms  p95 {:.2f} ms  p99 {:.2f} ms  max {:.2f} ms",
                         s.latency.p50_ms, s.latency.p95_ms, s.latency.p99_ms, s.latency.max_ms));
    }
    return out;
}

std::string render_json(const Summary& s) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [condition, n] : s.errors_by_condition)
        errors[condition] = n;
    const nlohmann::json j = {
        {"accounts", s.accounts},
        {"logged_in", s.logged_in},
        {"sent", s.sent},
        {"answered", s.answered},
        {"errors", s.errors},
        {"errors_by_condition", errors},
        {"unanswered", s.unanswered},
        {"duplicates", s.duplicates},
        {"unknown", s.unknown},
        {"elapsed_s", s.elapsed_s},
        {"sent_per_s", s.sent_per_s},
        {"answered_per_s", s.answered_per_s},
        {"latency_ms",
         {{"count", s.latency.count},
          {"p50", s.latency.p50_ms},
          {"p95", s.latency.p95_ms},
          {"p99", s.latency.p99_ms},
          {"max", s.latency.max_ms}}},
    };
    return j.dump(2) + "\n";
}

}  // namespace fedgw::loadgen
