// The closed set of DNS lookup failures the proxy and fedgwctl see.
//
// Pure: no I/O. The resolver (resolver.hpp) maps c-ares statuses and selection outcomes onto
// it; callers map it onward, e.g. a stanza waiting for an unresolvable domain bounces with
// remote-server-not-found, one waiting on a DNS timeout with remote-server-timeout
// (RFC 6120 §8.3.3.15 and §8.3.3.16).
#pragma once

#include <string>
#include <string_view>

namespace fedgw::dns {

enum class DnsErrorKind {
    NotFound,       // the name does not exist or has no usable record (NXDOMAIN, NODATA)
    NoService,      // SRV says the XMPP service is decidedly not offered ("." target)
    Timeout,        // no answer from any DNS server within the configured timeout and tries
    Refused,        // the DNS server refused the query, or nothing listens where it should
    ServerFailure,  // the DNS server answered SERVFAIL
    BadResponse,    // the answer was malformed or could not be parsed
    BadName,        // the name or static route is not something that can be looked up
    BadConfig,      // the resolver configuration is invalid (servers list, options)
    Busy,           // too many lookups in flight (the resolver's max_pending limit)
    Internal,       // c-ares or libuv failed (out of memory, channel creation)
};

struct DnsError {
    DnsErrorKind kind = DnsErrorKind::Internal;
    std::string text;  // names what was looked up and what happened

    // One line for logs and fedgwctl: "timeout: _xmpp-server._tcp.example.org: Timeout …".
    std::string describe() const;
    // True for failures that may go away on retry (Timeout, Refused, ServerFailure, Busy):
    // the s2s layer bounces with remote-server-timeout then, else remote-server-not-found.
    bool is_transient() const;
};

// "not-found", "no-service", "timeout", …
std::string_view dns_error_name(DnsErrorKind k);

}  // namespace fedgw::dns
