// Durations as the configuration writes them; see duration.hpp. Pure.
#include "common/config/duration.hpp"

#include <array>

namespace fedgw {
namespace {

struct Unit {
    std::string_view name;
    std::int64_t ms;
};

// Largest first: the order a duration must be written in.
constexpr std::array<Unit, 4> kUnits{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}}};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

Result<Duration, std::string> parse_duration(std::string_view text) {
    const std::string prefix = "invalid duration \"" + std::string(text) + "\": ";
    const std::string example = "like \"500ms\", \"30s\" or \"1h30m\"";
    if (text.empty()) return Unexpected(prefix + "empty; write a number and a unit, " + example);
    if (text.front() == '-') return Unexpected(prefix + "must not be negative");

    std::int64_t total = 0;
    std::size_t next_unit = 0;  // index in kUnits of the largest unit still allowed
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t digits_at = i;
        while (i < text.size() && is_digit(text[i]))
            ++i;
        const std::string_view digits = text.substr(digits_at, i - digits_at);
        if (digits.empty()) {
            return Unexpected(prefix + "expected a number followed by a unit (ms, s, m or h), " +
                              example);
        }
        if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
            return Unexpected(prefix + "fractions are not supported; combine units instead, " +
                              "like \"1s500ms\"");
        }
        const std::size_t unit_at = i;
        while (i < text.size() && is_letter(text[i]))
            ++i;
        const std::string_view unit = text.substr(unit_at, i - unit_at);
        if (unit.empty()) {
            if (i == text.size()) {
                return Unexpected(prefix + "missing unit; add ms, s, m or h, like \"" +
                                  std::string(digits) + "s\"");
            }
            return Unexpected(prefix + "expected a number followed by a unit (ms, s, m or h), " +
                              example);
        }
        std::size_t u = 0;
        while (u < kUnits.size() && kUnits[u].name != unit)
            ++u;
        if (u == kUnits.size()) {
            return Unexpected(prefix + "unknown unit \"" + std::string(unit) +
                              "\"; use ms, s, m or h");
        }
        if (u < next_unit) {
            return Unexpected(prefix + "units must go from largest to smallest, each at most " +
                              "once, like \"1h30m\"");
        }
        next_unit = u + 1;
        // Bound the number before multiplying so no input can overflow.
        const std::int64_t limit = kMaxDuration.ms / kUnits[u].ms;
        std::int64_t n = 0;
        for (char c : digits) {
            n = n * 10 + (c - '0');
            if (n > limit) break;
        }
        if (n > limit || total + n * kUnits[u].ms > kMaxDuration.ms) {
            return Unexpected(prefix + "too large (at most " + format_duration(kMaxDuration) + ")");
        }
        total += n * kUnits[u].ms;
    }
    return Duration{total};
}

std::string format_duration(Duration d) {
    if (d.ms == 0) return "0s";
    std::string out;
    // Negative values never come out of parse_duration; they are printed for diagnostics only.
    if (d.ms < 0) out = "-";
    std::uint64_t left =
        d.ms < 0 ? 0 - static_cast<std::uint64_t>(d.ms) : static_cast<std::uint64_t>(d.ms);
    for (const Unit& u : kUnits) {
        const auto unit_ms = static_cast<std::uint64_t>(u.ms);
        if (left >= unit_ms) {
            out += std::to_string(left / unit_ms);
            out += u.name;
            left %= unit_ms;
        }
    }
    return out;
}

}  // namespace fedgw
