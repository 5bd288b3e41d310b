// TLS error names (see tls_error.hpp).
//
// Pure: no I/O.
#include "common/tls/tls_error.hpp"

namespace fedgw {

std::string_view describe(TlsErrorCode c) {
    switch (c) {
        case TlsErrorCode::CertificateFile:
            return "certificate-file";
        case TlsErrorCode::KeyFile:
            return "key-file";
        case TlsErrorCode::KeyMismatch:
            return "key-mismatch";
        case TlsErrorCode::CaLocation:
            return "ca-location";
        case TlsErrorCode::ContextSetup:
            return "context-setup";
        case TlsErrorCode::HandshakeFailed:
            return "handshake-failed";
        case TlsErrorCode::PeerRejected:
            return "peer-rejected";
        case TlsErrorCode::PeerVerifyFailed:
            return "peer-verify-failed";
        case TlsErrorCode::PeerClosed:
            return "peer-closed";
        case TlsErrorCode::ProtocolError:
            return "protocol-error";
        case TlsErrorCode::NotWritable:
            return "not-writable";
        case TlsErrorCode::LimitExceeded:
            return "limit-exceeded";
        case TlsErrorCode::Internal:
            return "internal";
    }
    return "internal";
}

std::string TlsError::describe() const {
    std::string out(fedgw::describe(code));
    if (!text.empty()) {
        out += ": ";
        out += text;
    }
    return out;
}

}  // namespace fedgw
