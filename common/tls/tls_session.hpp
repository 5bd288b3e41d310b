// TlsSession: the TLS engine of one connection, driven through memory BIOs. No sockets, no
// loop: the owner feeds it the ciphertext it received and sends the ciphertext it produces
// (the outbox), in the style of nghttp2's mem_recv/mem_send.
//
//   feed(ciphertext)      -> progress (handshake completed / peer closed / failed)
//   write(plaintext)      -> queued until the handshake completes, then encrypted
//   take_outbox()         -> ciphertext to send, after every call (SSL_read can produce output
//                            too: TLS 1.3 tickets, KeyUpdate, alerts)
//   take_plaintext()      -> decrypted application data
//   shutdown()            -> close_notify (RFC 8446 §6.1)
//   transport_closed()    -> the TCP connection ended; during the handshake that is a failure
//
// Peer verification (RFC 6120 §13.7.2, XEP-0178, RFC 6125):
// - Record (s2s): the peer's chain is verified and the first error recorded, but the handshake
//   always completes, so the s2s layer can fall back to dialback (XEP-0220) when the partner's
//   certificate does not verify. The server role requests a client certificate
//   (SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE); a client that sends none is not verified.
// - Require (the internal link, mutual TLS): the chain must verify and, when a reference domain
//   is set, the certificate must cover it (identity.hpp: DNS-ID, SRV-ID or XmppAddr), otherwise
//   the handshake fails with an alert. The server role then also insists on a client cert.
// Both roles verify with the TLS server purpose (X509_PURPOSE_SSL_SERVER): s2s peers present
// their server certificates, and many carry the serverAuth EKU only (Let's Encrypt since
// 2026-02-11), which the default client purpose for the accepting side would refuse.
//
// Loop-free and socket-free; uses OpenSSL. Not marked Pure (STYLE.md) because it wraps
// OpenSSL's SSL object, but it can be unit-tested with two sessions talking in memory.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "common/base/result.hpp"
#include "common/tls/identity.hpp"
#include "common/tls/tls_context.hpp"
#include "common/tls/tls_error.hpp"

namespace fedgw {

enum class PeerVerification {
    Record,   // verify and record the outcome; never fail the handshake over it
    Require,  // a verified chain (and the reference domain, if set) or no handshake
};

struct TlsSessionOptions {
    PeerVerification verification = PeerVerification::Record;
    // The domain the peer must prove (client: the domain we connect to; server in Require mode:
    // the configured name of the expected client). Empty: no identity check in the handshake.
    std::string reference_domain{};
    // Client only: the SNI host name to send (RFC 6066 §3); empty sends none, and an IP
    // literal is never sent (SNI forbids it).
    std::string server_name{};
    // Limit: plaintext accepted by write() before the handshake completes.
    std::size_t max_pending_plaintext = 1024 * 1024;
};

enum class TlsState {
    Handshaking,  // waiting for the handshake to complete
    Established,  // application data flows both ways
    Closing,      // we sent close_notify and wait for the peer's
    PeerClosed,   // the peer sent close_notify; we may still write until shutdown()
    Closed,       // close_notify both ways, or the transport ended after the handshake
    Failed,       // a fatal error; failure() says why, the outbox may hold an alert to send
};

// What one call changed. Several flags can be set at once (e.g. the handshake completes and
// application data follows in the same feed).
struct TlsProgress {
    bool handshake_completed = false;  // the session became Established during this call
    bool peer_closed = false;          // the peer's close_notify arrived during this call
    bool truncated = false;            // the transport ended after the handshake without one
    bool failed = false;               // the session failed during this call; see failure()
};

class TlsSession {
  public:
    // The role comes from the context. A client session has its ClientHello in the outbox
    // right away. The session keeps the context's SSL_CTX alive by itself.
    static Result<TlsSession, TlsError> create(const TlsContext& context,
                                               const TlsSessionOptions& options);

    TlsSession(TlsSession&&) noexcept;
    TlsSession& operator=(TlsSession&&) noexcept;
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;
    ~TlsSession();

    // Ciphertext received from the peer. Ignored once the session is Closed or Failed.
    TlsProgress feed(std::string_view ciphertext);
    // The transport reported EOF. During the handshake this fails with PeerClosed; after it,
    // a missing close_notify is reported as `truncated` and the session is Closed.
    TlsProgress transport_closed();
    // Plaintext to send. Before the handshake completes it is queued (up to the limit) and
    // sent once the session is Established. Fails in Closing, Closed and Failed.
    Result<void, TlsError> write(std::string_view plaintext);
    // Sends close_notify (Established, PeerClosed). During the handshake there is nothing
    // clean to send: the session just becomes Closed and the owner drops the transport.
    void shutdown();

    bool has_outbox() const;
    std::string take_outbox();
    bool has_plaintext() const;
    std::string take_plaintext();

    TlsState state() const;
    TlsRole role() const;
    bool is_established() const { return state() == TlsState::Established; }
    // The error that put the session in Failed.
    const std::optional<TlsError>& failure() const;

    // After the handshake (empty or false before):
    std::string_view protocol_version() const;  // "TLSv1.3"
    std::string_view cipher() const;            // "TLS_AES_256_GCM_SHA384"
    std::string_view alpn() const;              // negotiated ALPN protocol, or empty
    // Server: the SNI host name the client asked for; client: the one we sent.
    std::string_view server_name() const;
    bool peer_certificate_presented() const;
    // The peer presented a certificate and its chain verified against our trust anchors with
    // the server purpose (identity aside: see peer_identity()).
    bool peer_chain_verified() const;
    // Why the chain did not verify, e.g. "unable to get local issuer certificate (depth 0)";
    // "no certificate presented"; empty when it verified.
    std::string verify_error() const;
    // The peer's leaf certificate, borrowed: valid while this session lives.
    X509* peer_certificate() const;
    // Which identity of the peer certificate covers `domain` (no certificate: None).
    IdentityMatch peer_identity(std::string_view domain) const;

    struct Impl;  // public for the OpenSSL callbacks in tls_session.cpp; opaque elsewhere

  private:
    explicit TlsSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;  // on the heap: OpenSSL's ex_data points at it across moves
};

// "handshaking", "established", ...
std::string_view describe(TlsState s);

}  // namespace fedgw
