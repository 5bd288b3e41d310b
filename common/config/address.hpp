// Network address values used by the configuration: IP addresses, host:port pairs, SIP
// transport addresses ("udp:127.0.0.1:5060") and CIDR blocks, plus the DNS name check used for
// XMPP domains and certificate names.
//
// Syntax: IPv4 dotted quads (RFC 791, no leading zeros so nothing reads as octal), IPv6 text
// (RFC 4291 §2.2, printed as RFC 5952 §4), "[v6]:port" brackets as in RFC 3986 §3.2.2, host
// names by the LDH rule (RFC 1123 §2.1; IDNs in their A-label form, RFC 5890).
//
// Pure: no I/O, no resolver; parsing is string work only (no inet_pton, so no socket headers).
// Every parser returns the value or a one-line message that quotes the input.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.hpp"

namespace fedgw {

struct IpAddress {
    enum class Family { V4, V6 };

    Family family = Family::V4;
    std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    bool is_v4() const { return family == Family::V4; }
    bool is_v6() const { return family == Family::V6; }
    std::size_t size() const { return is_v4() ? 4 : 16; }
    // True for ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), what a dual-stack socket reports for IPv4.
    bool is_v4_mapped() const;
    // Canonical text: "10.0.0.1", "2001:db8::1" (RFC 5952), no brackets.
    std::string to_string() const;

    static IpAddress any_v4() { return IpAddress{Family::V4, {}}; }
    static IpAddress any_v6() { return IpAddress{Family::V6, {}}; }

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1" or "2001:db8::1" (no brackets, no zone id).
Result<IpAddress, std::string> parse_ip_address(std::string_view text);

// A DNS host name checked by the LDH rule and lower-cased: at most 253 octets, labels of 1-63
// letters, digits and inner hyphens, no trailing dot, and a last label that is not all digits
// (so a mistyped IPv4 address is not taken for a name). Non-ASCII names must be given in their
// A-label form ("xn--...").
Result<std::string, std::string> parse_domain_name(std::string_view text);

struct HostPort {
    std::string host;             // without brackets; names lower-cased, IPs canonical
    std::uint16_t port = 0;       // 1-65535
    std::optional<IpAddress> ip;  // set when host is an IP address literal

    bool is_ip() const { return ip.has_value(); }
    // "example.com:5269", "192.0.2.1:5269", "[2001:db8::1]:5269".
    std::string to_string() const;

    // "[::]:port": every address, IPv6 and (on a dual-stack socket) IPv4.
    static HostPort any_v6(std::uint16_t port);
    static HostPort any_v4(std::uint16_t port);
    friend bool operator==(const HostPort&, const HostPort&) = default;
};

// "host:port" where host is a name, an IPv4 address or a bracketed IPv6 address.
Result<HostPort, std::string> parse_host_port(std::string_view text);

enum class SipTransport { Udp, Tcp, Tls };

// "udp", "tcp", "tls".
std::string_view transport_name(SipTransport t);

struct SipTransportAddr {
    SipTransport transport = SipTransport::Udp;
    HostPort address;

    // "udp:127.0.0.1:5060".
    std::string to_string() const;
    friend bool operator==(const SipTransportAddr&, const SipTransportAddr&) = default;
};

// "transport:host:port" with transport udp, tcp or tls (lower case).
Result<SipTransportAddr, std::string> parse_sip_transport_addr(std::string_view text);

struct Cidr {
    IpAddress network;            // host bits are zero
    std::uint8_t prefix_len = 0;  // 0-32 for IPv4, 0-128 for IPv6

    // An IPv4 block also matches the IPv4-mapped IPv6 form of its addresses, which is what a
    // dual-stack listener sees.
    bool contains(const IpAddress& a) const;
    // "10.0.0.0/8", "2001:db8::/32"; a single address keeps its /32 or /128.
    std::string to_string() const;
    friend bool operator==(const Cidr&, const Cidr&) = default;
};

// "10.0.0.0/8", "fd00::/8", or a single address ("127.0.0.1" = /32, "::1" = /128). Host bits
// set below the prefix are refused, since they usually mean a typo in the prefix length.
Result<Cidr, std::string> parse_cidr(std::string_view text);

}  // namespace fedgw
