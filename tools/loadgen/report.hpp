// fedgw-loadgen's inputs and outputs that need no socket: the `{A..B}` range patterns of
// --jid and --to, and the summary as text or JSON.
//
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "tools/loadgen/load_stats.hpp"

namespace fedgw::loadgen {

enum class PatternError {
    Unbalanced,  // a '{' without '}' or the reverse
    BadRange,    // not {A..B} with decimal A <= B
    TooMany,     // more names than the limit
    TwoRanges,   // more than one {A..B} in one pattern
};
const char* describe(PatternError e);

// "load{1..3}@partner.test" -> load1@, load2@, load3@partner.test; text without braces is
// itself. At most `limit` names.
Result<std::vector<std::string>, PatternError> expand_range(std::string_view pattern,
                                                            std::size_t limit = 100'000);

// The summary for people: one "key: value" per line, errors by condition indented.
std::string render_text(const Summary& s);
// The same as one JSON object (keys as in Summary; latency in ms under "latency_ms").
std::string render_json(const Summary& s);

}  // namespace fedgw::loadgen
