// Where to connect for an XMPP server-to-server stream: turns SRV answers into an ordered list
// of connection targets, and a target's A/AAAA results into an ordered list of addresses.
//
// Pure: no sockets, no clock, no c-ares. The caller runs the DNS queries (common/dns/resolver.hpp
// does, on libuv) and passes the answers in; randomness is injected so tests are deterministic.
//
// Specifications followed:
// - RFC 6120 §3.2.1: SRV lookup of _xmpp-server._tcp.<domain>; a single record whose target is
//   "." means the service is decidedly not offered at that domain (no fallback).
//   c-ares 1.18 returns that "." target as an empty string; both spellings are recognised.
// - RFC 6120 §3.2.2: when no SRV record exists (NXDOMAIN or NODATA), fall back to the domain's
//   own A/AAAA records on port 5269.
// - RFC 2782 "Usage rules": lowest priority first; within one priority a weighted random order
//   (records of weight 0 first in the running sum, a uniform number in [0, sum] picks the first
//   record whose running sum reaches it, repeat without it).
// - XEP-0368 §3 (Requirements): _xmpps-server._tcp.<domain> records name direct-TLS ports and
//   "SHOULD be treated as the same record [set] … all priorities and weights are mixed",
//   and "clients MAY choose to prefer one type of connection over the other".
//   What we do: both answers are merged by priority, so the operator's priorities decide between
//   STARTTLS and direct TLS; at equal priority the xmpps records come first (each group in its
//   own RFC 2782 weighted order) — we use the "MAY prefer" allowance in favour of direct TLS,
//   which saves round trips and cannot be stripped. (Openfire mixes weights across both sets;
//   Prosody 0.12 tries every xmpps target before any xmpp target whatever the priorities.)
//   XEP-0368 §5: an xmpps "." record means no direct TLS; the xmpp records are still used, and
//   since the domain has shown it publishes SRV, there is no A/AAAA fallback. Likewise, when
//   only xmpps records exist, they are used and there is no fallback.
//
// Decision table (xmpps answer × xmpp answer):
//   both absent (NXDOMAIN/NODATA)         → <domain>:5269, STARTTLS (RFC 6120 §3.2.2)
//   xmpp failed (timeout, SERVFAIL, …)    → the xmpps targets if any, else LookupFailed
//   xmpps failed                           → treated as absent (direct TLS is an optimisation)
//   otherwise                              → the merged usable records; none usable → NoService
//
// Address order: a target's addresses are interleaved by family, IPv6 first (v6, v4, v6, v4 …,
// each family keeping the resolver's order), duplicates dropped — "happy eyeballs lite" (after
// RFC 8305 §4) without racing: the connector tries them one after another, so a broken IPv6
// path costs one connect timeout before IPv4 is tried, never more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"

namespace fedgw::dns {

inline constexpr std::uint16_t kXmppServerPort = 5269;  // RFC 6120 §3.2.2 fallback port
inline constexpr std::string_view kXmppsServerService = "_xmpps-server._tcp.";  // XEP-0368
inline constexpr std::string_view kXmppServerService = "_xmpp-server._tcp.";    // RFC 6120

// One SRV resource record as parsed from an answer (RFC 2782 field names).
struct SrvRecord {
    std::string target;  // host name without trailing dot; "" or "." for "no service"
    std::uint16_t port = 0;
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    bool operator==(const SrvRecord&) const = default;
};

// The outcome of one SRV query, as far as selection cares.
enum class SrvStatus {
    Found,     // the answer holds SRV records (possibly the single "." record)
    NotFound,  // NXDOMAIN or NODATA: the domain publishes no such record
    Failed,    // no usable answer: timeout, refused, SERVFAIL, malformed
};

struct SrvAnswer {
    SrvStatus status = SrvStatus::NotFound;
    std::vector<SrvRecord> records;  // only meaningful with Found

    static SrvAnswer found(std::vector<SrvRecord> r) { return {SrvStatus::Found, std::move(r)}; }
    static SrvAnswer not_found() { return {SrvStatus::NotFound, {}}; }
    static SrvAnswer failed() { return {SrvStatus::Failed, {}}; }
};

// Where to open one TCP connection.
struct Target {
    std::string host;  // a DNS name or a numeric address, no trailing dot, no brackets
    std::uint16_t port = kXmppServerPort;
    bool direct_tls = false;  // XEP-0368: TLS from the first byte, no STARTTLS
    bool operator==(const Target&) const = default;
};

// Returns a number uniformly distributed in [0, bound); bound is at least 1.
using RandomSource = std::function<std::uint32_t(std::uint32_t bound)>;

enum class SelectionErrorKind {
    NoService,       // SRV says the service is not offered ("." record, or nothing usable)
    LookupFailed,    // the _xmpp-server lookup failed and xmpps gave nothing to use
    BadStaticRoute,  // the static route is not host, host:port, [v6] or [v6]:port
};

struct SelectionError {
    SelectionErrorKind kind;
    std::string text;
    std::string describe() const;
};

std::string_view selection_error_name(SelectionErrorKind k);

struct SelectionLimits {
    std::size_t max_records_per_service = 32;  // extra records in a hostile answer are ignored
    std::size_t max_targets = 16;              // how many targets one attempt may walk
    std::size_t max_addresses_per_target = 8;  // how many addresses per target are kept
};

// A DNS name we are willing to query: 1-253 characters of letters, digits, '-', '_' and '.',
// no empty label, not starting with '.' or '-'. A trailing dot must be removed first.
bool is_plausible_host(std::string_view host);

// True when the records say "decidedly not offered": exactly one record with target "" or ".".
bool is_no_service(const std::vector<SrvRecord>& records);

// RFC 2782 order of one service's records: ascending priority, weighted random within each
// priority. Records with target "" or ".", a target that is not a plausible host name, or port 0
// are dropped (they name nothing to connect to); so are records beyond `max_records`. Trailing
// dots are removed from targets.
std::vector<SrvRecord> order_srv(
    std::vector<SrvRecord> records, const RandomSource& random,
    std::size_t max_records = SelectionLimits{}.max_records_per_service);

// The ordered connection targets for `domain` (see the decision table above).
Result<std::vector<Target>, SelectionError> select_targets(std::string_view domain,
                                                           const SrvAnswer& xmpps,
                                                           const SrvAnswer& xmpp,
                                                           const RandomSource& random,
                                                           const SelectionLimits& limits = {});

// A partner's static route from the registry ("host", "host:port", "[v6]" or "[v6]:port";
// default port 5269, STARTTLS). It bypasses SRV entirely.
Result<Target, SelectionError> parse_static_route(std::string_view route);

enum class AddressFamily { V4, V6 };

struct IpAddress {
    AddressFamily family = AddressFamily::V4;
    std::string text;  // numeric form as inet_ntop writes it: "192.0.2.1", "2001:db8::1"
    bool operator==(const IpAddress&) const = default;
};

// Interleaves by family, IPv6 first, keeping each family's order; drops duplicates; keeps at
// most `max` addresses.
std::vector<IpAddress> order_addresses(
    const std::vector<IpAddress>& addresses,
    std::size_t max = SelectionLimits{}.max_addresses_per_target);

}  // namespace fedgw::dns
