// TLS errors: the closed set of ways loading TLS material or running a TLS session can fail,
// each carried with a human-readable text that names the file, the peer's alert or OpenSSL's
// reason. Used by TlsContext, TlsSession and TlsStream.
//
// Pure: no I/O (the OpenSSL error-queue helpers live in tls_internal.hpp).
#pragma once

#include <string>
#include <string_view>

namespace fedgw {

enum class TlsErrorCode {
    CertificateFile,   // a certificate chain PEM file could not be read or parsed
    KeyFile,           // a private key PEM file could not be read or parsed (or is encrypted)
    KeyMismatch,       // the private key does not belong to the certificate
    CaLocation,        // the CA file or directory for peer verification could not be loaded
    ContextSetup,      // OpenSSL refused a context setting (version range, cipher list, ALPN)
    HandshakeFailed,   // the handshake failed on our side (no common version or cipher, bad record)
    PeerRejected,      // the peer sent a fatal alert (e.g. it does not trust our certificate)
    PeerVerifyFailed,  // the peer's certificate (chain or name) did not verify, and we required it
    PeerClosed,        // the transport closed before the handshake finished
    ProtocolError,     // a fatal TLS error after the handshake (bad record, unexpected message)
    NotWritable,       // the session is closing, closed or failed; the data was not sent
    LimitExceeded,     // a configured limit was hit (plaintext queued before the handshake)
    Internal,          // OpenSSL failed internally (out of memory) or the session was misused
};

struct TlsError {
    TlsErrorCode code = TlsErrorCode::Internal;
    std::string text{};  // what failed and why, e.g. "cannot load certificate chain from '…': …"

    // One line for logs: "peer-verify-failed: certificate verify failed: hostname mismatch".
    std::string describe() const;
};

// Stable short name for logs and metrics, e.g. "handshake-failed".
std::string_view describe(TlsErrorCode c);

}  // namespace fedgw
