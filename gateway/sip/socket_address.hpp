// Conversions between the configuration's IpAddress and the socket API's sockaddr, and the
// local address the kernel would use towards a destination (for a Via sent-by when we listen
// on a wildcard address).
//
// Loop-bound (socket calls), internal to gateway/sip.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/config/address.hpp"

namespace fedgw::gateway::sip::detail {

// False when `ip` cannot be expressed (never for a parsed IpAddress).
bool to_sockaddr(const IpAddress& ip, std::uint16_t port, sockaddr_storage* out);

// The address and port of an AF_INET or AF_INET6 sockaddr; nullopt for other families.
std::optional<std::pair<IpAddress, std::uint16_t>> from_sockaddr(const sockaddr* sa);

// The source address the kernel picks for packets to `destination` (a connected UDP socket's
// local name; nothing is sent). nullopt when there is no route.
std::optional<IpAddress> local_address_towards(const IpAddress& destination);

// True for 0.0.0.0 and ::.
bool is_wildcard(const IpAddress& ip);

}  // namespace fedgw::gateway::sip::detail
