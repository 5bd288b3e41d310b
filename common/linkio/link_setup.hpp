// Start-up helpers shared by LinkClient and LinkServer: the closed set of set-up errors, the
// node name taken from our own link certificate, and socket addresses from configured
// host:port values.
//
// Loop-bound edge: reads certificate files, builds socket addresses.
#pragma once

#include <string>
#include <string_view>

#include <sys/socket.h>

#include "common/base/result.hpp"
#include "common/config/address.hpp"

namespace fedgw::link {

enum class SetupErrorCode {
    Tls,          // the TLS context could not be built (certificate, key or CA file)
    Certificate,  // our certificate carries no DNS name to use as the node name
    Address,      // a listen address is not an IP literal, or not a usable one
    Listen,       // binding or listening on an address failed
    Options,      // an option is out of range or missing
};

// "tls", "certificate", "address", "listen", "options".
std::string_view describe(SetupErrorCode c);

struct SetupError {
    SetupErrorCode code = SetupErrorCode::Options;
    std::string text{};

    // "listen: cannot listen on 127.0.0.1:23456: address already in use".
    std::string describe() const;
};

// The first subjectAltName dNSName of the leaf certificate in a PEM file: the name a link end
// announces in its HELLO, and the one the peer's configuration names (gateway_link.name on the
// proxy, proxy_name on the gateway).
Result<std::string, SetupError> certificate_node_name(const std::string& cert_file);

// A socket address for an IP literal host:port (no resolver).
Result<sockaddr_storage, SetupError> to_sockaddr(const HostPort& address);

// "127.0.0.1:41234", "[::1]:23456"; "?" when the family is unknown.
std::string sockaddr_text(const sockaddr* addr);

}  // namespace fedgw::link
