// Server identity checks for XMPP server-to-server and the internal link.
//
// RFC 6125 §6 as profiled by RFC 6120 §13.7.1.2: a certificate proves a domain through
//   - a DNS-ID (subjectAltName dNSName), with a wildcard allowed only as the complete left-most
//     label ("*.example.com" covers "a.example.com", never "example.com" or "a.b.example.com";
//     partial wildcards such as "x*.example.com" are refused),
//   - an SRV-ID (otherName id-on-dnsSRV, RFC 4985, IA5String "_xmpp-server.<domain>"), or
//   - an XmppAddr (otherName id-on-xmppAddr, RFC 6120 §13.7.1.4, UTF8String "<domain>").
// The subject common name is never used as an identity (RFC 6125 §6.4.4 fallback is off).
// Domains are compared in their ASCII form (A-labels) for DNS-ID and SRV-ID, case-insensitively;
// converting an IDN to A-labels is the caller's job (common/jid).
//
// Loop-free and socket-free, but it reads X509 objects through OpenSSL. The header only needs
// the X509 typedef, so pure cores may include it to name the type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

namespace fedgw {

enum class IdentityMatch {
    None,      // the certificate does not cover the domain
    DnsId,     // a subjectAltName dNSName matched (exactly or by a left-most wildcard)
    SrvId,     // an otherName SRVName "_xmpp-server.<domain>" matched
    XmppAddr,  // an otherName XmppAddr equal to the domain matched
};

// "none", "dns-id", "srv-id", "xmppaddr".
std::string_view describe(IdentityMatch m);

// Which presented identity of `cert` covers `domain` (checked in the order DNS-ID, SRV-ID,
// XmppAddr). One trailing dot on `domain` is ignored. An empty domain, a domain with a leading
// dot, a '*' or a NUL byte matches nothing (X509_check_host would treat a leading dot as "any
// subdomain", which a peer-chosen name must never get). A null cert matches nothing.
IdentityMatch verify_identity(X509* cert, std::string_view domain);

// The names a certificate presents, for diagnostics (fedgwctl, logs). Values are copied as
// presented, with control characters replaced by '?'.
struct CertificateNames {
    std::vector<std::string> dns{};   // subjectAltName dNSName
    std::vector<std::string> srv{};   // otherName SRVName, e.g. "_xmpp-server.example.com"
    std::vector<std::string> xmpp{};  // otherName XmppAddr
    std::string subject_cn{};         // informational only; never matched

    // "DNS:a.example, SRV:_xmpp-server.a.example, XMPP:a.example, CN=a.example"
    std::string describe() const;
};

CertificateNames certificate_names(X509* cert);

// Validity bounds as Unix seconds (UTC); nullopt when absent or unparsable.
std::optional<std::int64_t> certificate_not_before(X509* cert);
std::optional<std::int64_t> certificate_not_after(X509* cert);

}  // namespace fedgw
