// sockaddr conversions and the routing probe; see socket_address.hpp. Loop-bound.
#include "gateway/sip/socket_address.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace fedgw::gateway::sip::detail {

bool to_sockaddr(const IpAddress& ip, std::uint16_t port, sockaddr_storage* out) {
    std::memset(out, 0, sizeof *out);
    if (ip.is_v4()) {
        auto* a = reinterpret_cast<sockaddr_in*>(out);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        std::memcpy(&a->sin_addr, ip.bytes.data(), 4);
        return true;
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, ip.bytes.data(), 16);
    return true;
}

std::optional<std::pair<IpAddress, std::uint16_t>> from_sockaddr(const sockaddr* sa) {
    if (sa == nullptr) return std::nullopt;
    IpAddress ip;
    if (sa->sa_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(sa);
        ip.family = IpAddress::Family::V4;
        std::memcpy(ip.bytes.data(), &a->sin_addr, 4);
        return std::make_pair(ip, ntohs(a->sin_port));
    }
    if (sa->sa_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(sa);
        ip.family = IpAddress::Family::V6;
        std::memcpy(ip.bytes.data(), &a->sin6_addr, 16);
        return std::make_pair(ip, ntohs(a->sin6_port));
    }
    return std::nullopt;
}

std::optional<IpAddress> local_address_towards(const IpAddress& destination) {
    sockaddr_storage dest{};
    to_sockaddr(destination, 9, &dest);  // the port does not matter: nothing is sent
    const int fd = ::socket(dest.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    const socklen_t len = dest.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::optional<IpAddress> out;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&dest), len) == 0) {
        sockaddr_storage local{};
        socklen_t local_len = sizeof local;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
            if (auto a = from_sockaddr(reinterpret_cast<const sockaddr*>(&local))) {
                out = a->first;
            }
        }
    }
    ::close(fd);
    return out;
}

bool is_wildcard(const IpAddress& ip) {
    return std::all_of(ip.bytes.begin(), ip.bytes.begin() + static_cast<long>(ip.size()),
                       [](std::uint8_t b) { return b == 0; });
}

}  // namespace fedgw::gateway::sip::detail
