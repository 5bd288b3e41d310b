// Private to common/dns: the Resolver's bookkeeping types, shared by resolver.cpp (the lookups)
// and resolver_channel.cpp (the c-ares channel on libuv).
//
// Loop-bound.
#pragma once

#include <ares.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns/resolver.hpp"

namespace fedgw::dns {

inline Unexpected<DnsError> dns_fail(DnsErrorKind k, std::string text) {
    return Unexpected(DnsError{k, std::move(text)});
}

// A c-ares status as a DnsError naming `what` was looked up.
DnsError from_ares(int status, std::string_view what);

// One request, from the public call to its delivery.
struct Resolver::Op {
    enum class Kind { Srv, Addresses, Server };
    Kind kind = Kind::Srv;
    std::uint64_t id = 0;
    std::string name;  // what the caller asked for (SRV name, host, or XMPP domain)
    SrvCallback srv_cb;
    AddressCallback address_cb;
    ServerCallback server_cb;
    std::function<void()> deliver;  // set once the result is known
    // find_xmpp_server state
    int waiting = 0;  // c-ares queries still out
    SrvAnswer answers[2];
    std::optional<DnsError> srv_errors[2];
    std::vector<Target> targets;
    std::vector<std::string> hosts;  // distinct target hosts, each looked up once
    std::vector<std::optional<Result<std::vector<IpAddress>, DnsError>>> host_results;
};

// The argument c-ares carries for one query; freed in its callback, which c-ares always calls
// (with ARES_EDESTRUCTION from ares_destroy at the latest).
struct Resolver::Query {
    Resolver* resolver;
    std::uint64_t op;
    int slot;
    std::string name;
};

struct Resolver::PollHandle {
    uv_poll_t poll;
    Resolver* resolver;
    int fd;
};

}  // namespace fedgw::dns
