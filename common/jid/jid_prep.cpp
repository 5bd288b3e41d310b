// Preparation of the localpart, domainpart and resourcepart (RFC 7622 §3.2–§3.4) with
// libidn2 (IDNA2008) and libidn's stringprep (RFC 6122 Nodeprep/Resourceprep); see the header
// for the deviation from PRECIS and the checks added to come closer to it.
//
// Pure: no I/O.
#include "common/jid/jid_prep.hpp"

#include <idn-free.h>
#include <idn2.h>
#include <stringprep.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

namespace fedgw {
namespace {

using CodePoints = std::vector<std::uint32_t>;

enum class Part { Local, Resource };

std::string_view part_name(Part p) {
    return p == Part::Local ? "localpart" : "resourcepart";
}

JidFailure fail(JidError e, std::string detail = {}) {
    return JidFailure{e, std::move(detail)};
}

std::string code_point_name(std::uint32_t cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
    return buf;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool decode_utf8(std::string_view s, CodePoints& out) {
    out.clear();
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t len = 0;
        std::uint32_t min = 0;
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        } else if ((b0 & 0xE0) == 0xC0) {
            cp = b0 & 0x1F;
            len = 2;
            min = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            cp = b0 & 0x0F;
            len = 3;
            min = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            cp = b0 & 0x07;
            len = 4;
            min = 0x10000;
        } else {
            return false;
        }
        if (s.size() - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        out.push_back(cp);
        i += len;
    }
    return true;
}

std::string encode_utf8(const std::uint32_t* cps, std::size_t n) {
    std::string out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t cp = cps[i];
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    return out;
}

// Decodes a part, refusing malformed UTF-8 and NUL (the C libraries stop at NUL).
Result<CodePoints, JidFailure> decode_part(std::string_view raw, std::string_view what) {
    CodePoints cps;
    if (!decode_utf8(raw, cps))
        return Unexpected(fail(JidError::InvalidUtf8, "in the " + std::string(what)));
    for (auto cp : cps)
        if (cp == 0)
            return Unexpected(
                fail(JidError::ForbiddenCharacter, "U+0000 in the " + std::string(what)));
    return cps;
}

// RFC 7622 §3.3.1: characters a localpart may never contain.
bool is_localpart_forbidden_ascii(std::uint32_t cp) {
    switch (cp) {
        case '"':
        case '&':
        case '\'':
        case '/':
        case ':':
        case '<':
        case '>':
        case '@':
        case ' ':
            return true;
        default:
            return false;
    }
}

// Full-width and half-width forms: PRECIS width-maps these before checking, so they are not
// refused as compatibility characters (RFC 8265 §3.3.2 step 1).
bool is_width_form(std::uint32_t cp) {
    return cp >= 0xFF01 && cp <= 0xFFEE;
}

// Blocks that hold only symbols and punctuation (PRECIS IdentifierClass disallows both).
bool is_in_symbol_block(std::uint32_t cp) {
    return (cp >= 0x2000 && cp <= 0x206F)        // General Punctuation
           || (cp >= 0x20A0 && cp <= 0x20CF)     // Currency Symbols
           || (cp >= 0x2190 && cp <= 0x2BFF)     // Arrows … Misc Symbols and Arrows
           || (cp >= 0x1F000 && cp <= 0x1FAFF);  // Mahjong … Symbols and Pictographs Ext-A
}

// HasCompat (RFC 8264 §9.17): NFKC changes the code point on its own.
bool nfkc_changes(std::uint32_t cp) {
    // NUL would become an empty C string and surrogates are not scalar values; neither ever
    // reaches here from decode_part, but the cache below fills whole pages.
    if (cp == 0) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return true;
    std::unique_ptr<std::uint32_t, void (*)(void*)> n(stringprep_ucs4_nfkc_normalize(&cp, 1),
                                                      idn_free);
    if (!n) return true;  // out of memory: refuse rather than guess
    return n.get()[0] != cp || n.get()[1] != 0;
}

// One NFKC call per code point costs about a microsecond; a hostile peer can send thousands
// per address. The Basic Multilingual Plane is therefore cached, 256 code points at a time,
// filled on first use (thread-safe). Other planes are rare in localparts and asked directly.
struct CompatPage {
    std::once_flag once;
    std::bitset<256> compat;
};

bool has_compat(std::uint32_t cp) {
    if (cp < 0x80) return false;
    if (cp > 0xFFFF) return nfkc_changes(cp);
    static std::array<CompatPage, 256> pages;
    CompatPage& page = pages[cp >> 8];
    std::call_once(page.once, [&page, base = cp & ~0xFFu] {
        for (std::uint32_t i = 0; i < 256; ++i)
            page.compat[i] = nfkc_changes(base + i);
    });
    return page.compat[cp & 0xFF];
}

// The extra localpart checks, run on the input and again on the prepared form so that a
// prepared localpart always passes them (preparation is then idempotent).
Result<void, JidFailure> check_localpart_code_points(const CodePoints& cps, bool allow_width) {
    for (auto cp : cps) {
        if (is_localpart_forbidden_ascii(cp))
            return Unexpected(fail(JidError::ForbiddenCharacter,
                                   code_point_name(cp) + " in the localpart (RFC 7622 §3.3.1)"));
        if (is_in_symbol_block(cp))
            return Unexpected(fail(JidError::ForbiddenCharacter,
                                   code_point_name(cp) + " is a symbol or punctuation"));
        if (!(allow_width && is_width_form(cp)) && has_compat(cp))
            return Unexpected(fail(JidError::ForbiddenCharacter,
                                   code_point_name(cp) + " is a compatibility character"));
    }
    return {};
}

// Runs a stringprep profile over the code points, in place. Unassigned code points are allowed
// (flags 0), as Prosody allows them.
Result<void, JidFailure> run_stringprep(CodePoints& cps, Part part) {
    const Stringprep_profile* profile =
        part == Part::Local ? stringprep_xmpp_nodeprep : stringprep_xmpp_resourceprep;
    const JidError too_long =
        part == Part::Local ? JidError::LocalpartTooLong : JidError::ResourceTooLong;
    const JidError failed =
        part == Part::Local ? JidError::LocalpartPrepFailed : JidError::ResourcePrepFailed;
    // Mapping (table B.2) yields at most 4 code points per input code point; anything that
    // still does not fit after NFKC has more than kMaxJidPartBytes code points.
    std::size_t len = cps.size();
    cps.resize(std::max(4 * len + 16, kMaxJidPartBytes + 16));
    const int rc =
        stringprep_4i(cps.data(), &len, cps.size(), Stringprep_profile_flags(0), profile);
    if (rc != STRINGPREP_OK) {
        const std::string why = stringprep_strerror(static_cast<Stringprep_rc>(rc));
        switch (rc) {
            case STRINGPREP_TOO_SMALL_BUFFER:
                return Unexpected(fail(too_long, "more than 1023 bytes after preparation"));
            case STRINGPREP_CONTAINS_PROHIBITED:
            case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
                return Unexpected(fail(JidError::ForbiddenCharacter,
                                       "the " + std::string(part_name(part)) +
                                           " contains a code point stringprep prohibits"));
            default:
                return Unexpected(fail(failed, why));
        }
    }
    cps.resize(len);
    return {};
}

Result<std::string, JidFailure> prepare_part(std::string_view raw, Part part) {
    const bool local = part == Part::Local;
    const std::string what(part_name(part));
    if (raw.empty())
        return Unexpected(fail(local ? JidError::EmptyLocalpart : JidError::EmptyResource));
    const JidError too_long = local ? JidError::LocalpartTooLong : JidError::ResourceTooLong;
    if (raw.size() > kMaxRawPartBytes)
        return Unexpected(fail(too_long, std::to_string(raw.size()) + " bytes before preparation"));
    auto cps = decode_part(raw, what);
    if (!cps) return Unexpected(std::move(cps).error());
    if (local) {
        if (auto ok = check_localpart_code_points(*cps, true); !ok)
            return Unexpected(std::move(ok.error()));
    }
    if (auto ok = run_stringprep(*cps, part); !ok) return Unexpected(std::move(ok.error()));
    std::string out = encode_utf8(cps->data(), cps->size());
    if (out.empty())
        return Unexpected(fail(local ? JidError::EmptyLocalpart : JidError::EmptyResource,
                               "nothing left after preparation"));
    if (out.size() > kMaxJidPartBytes)
        return Unexpected(
            fail(too_long, std::to_string(out.size()) + " bytes after preparation, limit 1023"));
    for (auto cp : *cps) {  // defence in depth: the C library must hand back scalar values
        if (cp == 0) return Unexpected(fail(JidError::ForbiddenCharacter, "U+0000 in the " + what));
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return Unexpected(
                fail(local ? JidError::LocalpartPrepFailed : JidError::ResourcePrepFailed,
                     "stringprep produced " + code_point_name(cp)));
    }
    if (local) {
        if (auto ok = check_localpart_code_points(*cps, false); !ok)
            return Unexpected(std::move(ok.error()));
    }
    return out;
}

// ---- domainpart ------------------------------------------------------------------------

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 IPv4address: four dec-octets, no leading zeros.
bool is_ipv4(std::string_view s) {
    int octets = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t j = i;
        while (j < s.size() && is_digit(s[j]))
            ++j;
        const std::size_t len = j - i;
        if (len == 0 || len > 3 || (len > 1 && s[i] == '0')) return false;
        int v = 0;
        for (std::size_t k = i; k < j; ++k)
            v = v * 10 + (s[k] - '0');
        if (v > 255) return false;
        ++octets;
        if (j == s.size()) return octets == 4;
        if (s[j] != '.' || octets == 4) return false;
        i = j + 1;
    }
}

// RFC 4291 §2.2 text forms (as RFC 3986 IPv6address): at most one "::", groups of 1-4 hex
// digits, an optional dotted quad in the last 32 bits.
bool is_ipv6(std::string_view s) {
    if (s.size() < 2) return false;
    int groups = 0;
    bool compressed = false;
    std::size_t i = 0;
    if (s[0] == ':') {
        if (s[1] != ':') return false;
        compressed = true;
        i = 2;
        if (i == s.size()) return true;  // "::"
    }
    while (true) {
        std::size_t j = i;
        while (j < s.size() && is_hex(s[j]))
            ++j;
        if (j < s.size() && s[j] == '.') {  // embedded IPv4 ends the address
            if (!is_ipv4(s.substr(i))) return false;
            groups += 2;
            break;
        }
        const std::size_t len = j - i;
        if (len == 0 || len > 4) return false;
        ++groups;
        if (groups > 8) return false;
        if (j == s.size()) break;
        if (s[j] != ':') return false;
        ++j;
        if (j == s.size()) return false;  // a single trailing ':'
        if (s[j] == ':') {
            if (compressed) return false;
            compressed = true;
            ++j;
            if (j == s.size()) break;
        }
        i = j;
    }
    return compressed ? groups <= 7 : groups == 8;
}

bool is_digits_and_dots(std::string_view s) {
    for (char c : s)
        if (!is_digit(c) && c != '.') return false;
    return true;
}

// After IDNA: LDH labels, none empty, the top one not all digits.
Result<void, JidFailure> check_host_name(std::string_view ascii) {
    std::size_t start = 0;
    while (true) {
        std::size_t dot = ascii.find('.', start);
        std::string_view label = ascii.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty()) return Unexpected(fail(JidError::BadDomain, "empty label"));
        for (char c : label) {
            if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-') continue;
            return Unexpected(
                fail(JidError::BadDomain, code_point_name(static_cast<unsigned char>(c)) +
                                              " is not a letter, digit or hyphen"));
        }
        if (dot == std::string_view::npos) {
            if (is_digits_and_dots(label))
                return Unexpected(fail(JidError::BadDomain, "the top-level label is all digits"));
            return {};
        }
        start = dot + 1;
    }
}

