#include "proxy/dialback/dialback_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cassert>

namespace fedgw::proxy {
namespace {

std::string to_hex(const unsigned char* p, size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        s[2 * i] = kDigits[p[i] >> 4];
        s[2 * i + 1] = kDigits[p[i] & 0xf];
    }
    return s;
}

}  // namespace

DialbackKeys::DialbackKeys(std::string_view secret) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
    hmac_key_ = to_hex(digest, sizeof digest);
}

std::string DialbackKeys::generate(std::string_view receiving, std::string_view originating,
                                   std::string_view stream_id) const {
    std::string msg;
    msg.reserve(receiving.size() + originating.size() + stream_id.size() + 2);
    msg.append(receiving).append(" ").append(originating).append(" ").append(stream_id);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    unsigned char* r = HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
                            reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out,
                            &len);
    assert(r != nullptr);
    (void)r;
    return to_hex(out, len);
}

bool DialbackKeys::verify(std::string_view receiving, std::string_view originating,
                          std::string_view stream_id, std::string_view key) const {
    std::string expected = generate(receiving, originating, stream_id);
    if (key.size() != expected.size()) return false;
    return CRYPTO_memcmp(expected.data(), key.data(), key.size()) == 0;
}

}  // namespace fedgw::proxy
