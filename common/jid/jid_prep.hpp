// Preparation and enforcement of the three parts of an XMPP address (RFC 7622 §3.2–§3.4).
//
// Pure: no I/O. libidn2 and libidn's stringprep are table-driven string functions.
//
// Domainpart (§3.2):
//   - "[...]" is an IPv6 literal (RFC 3986 IP-literal without IPvFuture or zone): validated, hex
//     digits lowercased, otherwise kept as sent. A dotted quad is an IPv4 literal (RFC 3986
//     dec-octets, no leading zeros), kept as sent.
//   - One trailing '.' is stripped (§3.2). An empty label, or a label made only of digits in
//     the top position, is refused (a host name is not a number).
//   - Anything else goes through IDNA2008 with libidn2: idn2_lookup_u8 with NFC input and
//     UTS #46 non-transitional mapping (which lowercases and maps full-width forms, as RFC
//     5895 suggests) gives the A-label form; idn2_to_unicode_8z8z gives back the U-label form.
//     An A-label must round-trip (RFC 5891 §5.4). The result must be LDH: COMPAT: libidn2
//     2.3.3 with IDN2_USE_STD3_ASCII_RULES silently deletes '_', '@', '/' and spaces instead of
//     refusing them, so that flag is not used and the A-label form is checked here instead.
//   - The Unicode form is the one a JID carries; the A-label form is for DNS and certificates.
//
// Localpart (§3.3) and resourcepart (§3.4) — DEVIATION FROM RFC 7622:
//   RFC 7622 prepares these with PRECIS (RFC 8264/8265: UsernameCaseMapped for the localpart,
//   OpaqueString for the resourcepart). Debian 12 ships no PRECIS library, so fedgw uses the
//   RFC 6122 stringprep profiles Nodeprep and Resourceprep from libidn (Unicode 3.2 tables),
//   which is what Prosody does with libidn. Unassigned code points are allowed, as Prosody
//   does by default, so that current emoji in resourceparts keep working. Known differences
//   from PRECIS, all in the direction of folding more:
//     - Nodeprep case-folds with NFKC: "fußball" becomes "fussball", final sigma 'ς' becomes
//       'σ'; PRECIS keeps both distinct.
//     - Resourceprep applies NFKC: "Ⅳ" becomes "IV"; PRECIS OpaqueString keeps it.
//     - Both delete the characters of RFC 3454 table B.1 (soft hyphen, zero-width joiners,
//       variation selectors); PRECIS refuses default-ignorable code points.
//   Cheap checks added on top, so that localparts come closer to PRECIS IdentifierClass:
//     - the characters RFC 7622 §3.3.1 forbids: " & ' / : < > @ and space;
//     - compatibility characters (HasCompat, RFC 8264 §9.17: NFKC(cp) != cp) are refused,
//       except the full-width and half-width forms U+FF01–U+FFEE, which PRECIS width-maps and
//       so accepts ("ｊｕｌｉｅｔ" is "juliet"); "henryⅣ" is refused as RFC 7622 §3.5 asks;
//     - code points in blocks made only of symbols and punctuation are refused (General
//       Punctuation, Currency Symbols, U+2190–U+2BFF arrows/math/technical/box drawing/
//       geometric/misc symbols/dingbats/braille, and U+1F000–U+1FAFF pictographs and emoji):
//       "♚@example.com" is refused as RFC 7622 §3.5 asks. This approximates IdentifierClass,
//       which would need the Unicode category tables.
//   Length limits (1..1023 bytes) apply after preparation (§3.1). Before preparation a part
//   may be at most kMaxRawPartBytes: normalisation costs grow with the input, and no honest
//   peer needs four times the limit in characters that preparation deletes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/jid/jid_error.hpp"

namespace fedgw {

// Each part of a JID, after preparation (RFC 7622 §3.1).
inline constexpr std::size_t kMaxJidPartBytes = 1023;
// Each part of a JID, as received, before preparation.
inline constexpr std::size_t kMaxRawPartBytes = 4 * kMaxJidPartBytes;

struct PreparedDomain {
    std::string unicode;      // U-label form, used in JIDs and comparisons ("münchen.example")
    std::string ascii;        // A-label form, for DNS and certificates ("xn--mnchen-3ya.example")
    bool ip_literal = false;  // "[2001:db8::1]" or "192.0.2.1": unicode == ascii
};

// The full domainpart preparation of RFC 7622 §3.2.
Result<PreparedDomain, JidFailure> prepare_domain_forms(std::string_view raw);

// The prepared Unicode form, for comparing stream 'from'/'to' domains with configured ones.
Result<std::string, JidFailure> prepare_domain(std::string_view raw);

// The prepared A-label form, for DNS look-ups and certificate matching.
Result<std::string, JidFailure> prepare_domain_ascii(std::string_view raw);

// Nodeprep plus the extra localpart checks above. An empty input is EmptyLocalpart.
Result<std::string, JidFailure> prepare_localpart(std::string_view raw);

// Resourceprep. An empty input is EmptyResource.
Result<std::string, JidFailure> prepare_resourcepart(std::string_view raw);

}  // namespace fedgw
