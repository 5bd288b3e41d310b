// Server identity checks (see identity.hpp): RFC 6125 §6, RFC 6120 §13.7.1.2, RFC 4985.
//
// Socket-free; reads certificates through OpenSSL.
#include "common/tls/identity.hpp"

#include <ctime>
#include <memory>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls/tls_internal.hpp"

namespace fedgw {
namespace {

using tls_detail::iequals_ascii;

constexpr std::string_view kSrvPrefix = "_xmpp-server.";

struct GeneralNamesFree {
    void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

// The reference domain as we compare it, or nullopt when it must match nothing.
std::optional<std::string_view> normalise_reference(std::string_view domain) {
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    if (domain.empty() || domain.front() == '.') return std::nullopt;
    if (domain.find('\0') != std::string_view::npos) return std::nullopt;
    if (domain.find('*') != std::string_view::npos) return std::nullopt;
    return domain;
}

bool is_ascii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

std::string_view asn1_view(const ASN1_STRING* s) {
    if (s == nullptr) return {};
    const unsigned char* data = ASN1_STRING_get0_data(s);
    int len = ASN1_STRING_length(s);
    if (data == nullptr || len <= 0) return {};
    return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(len)};
}

// The otherName value when it has the expected OID and ASN.1 string type.
std::optional<std::string_view> other_name_value(const GENERAL_NAME* gn, int nid, int asn1_type) {
    if (gn->type != GEN_OTHERNAME) return std::nullopt;
    const OTHERNAME* on = gn->d.otherName;
    if (on == nullptr || on->type_id == nullptr || on->value == nullptr) return std::nullopt;
    if (OBJ_obj2nid(on->type_id) != nid) return std::nullopt;
    if (on->value->type != asn1_type) return std::nullopt;
    // Both IA5String and UTF8String live in the ASN1_STRING member of the union.
    return asn1_view(on->value->value.asn1_string);
}

GeneralNamesPtr subject_alt_names(X509* cert) {
    return GeneralNamesPtr(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
}

bool srv_id_matches(std::string_view presented, std::string_view domain) {
    if (presented.size() <= kSrvPrefix.size()) return false;
    if (!iequals_ascii(presented.substr(0, kSrvPrefix.size()), kSrvPrefix)) return false;
    std::string_view rest = presented.substr(kSrvPrefix.size());
    if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
    return iequals_ascii(rest, domain);
}

std::string printable(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = '?';
    }
    return out;
}

std::optional<std::int64_t> asn1_time_to_unix(const ASN1_TIME* t) {
    if (t == nullptr) return std::nullopt;
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

std::string_view describe(IdentityMatch m) {
    switch (m) {
        case IdentityMatch::None:
            return "none";
        case IdentityMatch::DnsId:
            return "dns-id";
        case IdentityMatch::SrvId:
            return "srv-id";
        case IdentityMatch::XmppAddr:
            return "xmppaddr";
    }
    return "none";
}

IdentityMatch verify_identity(X509* cert, std::string_view domain) {
    if (cert == nullptr) return IdentityMatch::None;
    auto ref = normalise_reference(domain);
    if (!ref) return IdentityMatch::None;

    if (is_ascii(*ref)) {
        // DNS-ID. NEVER_CHECK_SUBJECT: no CN fallback; NO_PARTIAL_WILDCARDS: "x*.a.b" is refused.
        // X509_check_host itself only accepts a wildcard as the left-most label with at least two
        // labels after it, and never lets it match the bare parent domain.
        const unsigned int flags =
            X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
        int rc = X509_check_host(cert, ref->data(), ref->size(), flags, nullptr);
        ERR_clear_error();  // a malformed SAN can leave an entry behind; nobody else wants it
        if (rc == 1) return IdentityMatch::DnsId;
    }

    GeneralNamesPtr names = subject_alt_names(cert);
    ERR_clear_error();
    if (!names) return IdentityMatch::None;
    bool xmpp_match = false;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (auto srv = other_name_value(gn, NID_SRVName, V_ASN1_IA5STRING)) {
            if (srv->find('\0') == std::string_view::npos && srv_id_matches(*srv, *ref)) {
                return IdentityMatch::SrvId;
            }
        } else if (auto xmpp = other_name_value(gn, NID_XmppAddr, V_ASN1_UTF8STRING)) {
            // A server's XmppAddr is a bare domain JID; "user@domain" or "domain/res" never match.
            std::string_view v = *xmpp;
            if (!v.empty() && v.back() == '.') v.remove_suffix(1);
            if (v.find('\0') == std::string_view::npos && iequals_ascii(v, *ref)) xmpp_match = true;
        }
    }
    return xmpp_match ? IdentityMatch::XmppAddr : IdentityMatch::None;
}

CertificateNames certificate_names(X509* cert) {
    CertificateNames out;
    if (cert == nullptr) return out;
    if (GeneralNamesPtr names = subject_alt_names(cert)) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
            if (gn->type == GEN_DNS) {
                out.dns.push_back(printable(asn1_view(gn->d.dNSName)));
            } else if (auto srv = other_name_value(gn, NID_SRVName, V_ASN1_IA5STRING)) {
                out.srv.push_back(printable(*srv));
            } else if (auto xmpp = other_name_value(gn, NID_XmppAddr, V_ASN1_UTF8STRING)) {
                out.xmpp.push_back(printable(*xmpp));
            }
        }
    }
    if (const X509_NAME* subject = X509_get_subject_name(cert)) {
        int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (idx >= 0) {
            const X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, idx);
            unsigned char* utf8 = nullptr;
            int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
            if (len > 0 && utf8 != nullptr) {
                out.subject_cn =
                    printable({reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len)});
            }
            OPENSSL_free(utf8);
        }
    }
    ERR_clear_error();
    return out;
}

std::string CertificateNames::describe() const {
    std::string out;
    auto add = [&out](std::string_view tag, const std::string& v) {
        if (!out.empty()) out += ", ";
        out += tag;
        out += v;
    };
    for (const auto& d : dns)
        add("DNS:", d);
    for (const auto& s : srv)
        add("SRV:", s);
    for (const auto& x : xmpp)
        add("XMPP:", x);
    if (!subject_cn.empty()) add("CN=", subject_cn);
    return out;
}

std::optional<std::int64_t> certificate_not_before(X509* cert) {
    if (cert == nullptr) return std::nullopt;
    return asn1_time_to_unix(X509_get0_notBefore(cert));
}

std::optional<std::int64_t> certificate_not_after(X509* cert) {
    if (cert == nullptr) return std::nullopt;
    return asn1_time_to_unix(X509_get0_notAfter(cert));
}

}  // namespace fedgw
