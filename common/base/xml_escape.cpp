#include "common/base/xml_escape.hpp"

namespace fedgw {

void append_escaped_text(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\r': out += "&#13;"; break;  // a raw CR would be normalised away by the reader
            default: out += c;
        }
    }
}

void append_escaped_attr(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\'': out += "&apos;"; break;
            case '"': out += "&quot;"; break;
            case '\t': out += "&#9;"; break;
            case '\n': out += "&#10;"; break;
            case '\r': out += "&#13;"; break;
            default: out += c;
        }
    }
}

std::string escape_text(std::string_view text) {
    std::string s;
    s.reserve(text.size());
    append_escaped_text(s, text);
    return s;
}

std::string escape_attr(std::string_view value) {
    std::string s;
    s.reserve(value.size());
    append_escaped_attr(s, value);
    return s;
}

}  // namespace fedgw
