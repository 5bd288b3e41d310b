// Durations as the configuration writes them: "500ms", "30s", "5m", "8h", "1h30m".
//
// Pure: no I/O and no <chrono> (pure cores take milliseconds as plain integers; the loop-bound
// code converts at the edge). A duration is a whole number of milliseconds, zero or more.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.hpp"

namespace fedgw {

struct Duration {
    std::int64_t ms = 0;

    static constexpr Duration millis(std::int64_t n) { return Duration{n}; }
    static constexpr Duration seconds(std::int64_t n) { return Duration{n * 1000}; }
    static constexpr Duration minutes(std::int64_t n) { return Duration{n * 60'000}; }
    static constexpr Duration hours(std::int64_t n) { return Duration{n * 3'600'000}; }

    friend constexpr auto operator<=>(const Duration&, const Duration&) = default;
};

// The largest duration parse_duration accepts. Far above any timer we have, and far enough
// below INT64_MAX that code may multiply a timer (SIP's 64*T1) without overflow.
inline constexpr Duration kMaxDuration = Duration::hours(10'000);

// One or more <digits><unit> parts, units ms, s, m, h from largest to smallest, each at most
// once: "250ms", "30s", "1h30m", "1m30s500ms". No sign, no spaces, no fractions, no bare
// number (a bare "30" could mean seconds or milliseconds, so it is refused).
Result<Duration, std::string> parse_duration(std::string_view text);

// The shortest text parse_duration reads back as d: "0s", "500ms", "1h30m", "1s250ms".
std::string format_duration(Duration d);

}  // namespace fedgw
