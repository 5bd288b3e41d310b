// TlsContext: one OpenSSL SSL_CTX set up for the server or the client role of fedgw's TLS
// connections (XMPP s2s on 5269 and XEP-0368 direct TLS, the proxy<->gateway link on 23456).
//
// - TLS 1.2 minimum (RFC 7525 §3.1.1), renegotiation off, no compression.
// - Certificate chain and key from PEM files; failures name the file and OpenSSL's reason.
// - A CA file and/or directory (and optionally the system store) to verify peers with; the
//   verification policy itself (record or require, reference domain) is per session.
// - Server role: one default certificate plus any number of local domains with their own
//   certificates, chosen by the client's SNI (RFC 6066 §3); an unknown or absent SNI gets the
//   default. No session cache and no tickets: s2s peers rarely resume, and a cache grows.
// - Immutable once built. A configuration reload (SIGHUP) builds a new TlsContext and new
//   connections use it; sessions already created keep the SSL_CTX they started with alive
//   through OpenSSL's reference counts, so the old TlsContext may be destroyed at any time.
//
// Loop-free and socket-free. Reads files when created.
#pragma once

#include <string>
#include <vector>

#include <openssl/types.h>

#include "common/base/result.hpp"
#include "common/tls/tls_error.hpp"

namespace fedgw {

enum class TlsRole {
    Server,  // accepts connections: the receiving entity (RFC 6120 §4.1), the link's listener
    Client,  // opens connections: the initiating entity, the link's dialler
};

enum class TlsVersion { Tls1_2, Tls1_3 };

struct TlsCredentials {
    std::string cert_chain_file{};  // PEM: the leaf first, then intermediates
    std::string key_file{};         // PEM, not encrypted (a passphrase is refused, never prompted)
};

// A local domain served with its own certificate, chosen when the client's SNI names it.
struct TlsDomainCredentials {
    std::string domain{};  // ASCII (A-label) form, compared case-insensitively with the SNI
    TlsCredentials credentials{};
};

struct TlsContextOptions {
    TlsRole role = TlsRole::Server;
    // The certificate we present. Required for Server; optional for Client (needed for mutual
    // TLS on the link and for SASL EXTERNAL on outbound s2s).
    TlsCredentials credentials{};
    // Server only: per-domain certificates selected by SNI.
    std::vector<TlsDomainCredentials> domains{};
    // Trust anchors for verifying peers; any combination, all may be empty (then no peer
    // verifies, which record mode reports and require mode refuses).
    std::string ca_file{};
    std::string ca_dir{};  // hashed directory (c_rehash layout)
    bool use_system_cas = false;
    TlsVersion min_version = TlsVersion::Tls1_2;
    TlsVersion max_version = TlsVersion::Tls1_3;
    // ALPN protocol names (RFC 7301), e.g. "xmpp-server" for XEP-0368. Client: offered in this
    // order. Server: accepted in this order of preference; a client offering none of them gets
    // no ALPN and the handshake goes on.
    std::vector<std::string> alpn{};
    std::string cipher_list{};   // TLS 1.2 and below; empty keeps the system default
    std::string ciphersuites{};  // TLS 1.3; empty keeps the system default
};

class TlsContext {
  public:
    static Result<TlsContext, TlsError> create(const TlsContextOptions& options);

    TlsContext(TlsContext&& other) noexcept;
    TlsContext& operator=(TlsContext&& other) noexcept;
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    ~TlsContext();

    TlsRole role() const { return role_; }
    // The SNI-selectable domains (lower-cased), in configuration order.
    const std::vector<std::string>& sni_domains() const { return sni_domains_; }
    // The default SSL_CTX, borrowed. TlsSession creates its SSL from it.
    SSL_CTX* native() const { return ctx_; }

  private:
    TlsContext(SSL_CTX* ctx, TlsRole role, std::vector<std::string> sni_domains);

    SSL_CTX* ctx_ = nullptr;
    TlsRole role_ = TlsRole::Server;
    std::vector<std::string> sni_domains_;
};

}  // namespace fedgw
