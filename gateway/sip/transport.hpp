// Types shared by the SIP transports and the stack: a peer's transport address and the id of
// a stream connection.
//
// Pure.
#pragma once

#include <cstdint>
#include <string>

#include "common/config/address.hpp"

namespace fedgw::gateway::sip {

// Where a message came from or goes to, as the transport sees it.
struct PeerAddress {
    SipTransport transport = SipTransport::Udp;
    IpAddress ip;
    std::uint16_t port = 0;

    // "udp:192.0.2.1:5060", "tls:[2001:db8::1]:5061".
    std::string to_string() const;
    friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
};

// A TCP or TLS connection of a StreamTransport; 0 means none (UDP).
using ConnectionId = std::uint64_t;

}  // namespace fedgw::gateway::sip
