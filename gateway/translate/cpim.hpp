// message/cpim (RFC 3862) unwrapping: the CPIM message headers (§3: From, To, cc, DateTime,
// Subject, NS, Require, and NS-prefixed extension headers), then the encapsulated MIME object
// (§2: its content headers, an empty line, its body).
//
// Pure: bytes in, a value out. Defensive: bounded header count and line length, UTF-8
// required in the headers (§3.1), no header folding (§3.1: a header is one line), CRLF line
// ends as the RFC requires and bare LF tolerated (COMPAT: some clients write LF). Nested
// message/cpim and non-identity transfer encodings are left to the caller to refuse: the
// inner Content-Type is returned as written.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"

namespace fedgw::gateway {

struct CpimLimits {
    std::size_t max_headers = 64;       // message headers plus content headers
    std::size_t max_line_bytes = 4096;  // one header line
};

enum class CpimError {
    NoHeaderEnd,         // the message headers or the content headers do not end with an empty line
    BadHeaderLine,       // a line that is not `Name: value` (or is folded)
    TooManyHeaders,      // more than CpimLimits::max_headers
    LineTooLong,         // a header line over CpimLimits::max_line_bytes
    InvalidUtf8,         // a header is not well-formed UTF-8 (§3.1)
    MissingContentType,  // the encapsulated object has no Content-Type (§2)
};

std::string_view describe(CpimError e);

struct CpimFailure {
    CpimError error = CpimError::BadHeaderLine;
    std::string detail;
    std::string describe() const;
};

struct CpimHeader {
    std::string name;    // as written ("From", "MyFeatures.WackyMessageOption")
    std::string params;  // header parameters before the value, e.g. ";lang=fr" (§3.2), or ""
    std::string value;
};

struct CpimMessage {
    std::vector<CpimHeader> headers;          // the message headers, in order
    std::vector<CpimHeader> content_headers;  // the encapsulated object's MIME headers
    std::string content_type;                 // its Content-Type value, as written
    std::string body;                         // its body, byte for byte

    // The first message header with this name (case-insensitive), if any.
    const CpimHeader* header(std::string_view name) const;
    // The URI inside <...> of From or To ("im:piglet@100akerwood.com"), or "".
    std::string from_uri() const;
    std::string to_uri() const;
    // Subject value and its ;lang= parameter (empty when absent).
    std::string subject() const;
    std::string subject_lang() const;
    // The content header with this name (case-insensitive), if any.
    const CpimHeader* content_header(std::string_view name) const;
};

Result<CpimMessage, CpimFailure> parse_cpim(std::string_view body, const CpimLimits& limits = {});

// An RFC 3339 date-time ("2000-12-13T13:40:00-08:00", the CPIM DateTime form, §4.6) converted
// to UTC in the XEP-0082 form XEP-0203 <delay stamp='...'/> requires ("2000-12-13T21:40:00Z",
// fractional seconds kept). nullopt for anything that is not a valid date-time.
std::optional<std::string> datetime_to_utc(std::string_view rfc3339);

}  // namespace fedgw::gateway
