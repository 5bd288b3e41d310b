// Address mapping between XMPP addresses (RFC 7622) and SIP URIs (RFC 3261 §19.1), as RFC 7247
// §6 describes it (§6.2 local parts, §6.3 instance-specific addresses, §6.4 SIP to XMPP, §6.5
// XMPP to SIP). Native addressing: user@domain <-> sip:user@domain.
//
// Pure: strings and Jids in, strings and Jids out.
//
// Provenance: the RFC 7247 rows and section numbers here are as recalled; its text could not
// be fetched with the tools available when they were checked (issue 4). The unit tests tag
// every expected value [RFC text], [recalled] or [ours] (tests/unit/translate/
// translate_test_support.hpp).
//
// XMPP -> SIP (jid_to_sip):
//   - domainpart -> host in its A-label form. RFC 3261 §25.1 allows only LDH host names (and IP
//     literals) in a SIP URI, so an internationalised domain must travel as A-labels (RFC 5891);
//     Jid::domain_ascii() already holds that form.
//   - localpart -> user part, percent-encoding (RFC 3261 §19.1.2, upper-case hex) every octet
//     that is not `unreserved` or one of the user-unreserved "& = + $ , /". ';' and '?' are
//     user-unreserved too but are escaped anyway: they start URI parameters and headers, and
//     escaped and unescaped forms compare equal (§19.1.4), so escaping them costs nothing and
//     keeps naive parsers right. Non-ASCII localparts become %-encoded UTF-8.
//   - resourcepart: the address of record has none; RFC 7247 §6.3 maps an XMPP full JID to a
//     SIP GRUU (RFC 5627) with the resourcepart as the value of the 'gr' URI parameter. The
//     bare URI is what goes into From/To/Request-URI; the GRUU is returned alongside for a
//     Contact or a PIDF <contact>.
// SIP -> XMPP (sip_to_jid):
//   - only sip: and sips: URIs with a user part map to a user's JID (tel:, im:, pres: and URIs
//     of a host alone are refused);
//   - the user part is percent-decoded and must then be a valid localpart. RFC 7622 §3.3.1
//     forbids " & ' / : < > @ and space, all of which a SIP user part may carry (escaped or
//     not): such an address is refused with ForbiddenCharacter, never mangled or escaped into
//     something else (RFC 7247 §6.2 leaves escaping schemes such as XEP-0106 optional; using
//     one would give the same SIP user two XMPP addresses depending on the peer);
//   - the host is prepared as a domainpart (an A-label comes back as its U-label form);
//   - a port, a password and URI headers are not part of an address: a password is refused
//     (RFC 3261 §19.1.1 deprecates it), the port and the parameters other than 'gr' are
//     ignored; a 'gr' parameter becomes the resourcepart (RFC 7247 §6.3).
//   - COMPAT: localpart preparation case-folds ("Alice" -> "alice") while SIP user parts are
//     case-sensitive (§19.1.4): the way back gives sip:alice@... SIP platforms normally use
//     lower-case user names; one that does not needs an explicit mapping table.
#pragma once

#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/base/stanza_error.hpp"
#include "common/jid/jid.hpp"

namespace fedgw::gateway {

// Why an address could not be mapped.
enum class AddressError {
    NotSipUri,           // not a sip: or sips: URI (tel:, im:, pres:, xmpp:, no scheme)
    NoUserPart,          // sip:host with no user: a host or service, not a user
    MalformedUri,        // bad %-escape, a character the URI grammar does not allow, no host
    PasswordInUri,       // user:password@host (RFC 3261 §19.1.1: not to be used)
    ForbiddenCharacter,  // the user part carries a character a localpart may not (RFC 7622)
    InvalidLocalpart,    // the user part fails localpart preparation otherwise (UTF-8, length)
    InvalidDomain,       // the host is not a valid domainpart (IDNA, syntax, length)
    InvalidResource,     // the 'gr' parameter fails resourcepart preparation
    NoLocalpart,         // a JID without a localpart (a domain) has no SIP user to map to
};

// One line per value.
std::string_view describe(AddressError e);

struct AddressFailure {
    AddressError error = AddressError::MalformedUri;
    std::string detail;  // what exactly, e.g. "U+0026 '&' in the user part"

    std::string describe() const;
};

// The stanza error for a failed mapping: modify/jid-malformed (RFC 6120 §8.3.3.8), except
// NoLocalpart, which is cancel/service-unavailable (the gateway domain takes no such traffic).
StanzaError to_stanza_error(const AddressFailure& f);
// The SIP status to refuse a request whose address failed: 416 Unsupported URI Scheme for
// NotSipUri (RFC 3261 §21.4.15), 404 Not Found for NoUserPart and NoLocalpart (no such user
// can exist), 400 Bad Request otherwise (RFC 7247 §7.1 maps jid-malformed to 400).
int to_sip_status(const AddressFailure& f);

struct SipAddress {
    std::string uri;   // "sip:juliet@example.com": the address of record
    std::string gruu;  // "sip:juliet@example.com;gr=balcony" for a full JID, else empty
};

// XMPP address -> SIP URI (RFC 7247 §6.5). Fails only for a JID without a localpart.
Result<SipAddress, AddressFailure> jid_to_sip(const Jid& jid);

// SIP URI (as found in a Request-URI, From or To, without angle brackets) -> JID (RFC 7247
// §6.4). The JID is bare unless the URI carried a 'gr' parameter.
Result<Jid, AddressFailure> sip_to_jid(std::string_view uri);

// The RFC 3261 §19.1.2 escaping used above, exposed for tests: every octet outside the user
// part's unescaped set becomes %XX.
std::string escape_user_part(std::string_view localpart);

}  // namespace fedgw::gateway
