// JID errors: the closed set of reasons an address is refused (RFC 7622 §3), the failure value
// that carries one with its detail, and the mapping to the stanza error every one of them
// becomes on the wire (RFC 6120 §8.3.3.8 jid-malformed).
//
// Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "common/base/stanza_error.hpp"

namespace fedgw {

enum class JidError {
    Empty,                // the whole address is empty
    EmptyLocalpart,       // '@' with nothing before it, or a localpart prepared to nothing
    EmptyDomain,          // no domainpart ("juliet@", "/foobar", ".")
    EmptyResource,        // '/' with nothing after it, or a resourcepart prepared to nothing
    LocalpartTooLong,     // localpart over 1023 bytes (RFC 7622 §3.3)
    DomainTooLong,        // domainpart over 1023 bytes (§3.2) or over DNS's 253 (RFC 5890)
    ResourceTooLong,      // resourcepart over 1023 bytes (§3.4)
    InvalidUtf8,          // a part is not well-formed UTF-8
    ForbiddenCharacter,   // a character the part may not contain (§3.3.1, stringprep tables)
    LocalpartPrepFailed,  // Nodeprep refused the localpart for another reason (e.g. bidi)
    ResourcePrepFailed,   // Resourceprep refused the resourcepart for another reason (e.g. bidi)
    BadIpLiteral,         // '[...]' that is not an IPv6 address, or a dotted quad out of range
    BadDomain,            // not a host name: empty label, non-LDH character, numeric top label
    IdnaFailed,           // libidn2 (IDNA2008, RFC 5891) refused the domainpart
};

// One line per value, e.g. "the localpart is longer than 1023 bytes".
std::string_view describe(JidError e);

// Every JID error is jid-malformed (RFC 6120 §8.3.3.8, type modify).
constexpr StanzaCondition stanza_condition(JidError) {
    return StanzaCondition::JidMalformed;
}

// A refused address: the reason and what exactly was wrong (a character, a library message).
struct JidFailure {
    JidError error = JidError::Empty;
    std::string detail;  // may be empty; never contains the whole input

    // One line for logs and <text/>: "forbidden character: U+0022 in the localpart".
    std::string describe() const;
};

// The stanza error to answer with: modify/jid-malformed carrying describe() as its text.
StanzaError to_stanza_error(const JidFailure& f);

}  // namespace fedgw
