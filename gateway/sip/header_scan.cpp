// Header scanner; see header_scan.hpp. RFC 3261 §7.3 (header syntax), §7.5 (leading CRLFs),
// §18.3 (Content-Length framing). Pure.
#include "gateway/sip/header_scan.hpp"

#include <cstdint>

namespace fedgw::gateway::sip::detail {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Digits only (after trimming), at most 9 of them: SIP messages are far below a gigabyte.
std::optional<std::size_t> parse_length(std::string_view v) {
    v = trim(v);
    if (v.empty() || v.size() > 9) return std::nullopt;
    std::size_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

SipError error(SipErrorCode code, std::string text) {
    return SipError{code, std::move(text)};
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

Result<HeaderScan, SipError> scan_headers(std::string_view bytes, std::size_t max_header_lines,
                                          std::string* stripped) {
    HeaderScan scan;
    std::size_t pos = 0;
    while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n'))
        ++pos;
    if (pos == bytes.size()) return Unexpected(error(SipErrorCode::Empty, "no message"));
    scan.start = pos;
    if (stripped != nullptr) stripped->clear();

    bool start_line = true;
    bool in_content_length = false;  // continuation lines of a Content-Length are dropped too
    while (true) {
        const std::size_t eol = bytes.find('\n', pos);
        if (eol == std::string_view::npos) {
            return Unexpected(error(SipErrorCode::IncompleteHeaders,
                                    "the header section does not end with an empty line"));
        }
        std::string_view line = bytes.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        for (char c : line) {
            if (c == '\0') {
                return Unexpected(error(SipErrorCode::BadCharacters, "NUL byte in the headers"));
            }
            if (c == '\r') {
                return Unexpected(
                    error(SipErrorCode::BadCharacters, "CR without LF in the headers"));
            }
        }
        pos = eol + 1;
        if (line.empty()) {
            scan.header_end = pos;
            if (stripped != nullptr) stripped->append("\r\n");
            return scan;
        }
        if (start_line) {
            start_line = false;
        } else {
            if (++scan.header_lines > max_header_lines) {
                return Unexpected(
                    error(SipErrorCode::TooManyHeaders,
                          "more than " + std::to_string(max_header_lines) + " header lines"));
            }
            if (line.front() == ' ' || line.front() == '\t') {
                if (in_content_length) continue;  // folded Content-Length: dropped with it
            } else {
                in_content_length = false;
                const std::size_t colon = line.find(':');
                if (colon != std::string_view::npos) {
                    const std::string_view name = trim(line.substr(0, colon));
                    if (iequals(name, "content-length") || iequals(name, "l")) {
                        const auto n = parse_length(line.substr(colon + 1));
                        if (!n) {
                            return Unexpected(
                                error(SipErrorCode::BadContentLength,
                                      "Content-Length \"" +
                                          std::string(trim(line.substr(colon + 1)).substr(0, 32)) +
                                          "\" is not a number"));
                        }
                        if (scan.content_length && *scan.content_length != *n) {
                            return Unexpected(error(SipErrorCode::BadContentLength,
                                                    "Content-Length given twice with different "
                                                    "values"));
                        }
                        scan.content_length = *n;
                        in_content_length = true;
                        continue;
                    }
                }
            }
        }
        if (stripped != nullptr) {
            stripped->append(line);
            stripped->append("\r\n");
        }
    }
}

}  // namespace fedgw::gateway::sip::detail
