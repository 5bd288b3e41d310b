// The per-host configuration: one TOML file (--config, default /etc/fedgw/fedgw.toml) holding
// what is local to one process — listen addresses, certificates and keys, the registry path,
// DNS servers, SIP next hops, log level and timers. Federation policy (partners, blocked
// domains, global limits and stream timeouts, dialback secret, body logging) lives in the SQLite
// registry, not here (docs: ../shared/DESIGN.md "Configuration vs registry").
//
// fedgw-proxy and fedgw-gateway read the same file format; each needs only its own section.
// Loading goes in three steps so each can be tested on its own:
//   parse_config / load_config   TOML syntax, types, unknown keys, value formats, defaults
//   validate(config, role)       the section that role needs is present and complete
//   check_files(config, role)    certificate, key and CA files exist and are readable
// config/fedgw.toml.example documents every key; a unit test keeps it loading.
//
// Pure: parse_config and validate do no I/O. load_config and check_files read the filesystem
// and are meant for start-up and reload only (STYLE.md §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "common/config/duration.hpp"
#include "common/log/log.hpp"

namespace fedgw {

// Which process is loading the file.
enum class Role {
    Proxy,    // fedgw-proxy, the XMPP s2s edge: reads [proxy]
    Gateway,  // fedgw-gateway, the XMPP<->SIP translator: reads [gateway]
};

// "proxy", "gateway": the section name for the role.
std::string_view role_name(Role r);

inline constexpr std::uint16_t kDefaultS2sPort = 5269;    // RFC 6120 §14.7
inline constexpr std::uint16_t kDefaultLinkPort = 23456;  // proxy -> gateway link
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;   // a bigger file is a mistake
inline constexpr std::size_t kMaxUnixSocketPath = 107;    // sizeof(sun_path) - 1 on Linux

// The file read when --config is not given: <sysconfdir>/fedgw/fedgw.toml of the build.
std::string_view default_config_path();

// ---- sections ----------------------------------------------------------------------------

struct LogConfig {
    log::Level level = log::Level::Info;
};

struct RegistryConfig {
    std::string path = "/var/lib/fedgw/registry.sqlite";
};

// [[proxy.domain]]: one local XMPP domain served on s2s, with its certificate.
struct LocalDomain {
    std::string name;  // lower-cased host name
    std::string cert;  // PEM certificate chain, leaf first
    std::string key;   // PEM private key
};

// [proxy.gateway_link]: the mutual-TLS link the proxy dials to the gateway.
struct GatewayLink {
    std::optional<HostPort> address;  // the gateway's listen address
    std::string name;                 // the name the gateway's certificate must carry; defaults to
                                      // address's host when that is a name
    std::string cert;                 // our client certificate (internal CA)
    std::string key;
    std::string ca;  // internal CA that signed the gateway's certificate
};

struct ProxyTimers {
    Duration dialback = Duration::seconds(30);       // wait for a db:result / db:verify answer
    Duration dns = Duration::seconds(10);            // one SRV/A/AAAA lookup
    Duration connect = Duration::seconds(10);        // one TCP connect attempt
    Duration reconnect_min = Duration::seconds(1);   // first retry of the gateway link
    Duration reconnect_max = Duration::seconds(60);  // retry backoff ceiling
    Duration shutdown_grace = Duration::seconds(5);  // close streams cleanly before exit

    friend bool operator==(const ProxyTimers&, const ProxyTimers&) = default;
};

struct ProxyConfig {
    std::vector<HostPort> listen{HostPort::any_v6(kDefaultS2sPort)};  // IP literals only
    // XEP-0368 direct TLS: TLS from the first byte, ALPN "xmpp-server". IP literals only;
    // empty (the default) opens no such port. None may share a socket with `listen`.
    std::vector<HostPort> direct_tls_listen;
    std::string control_socket = "/run/fedgw/proxy.sock";
    std::string trust_file = "/etc/ssl/certs/ca-certificates.crt";  // CAs for partner certs
    std::vector<HostPort> dns_servers;        // IP literals; empty = the system resolver
    std::vector<LocalDomain> domains;         // [[proxy.domain]]; required
    std::optional<GatewayLink> gateway_link;  // required
    ProxyTimers timers;
};

struct SipConfig {
    std::vector<SipTransportAddr> listen{
        SipTransportAddr{SipTransport::Udp, HostPort::any_v4(5070)},
        SipTransportAddr{SipTransport::Tcp, HostPort::any_v4(5070)}};  // IP literals only
    std::vector<SipTransportAddr> next_hops;  // the SIP platform, in order of preference
    // Sources accepted besides the next hops' own addresses; empty = the next hops only.
    std::vector<Cidr> trusted;
    std::string tls_cert;  // used (and then required) when a tls transport appears
    std::string tls_key;
    std::string tls_ca;

