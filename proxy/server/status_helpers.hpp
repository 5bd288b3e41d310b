// Small helpers of the assembled proxy for its diagnostics: certificate expiry, bound listener
// addresses, UTC timestamps, and the XEP-0368 ALPN protocol name.
//
// Loop-bound edge (reads files through OpenSSL, asks libuv for socket names).
#pragma once

#include <uv.h>

#include <cstdint>
#include <optional>
#include <string>

namespace fedgw::proxy {

// XEP-0368 §3: the ALPN protocol of a direct TLS s2s connection.
inline constexpr const char* kXmppServerAlpn = "xmpp-server";

// notAfter of the first certificate in a PEM file, as Unix seconds; nullopt when unreadable.
std::optional<std::int64_t> certificate_expiry(const std::string& pem_path);
// "127.0.0.1:5269" / "[::1]:5269" for a bound TCP handle; `fallback` when it cannot be read.
std::string bound_address(const uv_tcp_t* tcp, std::string fallback);
// "2027-11-21T00:00:00Z"
std::string utc_timestamp(std::int64_t unix_s);

}  // namespace fedgw::proxy
