// XML character escaping for text and attribute values (XML 1.0 §2.4, §3.3.3).
//
// Pure: string in, string out. Used by the stanza serializer and the error wire forms.
#pragma once

#include <string>
#include <string_view>

namespace fedgw {

// Escapes &, < and > (and > always, so "]]>" never appears in text).
void append_escaped_text(std::string& out, std::string_view text);
// Escapes &, <, >, ' and ", and the whitespace characters an attribute-value normaliser would
// fold (tab, CR, LF) as character references, so values round-trip exactly.
void append_escaped_attr(std::string& out, std::string_view value);

std::string escape_text(std::string_view text);
std::string escape_attr(std::string_view value);

}  // namespace fedgw
