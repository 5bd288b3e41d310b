// Media types, UTF-8 and XML character checks (RFC 2045 §5.1, RFC 3261 §25.1, RFC 3629,
// XML 1.0 §2.2).
//
// Pure.
#include "gateway/translate/media_type.hpp"

#include <cstdint>

namespace fedgw::gateway {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = lower(c);
    return out;
}

// RFC 3261 §25.1 token characters.
bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-':
        case '.':
        case '!':
        case '%':
        case '*':
        case '_':
        case '+':
        case '`':
        case '\'':
        case '~':
            return true;
        default:
            return false;
    }
}

bool is_ws(char c) {
    return c == ' ' || c == '\t';
}

void skip_ws(std::string_view& s) {
    while (!s.empty() && is_ws(s.front()))
        s.remove_prefix(1);
}

std::string_view take_token(std::string_view& s) {
    std::size_t n = 0;
    while (n < s.size() && is_token_char(s[n]))
        ++n;
    std::string_view t = s.substr(0, n);
    s.remove_prefix(n);
    return t;
}

}  // namespace

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::optional<std::string_view> MediaType::param(std::string_view name) const {
    for (const auto& [n, v] : params)
        if (iequals_ascii(n, name)) return std::string_view(v);
    return std::nullopt;
}

std::optional<MediaType> parse_media_type(std::string_view s) {
    MediaType m;
    skip_ws(s);
    const std::string_view type = take_token(s);
    if (type.empty() || s.empty() || s.front() != '/') return std::nullopt;
    s.remove_prefix(1);
    const std::string_view subtype = take_token(s);
    if (subtype.empty()) return std::nullopt;
    m.type = lower(type);
    m.subtype = lower(subtype);
    skip_ws(s);
    while (!s.empty()) {
        if (s.front() != ';') return std::nullopt;
        s.remove_prefix(1);
        skip_ws(s);
        const std::string_view name = take_token(s);
        if (name.empty()) return std::nullopt;
        skip_ws(s);
        if (s.empty() || s.front() != '=') return std::nullopt;
        s.remove_prefix(1);
        skip_ws(s);
        std::string value;
        if (!s.empty() && s.front() == '"') {
            s.remove_prefix(1);
            bool closed = false;
            while (!s.empty()) {
                const char c = s.front();
                s.remove_prefix(1);
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\') {
                    if (s.empty()) return std::nullopt;
                    value += s.front();
                    s.remove_prefix(1);
                } else {
                    value += c;
                }
            }
            if (!closed) return std::nullopt;
        } else {
            const std::string_view v = take_token(s);
            if (v.empty()) return std::nullopt;
            value = std::string(v);
        }
        m.params.emplace_back(lower(name), std::move(value));
        skip_ws(s);
    }
    return m;
}

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            len = 2;
            cp = b0 & 0x1F;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            cp = b0 & 0x0F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            cp = b0 & 0x07;
        } else {
            return false;
        }
        if (i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        i += len;
    }
    return true;
}

bool is_xml_text(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') return false;
        // U+FFFE and U+FFFF are EF BF BE / EF BF BF.
        if (b == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
            (static_cast<unsigned char>(s[i + 2]) == 0xBE ||
             static_cast<unsigned char>(s[i + 2]) == 0xBF))
            return false;
    }
    return true;
}

}  // namespace fedgw::gateway
