// Internal glue shared by the TLS adapter's .cpp files; not part of the public API.
//
// Loop-free. Includes OpenSSL headers, so only common/tls/*.cpp include it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

namespace fedgw::tls_detail {

// Everything on this thread's OpenSSL error queue, drained: the packed codes, oldest first,
// and their reasons joined with "; " (each said once), e.g. "No such file or directory".
// The queue is empty afterwards, so one failure never leaks into the next operation's
// diagnosis.
struct OpensslErrors {
    std::vector<unsigned long> codes;
    std::string text;
};
OpensslErrors drain_openssl_errors();

// `prefix` + ": " + OpenSSL's reasons (or "unknown OpenSSL error" when the queue is empty).
std::string with_openssl_reason(std::string_view prefix);

// Installed on every SSL_CTX a TlsContext builds (SSL_CTX_set_cert_verify_callback): runs the
// normal chain verification, then the RFC 6125 identity check of the session's reference
// domain (identity.hpp). Implemented in tls_session.cpp, which owns the per-session state.
int app_verify_callback(X509_STORE_CTX* store_ctx, void* arg);

bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace fedgw::tls_detail
