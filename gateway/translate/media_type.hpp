// MIME media types as they appear in SIP Content-Type and CPIM Content-type headers
// (RFC 3261 §20.15, §25.1 media-type; RFC 2045 §5.1), plus the UTF-8 and XML character checks
// the message translators share.
//
// Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fedgw::gateway {

struct MediaType {
    std::string type;                                         // lower case: "text"
    std::string subtype;                                      // lower case: "plain"
    std::vector<std::pair<std::string, std::string>> params;  // names lower case, values unquoted

    // "text/plain"
    std::string essence() const { return type + "/" + subtype; }
    bool is(std::string_view t, std::string_view s) const { return type == t && subtype == s; }
    // The value of a parameter (name compared case-insensitively), if present.
    std::optional<std::string_view> param(std::string_view name) const;
};

// Parses `type "/" subtype *( ";" name "=" ( token / quoted-string ) )` with optional
// whitespace around the separators. nullopt for anything else.
std::optional<MediaType> parse_media_type(std::string_view value);

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Every character may appear in XML 1.0 character data (§2.2 Char): no C0 controls other
// than tab, LF and CR, no U+FFFE/U+FFFF. Precondition: is_valid_utf8(s).
bool is_xml_text(std::string_view s);

// ASCII case-insensitive equality.
bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace fedgw::gateway
