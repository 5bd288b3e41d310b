#include "tools/fedgwctl/cert_check.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "common/jid/jid_prep.hpp"

namespace fedgw::ctl {
namespace {

using nlohmann::json;

std::string name_text(X509_NAME* n) {
    if (!n) return "";
    BIO* b = BIO_new(BIO_s_mem());
    if (!b) return "";
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    long len = BIO_get_mem_data(b, &data);
    std::string s(data ? data : "", len > 0 ? static_cast<std::size_t>(len) : 0);
    BIO_free(b);
    return s;
}

std::string openssl_reason() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "no certificate found";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

json names_json(const CertificateNames& n) {
    return {{"dns", n.dns}, {"srv", n.srv}, {"xmpp", n.xmpp}, {"subject_cn", n.subject_cn}};
}

}  // namespace

CertChain::CertChain(CertChain&& o) noexcept
    : path_(std::move(o.path_)), leaf_(o.leaf_), rest_(o.rest_) {
    o.leaf_ = nullptr;
    o.rest_ = nullptr;
}

CertChain& CertChain::operator=(CertChain&& o) noexcept {
    std::swap(path_, o.path_);
    std::swap(leaf_, o.leaf_);
    std::swap(rest_, o.rest_);
    return *this;
}

CertChain::~CertChain() {
    if (leaf_) X509_free(leaf_);
    if (rest_) sk_X509_pop_free(rest_, X509_free);
}

CtlResult<CertChain> CertChain::load(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        const int err = errno;
        if (err == ENOENT) return ctl_fail(Exit::NotFound, path + ": no such file");
        return ctl_fail(Exit::Environment, path + ": " + std::strerror(err) +
                                               (err == EACCES ? " (run as root or the "
                                                                "services' user)"
                                                              : ""));
    }
    CertChain c;
    c.path_ = path;
    c.rest_ = sk_X509_new_null();
    ERR_clear_error();
    while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
        if (!c.leaf_)
            c.leaf_ = x;
        else
            sk_X509_push(c.rest_, x);
    }
    std::fclose(f);
    if (!c.leaf_)
        return ctl_fail(Exit::Refused, path + ": not a PEM certificate (" + openssl_reason() + ")");
    ERR_clear_error();  // the end of the file reads as an error
    return c;
}

std::string CertChain::verify(const std::string& ca_file) const {
    X509_STORE* store = X509_STORE_new();
    if (!store) return "out of memory";
    std::string result;
    if (X509_STORE_load_file(store, ca_file.c_str()) != 1) {
        result = "cannot load CA file " + ca_file + ": " + openssl_reason();
    } else if (X509_STORE_CTX* ctx = X509_STORE_CTX_new()) {
        X509_STORE_CTX_init(ctx, store, leaf_, rest_);
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        if (X509_verify_cert(ctx) != 1)
            result = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
        X509_STORE_CTX_free(ctx);
    } else {
        result = "out of memory";
    }
    X509_STORE_free(store);
    ERR_clear_error();
    return result;
}

CertFacts cert_facts(X509* leaf) {
    CertFacts f;
    f.subject = name_text(X509_get_subject_name(leaf));
    f.issuer = name_text(X509_get_issuer_name(leaf));
    f.names = certificate_names(leaf);
    f.not_before = certificate_not_before(leaf);
    f.not_after = certificate_not_after(leaf);
    if (f.not_after) {
        const std::int64_t left = *f.not_after - static_cast<std::int64_t>(std::time(nullptr));
        f.days_left = left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
    }
    const std::uint32_t flags = X509_get_extension_flags(leaf);
    f.has_eku = (flags & EXFLAG_XKUSAGE) != 0;
    f.server_auth = !f.has_eku || (X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) != 0;
    return f;
}

