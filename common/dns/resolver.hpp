// Asynchronous DNS for the proxy and fedgwctl: SRV and address lookups with c-ares on a libuv
// loop, and find_xmpp_server(), which turns an XMPP domain into the ordered list of endpoints
// to try (RFC 6120 §3.2, XEP-0368; the ordering rules are in target_selection.hpp).
//
// Loop-bound. c-ares is driven the way node.js drives it (see ../shared/reference/
// dependencies.md §4): ARES_OPT_SOCK_STATE_CB opens one uv_poll_t per c-ares socket, and one
// uv_timer_t is re-armed from ares_timeout() after every event. One Resolver per loop thread
// (c-ares 1.18 channels are not thread-safe).
//
// Callbacks are never called synchronously from inside resolve_*() / find_xmpp_server(), and never
// from inside c-ares: results are queued and delivered on a later loop turn, so a callback may
// destroy its owner, its Request, or the Resolver itself. After a Request is destroyed or
// cancelled, or after close(), its callback is never called. Nothing here throws.
//
// Timeouts: c-ares waits `timeout_ms` for the first try and doubles it on each further round of
// tries, so one query gives up after about timeout_ms × (2^tries − 1). find_xmpp_server() runs
// two phases (SRV, then addresses), so its worst case is twice that.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/result.hpp"
#include "common/dns/dns_error.hpp"
#include "common/dns/target_selection.hpp"

struct ares_channeldata;  // c-ares' channel; ares.h stays out of this header
struct ares_addrinfo;

namespace fedgw::dns {

struct ResolverOptions {
    // DNS servers in ares_set_servers_ports_csv() form, e.g. "127.0.0.1:5353,[::1]:53".
    // Empty: the system's /etc/resolv.conf.
    std::string servers;
    std::uint32_t timeout_ms = 2000;  // first try; c-ares doubles it on each later round
    int tries = 2;                    // rounds over the server list before giving up
    std::size_t max_pending = 1024;   // requests in flight; more fail with Busy
    SelectionLimits limits;
    // Weighted SRV selection; empty: a std::mt19937 seeded from std::random_device.
    RandomSource random;
};

// One address to connect to for an XMPP server-to-server stream.
struct Endpoint {
    IpAddress address;
    std::uint16_t port = kXmppServerPort;
    bool direct_tls = false;  // XEP-0368: TLS from the first byte, ALPN "xmpp-server"
    // The host this address came from: the SRV target, the static route's host, or the domain
    // itself on the RFC 6120 §3.2.2 fallback. For logs and diagnostics.
    std::string target_host;
    // The XMPP domain asked for. It, not target_host, is the TLS SNI (XEP-0368 §3) and the
    // reference identity for certificate checks (RFC 6120 §13.7.2.1, RFC 6125).
    std::string domain;
    bool operator==(const Endpoint&) const = default;
};

// Fills `out` from a numeric address and port; false if the text is not a numeric address.
bool to_sockaddr(const IpAddress& address, std::uint16_t port, sockaddr_storage* out);

class Resolver;

// The handle of one lookup in flight. Destroying it, or cancel(), withdraws the lookup: its
// callback will not be called. Safe to destroy after the Resolver is gone.
class [[nodiscard]] Request {
  public:
    Request() = default;
    Request(Request&& o) noexcept;
    Request& operator=(Request&& o) noexcept;
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    ~Request() { cancel(); }

    void cancel();
    // True until the callback has been called or the lookup withdrawn.
    bool is_pending() const;

  private:
    friend class Resolver;
    Request(std::weak_ptr<Resolver*> resolver, std::uint64_t id)
        : resolver_(std::move(resolver)), id_(id) {}

    // Liveness token: the Resolver clears it on close(), so a late cancel() is a no-op.
    std::weak_ptr<Resolver*> resolver_;
    std::uint64_t id_ = 0;
};

class Resolver {
  public:
    using SrvCallback = std::function<void(Result<std::vector<SrvRecord>, DnsError>)>;
    using AddressCallback = std::function<void(Result<std::vector<IpAddress>, DnsError>)>;
    using ServerCallback = std::function<void(Result<std::vector<Endpoint>, DnsError>)>;

