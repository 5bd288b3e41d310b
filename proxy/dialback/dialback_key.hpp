// Server Dialback keys (XEP-0220 §2.4, generated as XEP-0185 recommends):
//   key = hex(HMAC-SHA256(hex(SHA256(secret)), receiving + ' ' + originating + ' ' + stream id))
// The hex form of SHA256(secret) as HMAC key is what the XEP's worked example and Prosody use.
// Only our own authoritative side ever checks our keys, so this choice has no interop impact.
//
// Pure: crypto primitives only (OpenSSL's EVP/HMAC), no I/O, no clock.
#pragma once

#include <string>
#include <string_view>

namespace fedgw::proxy {

class DialbackKeys {
public:
    // The secret comes from the registry's global settings (generated on first use).
    explicit DialbackKeys(std::string_view secret);

    std::string generate(std::string_view receiving, std::string_view originating,
                         std::string_view stream_id) const;
    // Constant-time comparison of a presented key with the one we would generate.
    bool verify(std::string_view receiving, std::string_view originating,
                std::string_view stream_id, std::string_view key) const;

private:
    std::string hmac_key_;  // hex(SHA256(secret))
};

}  // namespace fedgw::proxy
