// fedgwctl check-cert, and the certificate step of fedgwctl diag: which names a certificate
// covers (RFC 6125 DNS-ID, SRV-ID, XmppAddr through common/tls identity, RFC 6120 §13.7), its
// chain against a CA file, serverAuth (partners verify us as a server, also when we dial),
// and the days left.
//
// Edge (tool): reads PEM files through OpenSSL.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/types.h>
#include <nlohmann/json.hpp>

#include "common/tls/identity.hpp"
#include "tools/fedgwctl/ctl_common.hpp"

struct stack_st_X509;  // STACK_OF(X509); openssl/x509.h stays out of this header

namespace fedgw::ctl {

inline constexpr int kDefaultWarnDays = 30;

// A PEM file's certificates: the leaf first, then the rest of the chain.
class CertChain {
  public:
    CertChain() = default;
    CertChain(CertChain&&) noexcept;
    CertChain& operator=(CertChain&&) noexcept;
    ~CertChain();

    // NotFound when the file is missing, Environment when unreadable, Refused when it holds no
    // PEM certificate.
    static CtlResult<CertChain> load(const std::string& path);

    X509* leaf() const { return leaf_; }
    const std::string& path() const { return path_; }
    // The chain against the CA certificates in ca_file with the server purpose, at the
    // current time; "" when it verifies, else OpenSSL's reason.
    std::string verify(const std::string& ca_file) const;

  private:
    std::string path_;
    X509* leaf_ = nullptr;
    stack_st_X509* rest_ = nullptr;
};

struct CertFacts {
    std::string subject;
    std::string issuer;
    CertificateNames names;
    std::optional<std::int64_t> not_before;
    std::optional<std::int64_t> not_after;
    std::int64_t days_left = 0;  // whole days until not_after; negative once expired
    bool has_eku = false;
    bool server_auth = true;  // no EKU extension counts as any purpose
};

CertFacts cert_facts(X509* leaf);

// check-cert FILE [--name D]... [--ca FILE] [--warn-days N].
CtlResult<Exit> check_cert(const GlobalOptions& g, const std::string& file,
                           const std::vector<std::string>& names, const std::string& ca_file,
                           int warn_days);

}  // namespace fedgw::ctl