    // Fails with BadConfig (bad servers list) or Internal (c-ares or libuv could not start).
    static Result<std::unique_ptr<Resolver>, DnsError> create(uv_loop_t* loop,
                                                              ResolverOptions options = {});
    ~Resolver();  // close()
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // The SRV records at `name` (e.g. "_xmpp-server._tcp.example.org"), as published; a "."
    // target comes back as "" (c-ares 1.18). NXDOMAIN and NODATA are NotFound.
    Request resolve_srv(std::string_view name, SrvCallback callback);
    // A and AAAA of `host` (or a numeric address as itself), ordered by order_addresses().
    Request resolve_addresses(std::string_view host, AddressCallback callback);
    // Everything needed to open an s2s stream to `domain`: both SRV lookups, the selection,
    // then the addresses of every selected target. A non-empty `static_route` ("host",
    // "host:port", "[v6]:port") bypasses SRV. Endpoints come in the order to try them; targets
    // that did not resolve are left out as long as one did.
    Request find_xmpp_server(std::string_view domain, std::string_view static_route,
                             ServerCallback callback);

    // Stops everything: ares_destroy(), every uv handle closed (their memory is freed in the
    // close callbacks, so run the loop once more before uv_loop_close()). No callback is called
    // after this. Idempotent; the destructor calls it. Safe from inside a result callback.
    void close();
    bool is_closed() const { return closed_; }
    // Requests accepted and not yet delivered or withdrawn.
    std::size_t pending() const { return ops_.size(); }

  private:
    friend class Request;
    struct Op;
    struct Query;
    struct PollHandle;

    explicit Resolver(uv_loop_t* loop, ResolverOptions options);
    Result<void, DnsError> init();

    std::uint64_t add_op(std::unique_ptr<Op> op);
    Request make_request(std::uint64_t id);
    void cancel(std::uint64_t id);
    Op* find_op(std::uint64_t id);
    void complete(std::uint64_t id, std::function<void()> deliver);
    void schedule_delivery();
    void deliver_ready();

    void start_srv(std::uint64_t op, int slot, const std::string& name);
    void start_addresses(std::uint64_t op, int slot, const std::string& host);
    void on_srv(std::uint64_t op, int slot, int status, const unsigned char* buf, int len);
    void on_addresses(std::uint64_t op, int slot, int status, ares_addrinfo* res);
    void server_srv_done(Op& op);
    void start_address_phase(Op& op, std::vector<Target> targets);
    void server_addresses_done(Op& op);

    void arm_timer();
    void on_sock_state(int fd, bool readable, bool writable);
    void close_poll(PollHandle* p);

    static void sock_state_cb(void* data, int fd, int readable, int writable);
    static void srv_cb(void* arg, int status, int timeouts, unsigned char* buf, int len);
    static void addrinfo_cb(void* arg, int status, int timeouts, ares_addrinfo* res);
    static void on_timer(uv_timer_t* t);
    static void on_deliver(uv_timer_t* t);
    static void on_poll(uv_poll_t* h, int status, int events);

    uv_loop_t* loop_;
    ResolverOptions options_;
    std::mt19937 rng_;
    RandomSource random_;
    ares_channeldata* channel_ = nullptr;
    uv_timer_t* timer_ = nullptr;    // c-ares timeouts; heap, freed in its close callback
    uv_timer_t* deliver_ = nullptr;  // zero-delay delivery of queued results
    std::unordered_map<int, PollHandle*> polls_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Op>> ops_;
    std::deque<std::uint64_t> ready_;
    std::uint64_t next_id_ = 1;
    bool closed_ = false;
    bool* destroyed_ = nullptr;  // set while delivering, so a callback may delete *this
    std::shared_ptr<Resolver*> token_;
};

}  // namespace fedgw::dns
