// Header scanner shared by the message parser and the stream framer: finds where the header
// section of a SIP message ends, reads Content-Length (and its compact form "l", RFC 3261
// §7.3.3, §20.14), counts header lines and refuses characters that parsers disagree on (NUL,
// and CR not followed by LF), so libosip2 only ever sees a header block we have vetted.
//
// Internal to gateway/sip. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "gateway/sip/sip_error.hpp"

namespace fedgw::gateway::sip::detail {

struct HeaderScan {
    std::size_t start = 0;       // offset of the start line (leading CRLFs skipped, §7.5)
    std::size_t header_end = 0;  // offset just past the empty line that ends the headers
    std::optional<std::size_t> content_length;  // absent when the message has none
    std::size_t header_lines = 0;               // lines after the start line, folded ones too
};

// Scans `bytes` from the start. Errors: Empty (nothing but line breaks), IncompleteHeaders
// (no empty line yet: a stream framer waits for more), TooManyHeaders, BadCharacters,
// BadContentLength. When `stripped` is given it receives the start line and the header lines
// without Content-Length, each ending in CRLF, followed by the closing CRLF.
Result<HeaderScan, SipError> scan_headers(std::string_view bytes, std::size_t max_header_lines,
                                          std::string* stripped = nullptr);

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

// Strips spaces and tabs from both ends.
std::string_view trim(std::string_view s);

}  // namespace fedgw::gateway::sip::detail
