// The wire forms InboundStream writes and the small parsing helpers it needs: dialback answers
// and errors (XEP-0220 §2.2, §2.5), STARTTLS answers (RFC 6120 §5.4.2), SASL answers (RFC 6120
// §6.4, §6.5), base64 (RFC 4648 §4, as RFC 6120 §6.4.2 requires for SASL data).
//
// Pure: strings in, strings out. Internal to proxy/s2s (InboundStream and its tests).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/base/stanza_error.hpp"

namespace fedgw::proxy::inbound_wire {

inline constexpr std::string_view kNsBidi = "urn:xmpp:bidi";                     // XEP-0288
inline constexpr std::string_view kNsBidiFeature = "urn:xmpp:features:bidi";     // XEP-0288
inline constexpr std::string_view kNsStreamLimits = "urn:xmpp:stream-limits:0";  // XEP-0478

// A domain as a stream header or dialback element carries it, prepared (RFC 7622 §3.2): `name`
// in Unicode form (for the policy and the wire), `ascii` in A-label form (for certificates).
struct Domain {
    std::string name;
    std::string ascii;
};
// nullopt unless `s` is a bare domain JID (no localpart, no resourcepart).
std::optional<Domain> parse_domain(std::string_view s);

// Without leading and trailing XML whitespace (space, tab, CR, LF).
std::string_view trim(std::string_view s);
// Not on a temporary std::string: the view would outlive it.
template <class T>
requires std::is_same_v<T, std::string> std::string_view trim(T&& s)
= delete;
// Without any XML whitespace. COMPAT: XEP-0288's own example wraps the base64 of an <auth/>
// across lines, and XEP-0220's examples indent the dialback key.
std::string strip_space(std::string_view s);

// Strict base64 (RFC 4648 §4): length a multiple of 4, padding only at the end, no other
// characters; nullopt otherwise. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view s);
std::string base64_encode(std::string_view s);

// <db:result from='…' to='…' type='valid'/> (type "valid" or "invalid").
std::string db_result(std::string_view from, std::string_view to, std::string_view type);
// <db:result from='…' to='…' type='error'><error …>…</error></db:result>
std::string db_result_error(std::string_view from, std::string_view to, const StanzaError& e);
// <db:verify from='…' to='…' id='…' type='valid'/>
std::string db_verify(std::string_view from, std::string_view to, std::string_view id,
                      std::string_view type);
std::string db_verify_error(std::string_view from, std::string_view to, std::string_view id,
                            const StanzaError& e);

// <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>, <failure xmlns='…tls'/>
std::string tls_proceed();
std::string tls_failure();
// <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>, <challenge xmlns='…sasl'/>
std::string sasl_success();
std::string sasl_empty_challenge();
// <failure xmlns='…sasl'><CONDITION/><text xml:lang='en'>…</text></failure> (no text if empty)
std::string sasl_failure(std::string_view condition, std::string_view text);

}  // namespace fedgw::proxy::inbound_wire