using Idn2Ptr = std::unique_ptr<char, void (*)(void*)>;

constexpr int kIdn2Flags = IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL;

Result<std::string, JidFailure> idn2_lookup(const std::string& s) {
    uint8_t* out = nullptr;
    const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(s.c_str()), &out, kIdn2Flags);
    Idn2Ptr owner(reinterpret_cast<char*>(out), idn2_free);
    if (rc == IDN2_TOO_BIG_DOMAIN)
        return Unexpected(fail(JidError::DomainTooLong, idn2_strerror(rc)));
    if (rc != IDN2_OK || !out) return Unexpected(fail(JidError::IdnaFailed, idn2_strerror(rc)));
    return std::string(owner.get());
}

}  // namespace

Result<PreparedDomain, JidFailure> prepare_domain_forms(std::string_view raw) {
    if (raw.empty()) return Unexpected(fail(JidError::EmptyDomain));
    if (raw.size() > kMaxRawPartBytes)
        return Unexpected(fail(JidError::DomainTooLong, std::to_string(raw.size()) + " bytes"));
    if (raw.front() == '[') {
        if (raw.size() < 3 || raw.back() != ']' || !is_ipv6(raw.substr(1, raw.size() - 2)))
            return Unexpected(fail(JidError::BadIpLiteral, "not an IPv6 address in brackets"));
        std::string lit(raw);
        for (char& c : lit)
            if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        return PreparedDomain{lit, lit, true};
    }
    std::string_view s = raw;
    if (s.back() == '.') s.remove_suffix(1);  // RFC 7622 §3.2: one final dot is stripped
    if (s.empty()) return Unexpected(fail(JidError::EmptyDomain, "only a dot"));
    if (s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos)
        return Unexpected(fail(JidError::BadDomain, "empty label"));
    if (is_digits_and_dots(s)) {
        if (!is_ipv4(s))
            return Unexpected(fail(JidError::BadIpLiteral, "all digits but not an IPv4 address"));
        return PreparedDomain{std::string(s), std::string(s), true};
    }
    auto cps = decode_part(s, "domainpart");
    if (!cps) return Unexpected(std::move(cps).error());

    const std::string input(s);
    auto ascii = idn2_lookup(input);
    if (!ascii) return Unexpected(std::move(ascii).error());
    if (is_ipv4(*ascii)) return PreparedDomain{*ascii, *ascii, true};  // from full-width digits
    if (auto ok = check_host_name(*ascii); !ok) return Unexpected(std::move(ok.error()));

    char* u = nullptr;
    const int rc = idn2_to_unicode_8z8z(ascii->c_str(), &u, 0);
    Idn2Ptr owner(u, idn2_free);
    if (rc != IDN2_OK || !u) return Unexpected(fail(JidError::IdnaFailed, idn2_strerror(rc)));
    std::string unicode(u);
    if (ascii->find("xn--") != std::string::npos) {
        // RFC 5891 §5.4: the U-label must convert back to the same A-label.
        auto again = idn2_lookup(unicode);
        if (!again || *again != *ascii)
            return Unexpected(fail(JidError::BadDomain, "an A-label does not round-trip"));
    }
    if (unicode.size() > kMaxJidPartBytes)
        return Unexpected(
            fail(JidError::DomainTooLong, std::to_string(unicode.size()) + " bytes, limit 1023"));
    return PreparedDomain{std::move(unicode), std::move(*ascii), false};
}

Result<std::string, JidFailure> prepare_domain(std::string_view raw) {
    auto d = prepare_domain_forms(raw);
    if (!d) return Unexpected(std::move(d).error());
    return std::move(d->unicode);
}

Result<std::string, JidFailure> prepare_domain_ascii(std::string_view raw) {
    auto d = prepare_domain_forms(raw);
    if (!d) return Unexpected(std::move(d).error());
    return std::move(d->ascii);
}

Result<std::string, JidFailure> prepare_localpart(std::string_view raw) {
    return prepare_part(raw, Part::Local);
}

Result<std::string, JidFailure> prepare_resourcepart(std::string_view raw) {
    return prepare_part(raw, Part::Resource);
}

}  // namespace fedgw