CtlResult<Exit> check_cert(const GlobalOptions& g, const std::string& file,
                           const std::vector<std::string>& names, const std::string& ca_file,
                           int warn_days) {
    auto chain = CertChain::load(file);
    if (!chain) return Unexpected(chain.error());
    const CertFacts f = cert_facts(chain->leaf());
    std::vector<std::string> problems;

    json domains = json::array();
    Table covered({"NAME", "COVERED", "BY"});
    for (const auto& raw : names) {
        auto ascii = prepare_domain_ascii(raw);
        if (!ascii)
            return ctl_fail(Exit::Usage,
                            "--name '" + raw + "' is not a domain: " + ascii.error().describe());
        const IdentityMatch m = verify_identity(chain->leaf(), *ascii);
        const bool ok = m != IdentityMatch::None;
        if (!ok)
            problems.push_back(*ascii + " is not covered: add DNS:" + *ascii +
                               " to the certificate's subjectAltName");
        domains.push_back({{"name", *ascii}, {"covered", ok}, {"match", describe(m)}});
        covered.add({*ascii, ok ? "yes" : "NO", ok ? std::string(describe(m)) : "-"});
    }
    if (!f.not_after)
        problems.push_back("the certificate has no readable notAfter");
    else if (f.days_left < 0)
        problems.push_back("the certificate has expired");
    else if (f.days_left < warn_days)
        problems.push_back("the certificate expires in " + std::to_string(f.days_left) +
                           " days (less than " + std::to_string(warn_days) + "): renew it");
    if (f.not_before && *f.not_before > static_cast<std::int64_t>(std::time(nullptr)))
        problems.push_back("the certificate is not valid yet (check the clock)");
    if (!f.server_auth)
        problems.push_back(
            "extended key usage lacks serverAuth: partners verify our "
            "certificate as a server certificate, also when we dial them");
    std::string chain_error;
    if (!ca_file.empty()) {
        chain_error = chain->verify(ca_file);
        if (!chain_error.empty())
            problems.push_back("the chain does not verify against " + ca_file + ": " + chain_error);
    }

    if (g.json) {
        json j{{"file", file},
               {"subject", f.subject},
               {"issuer", f.issuer},
               {"names", names_json(f.names)},
               {"not_before", f.not_before ? json(format_utc(*f.not_before)) : json(nullptr)},
               {"not_after", f.not_after ? json(format_utc(*f.not_after)) : json(nullptr)},
               {"days_left", f.days_left},
               {"server_auth", f.server_auth},
               {"chain", ca_file.empty() ? json{{"checked", false}}
                                         : json{{"checked", true},
                                                {"ca", ca_file},
                                                {"ok", chain_error.empty()},
                                                {"error", chain_error}}},
               {"domains", domains},
               {"problems", problems},
               {"ok", problems.empty()}};
        out(j.dump(2) + "\n");
    } else {
        Table t({"CERTIFICATE", file});
        t.add({"subject", f.subject.empty() ? "-" : f.subject});
        t.add({"issuer", f.issuer});
        t.add({"names", f.names.describe()});
        t.add({"valid from", f.not_before ? format_utc(*f.not_before) : "?"});
        t.add({"valid until", f.not_after ? format_utc(*f.not_after) + " (" +
                                                std::to_string(f.days_left) + " days left)"
                                          : "?"});
        t.add(
            {"serverAuth", f.server_auth ? (f.has_eku ? "yes" : "yes (no EKU extension)") : "NO"});
        t.add({"chain", ca_file.empty()       ? "not checked (give --ca FILE)"
                        : chain_error.empty() ? "verifies against " + ca_file
                                              : "FAILS against " + ca_file + ": " + chain_error});
        out(t.render());
        if (!covered.empty()) out("\n" + covered.render());
        if (!problems.empty()) {
            out("\nproblems:\n");
            for (const auto& p : problems)
                out("  - " + p + "\n");
        }
    }
    return problems.empty() ? Exit::Ok : Exit::Refused;
}

}  // namespace fedgw::ctl
