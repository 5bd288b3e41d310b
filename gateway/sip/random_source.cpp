// system_random_source(); see random_source.hpp.
#include "gateway/sip/random_source.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <random>

namespace fedgw::gateway::sip {

RandomSource system_random_source() {
    return [] {
        unsigned char bytes[8];
        std::uint64_t v = 0;
        if (RAND_bytes(bytes, sizeof bytes) == 1) {
            std::memcpy(&v, bytes, sizeof v);
            return v;
        }
        // RAND_bytes only fails when the OS gives no entropy at all; random_device reads the
        // same source through another path.
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    };
}

}  // namespace fedgw::gateway::sip
