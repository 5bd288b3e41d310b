// Internal to common/config: one reader per top-level section, and the value parsers the
// sections share (paths, listen addresses, domain names).
//
// Pure.
#pragma once

#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "common/config/config.hpp"
#include "common/config/toml_reader.hpp"

namespace fedgw::config_detail {

// The timers' common upper bound: nothing we time should take longer than an hour.
inline constexpr Duration kMaxTimer = Duration::hours(1);
// The largest path we accept (PATH_MAX - 1 on Linux).
inline constexpr std::size_t kMaxPath = 4095;

// An absolute path without NUL characters.
Result<std::string, std::string> parse_path(std::string_view text);
// An absolute path short enough to bind as a Unix socket.
Result<std::string, std::string> parse_socket_path(std::string_view text);
// A host name (parse_domain_name), as a config value.
Result<std::string, std::string> parse_name(std::string_view text);
// "host:port" where host must be an IP address: what a socket can bind to.
Result<HostPort, std::string> parse_listen_address(std::string_view text);
// "transport:ip:port" for a SIP listener.
Result<SipTransportAddr, std::string> parse_sip_listen_address(std::string_view text);
// An IP address with an optional port (53 when left out): "127.0.0.1", "[::1]:5353".
Result<HostPort, std::string> parse_dns_server(std::string_view text);

// [proxy] and [gateway]: `r` reads the section's table.
ProxyConfig read_proxy(TableReader& r);
GatewayConfig read_gateway(TableReader& r);

}  // namespace fedgw::config_detail
