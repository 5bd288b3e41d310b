// The RandomSource the stack uses unless one is injected: OpenSSL's RAND_bytes, a CSPRNG
// seeded by the operating system, so tags, branches and Call-IDs cannot be guessed by a peer
// (RFC 3261 §19.3, §8.1.1.7).
//
// Not pure: it draws from the OS entropy pool through OpenSSL.
#pragma once

#include "gateway/sip/sip_builder.hpp"

namespace fedgw::gateway::sip {

RandomSource system_random_source();

}  // namespace fedgw::gateway::sip