    // True when listen or next_hops name a tls transport.
    bool uses_tls() const;
};

struct GatewayTimers {
    Duration t1 = Duration::millis(500);             // RFC 3261 §17 round-trip estimate
    Duration t2 = Duration::seconds(4);              // RFC 3261 §17.1.2.2 retransmit cap
    Duration t4 = Duration::seconds(5);              // RFC 3261 §17.1.2.2 message lifetime
    double refresh_fraction = 0.5;                   // refresh SUBSCRIBE at this share of
                                                     // the granted expiry
    Duration shutdown_grace = Duration::seconds(5);  // end dialogs cleanly before exit

    friend bool operator==(const GatewayTimers&, const GatewayTimers&) = default;
};

struct GatewayConfig {
    std::vector<HostPort> listen{HostPort::any_v6(kDefaultLinkPort)};  // IP literals only
    std::string control_socket = "/run/fedgw/gateway.sock";
    std::vector<std::string> domains;  // SIP/XMPP domains the gateway fronts; required
    std::string cert;                  // link server certificate (internal CA); required
    std::string key;                   // required
    std::string ca;                    // internal CA that signed the proxy's certificate; required
    std::string proxy_name;            // the name the proxy's certificate must carry; required
    SipConfig sip;
    GatewayTimers timers;
};

struct Config {
    std::string source;  // the file's display name, used in every error message
    LogConfig log;
    RegistryConfig registry;
    std::optional<ProxyConfig> proxy;      // present when the file has [proxy]
    std::optional<GatewayConfig> gateway;  // present when the file has [gateway]
};

// ---- errors ------------------------------------------------------------------------------

enum class ConfigErrorCode {
    Unreadable,    // the configuration file itself could not be read
    TooLarge,      // the configuration file is larger than kMaxConfigBytes
    Syntax,        // the file is not valid TOML
    UnknownKey,    // a key or table the schema does not define (usually a typo)
    WrongType,     // a value of the wrong TOML type, e.g. a number where a string belongs
    InvalidValue,  // the right type but an unacceptable value (format, range, duplicate)
    Missing,       // a section or key the role needs is absent
    FileProblem,   // a file or directory the configuration names is missing or unreadable
};

// One line per code: "unknown key".
std::string_view describe(ConfigErrorCode c);

struct ConfigError {
    ConfigErrorCode code = ConfigErrorCode::InvalidValue;
    std::string file;        // display name of the configuration file
    std::string key;         // dotted path with array indexes, "proxy.domain[1].cert"; may be empty
    std::uint32_t line = 0;  // 1-based position in the file; 0 when unknown
    std::uint32_t column = 0;
    std::string message;  // what is wrong, quoting the offending value

    // "fedgw.toml:12:8: proxy.domain[1].cert: must be a string, not an integer"
    std::string describe() const;
};

// ---- loading -----------------------------------------------------------------------------

// Parses TOML text; display_name stands for the file in messages. Applies the defaults,
// refuses unknown keys, wrong types and malformed values. Does not check that a role's
// required keys are present: that is validate().
Result<Config, ConfigError> parse_config(std::string_view text, std::string_view display_name);

// Reads the file at path (at most kMaxConfigBytes) and parses it with path as display name.
Result<Config, ConfigError> load_config(const std::string& path);

// Checks that the section `role` needs is present and has every required key.
Result<void, ConfigError> validate(const Config& config, Role role);

// Checks that every certificate, key and CA file the role uses is a readable regular file, and
// that the directories of the registry and the control socket exist.
Result<void, ConfigError> check_files(const Config& config, Role role);

// load_config, validate and check_files in turn: what a service calls at start-up and reload.
Result<Config, ConfigError> load_config_for(Role role, const std::string& path);

}  // namespace fedgw
