// SipStack: fedgw-gateway's SIP endpoint. UDP, TCP and TLS transports on the configured
// listen addresses, non-INVITE client and server transactions from libosip2 (NICT and NIST,
// RFC 3261 §17.1.2 and §17.2.2) driven from the libuv loop, and the trust check on every
// incoming request.
//
// Client side: send_request(request, next_hop, callback). The stack sets the top Via (our
// transport and sent-by, a new branch, rport on UDP; RFC 3261 §18.1.1, RFC 3581), dials or
// reuses the connection, and calls the callback exactly once, on a later loop turn, with the
// final response or a RequestError: Timeout when Timer F (64*T1) fires first (the 408 that
// turns a dead SIP next hop into an XMPP error), TransportError when the request could not be
// sent or its connection failed, Shutdown when close() comes first. Provisional responses are
// absorbed.
//
// Server side: on_request(handler) gets each new request once (retransmissions are absorbed
// by the server transaction, which re-sends the last response) with a ServerTransaction
// handle; respond(handle, status, ...) may come later. A request nobody answers within the
// answer deadline gets 504 Server Time-out from the stack. Before a transaction is created:
//  - a request from a source that is neither a next hop nor in a trusted block gets 403
//    Forbidden and a log line (trust.hpp);
//  - INVITE gets 488 Not Acceptable Here (we do not do calls), CANCEL 481, both statelessly
//    (§8.2.7 stateless UAS; the To tag is derived from the branch so retransmissions get the
//    same answer); ACK is dropped;
//  - unparsable messages are dropped with a log line; over the transaction limit, 503 with
//    Retry-After.
//
// Timers: libosip2 compiles T1/T2/T4 in (500 ms / 4 s / 5 s) and offers no setting. The stack
// makes them configurable by rewriting each transaction's timer fields: after creating a
// transaction (Timer E = T1, Timer F = 64*T1 and its deadline, Timer K = T4, Timer J = 64*T1,
// 0 on reliable transports) and in the "request sent again" and "1xx received" callbacks,
// where it re-arms Timer E itself as min(2^n*T1, T2), or T2 once a provisional arrived
// (§17.1.2.2). libosip2's timers read the wall clock (gettimeofday), so the transaction layer
// is loop-bound and a wall-clock jump moves them; the uv_timer that wakes us is armed from
// osip_timers_gettimeout() after every pass.
//
// libosip2 rules followed (dependencies.md §5): <sys/time.h> before osip2/osip.h; a
// transaction is never freed inside its own kill callback but moved to a graveyard freed after
// the *_execute calls; user callbacks never run inside libosip2 either: they are queued and
// run after the pass, so they may call send_request, respond or close.
//
// Loop-bound.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/config/config.hpp"
#include "common/tls/tls_context.hpp"
#include "gateway/sip/sip_builder.hpp"
#include "gateway/sip/sip_error.hpp"
#include "gateway/sip/sip_message.hpp"
#include "gateway/sip/transport.hpp"
#include "gateway/sip/trust.hpp"

namespace fedgw::dns {
class Resolver;
}

namespace fedgw::gateway::sip {

struct SipTimers {
    std::uint32_t t1_ms = 500;   // RFC 3261 §17.1.1.1 round-trip estimate
    std::uint32_t t2_ms = 4000;  // §17.1.2.2 retransmission cap for non-INVITE requests
    std::uint32_t t4_ms = 5000;  // §17.1.2.2 maximum message lifetime (Timer K)
};

struct SipStackOptions {
    std::vector<SipTransportAddr> listen;     // IP literals; port 0 picks a free port
    std::vector<SipTransportAddr> next_hops;  // trusted as request sources
    std::vector<Cidr> trusted;                // further trusted sources
    SipTimers timers{};
    SipLimits limits{};
    // A request the transaction user has not answered after this long gets 504 from the
    // stack; 0: 32*T1, half of the client's Timer F, so the answer still reaches it.
    std::uint32_t answer_deadline_ms = 0;
    std::uint64_t connect_timeout_ms = 10'000;
    std::uint64_t idle_timeout_ms = 300'000;
    std::uint64_t keepalive_interval_ms = 0;   // CRLFCRLF pings on dialled connections
    std::size_t max_connections = 256;         // accepted, and dialled, each
    std::size_t max_transactions = 4096;       // client and server together
    const TlsContext* tls_server = nullptr;    // needed for tls listeners (borrowed)
    const TlsContext* tls_client = nullptr;    // needed for tls next hops (borrowed)
    RandomSource random{};                     // empty: system_random_source()
    dns::Resolver* resolver = nullptr;         // for next hops given by name (borrowed)
    std::string user_agent = "fedgw-gateway";  // Server / User-Agent header; empty: none
};

// The options [gateway.sip] and [gateway.timers] describe; TLS contexts, the random source
// and the resolver are the caller's to add.
SipStackOptions stack_options_from_config(const SipConfig& sip, const GatewayTimers& timers);

// A request waiting for its answer. Copyable; respond() looks the transaction up by id.
struct ServerTransaction {
    std::uint64_t id = 0;
    PeerAddress source;  // where the request came from
};

struct SipStackStats {
    std::size_t client_transactions = 0;  // in progress
    std::size_t server_transactions = 0;
    std::size_t connections = 0;
    std::uint64_t retransmissions_absorbed = 0;  // request retransmissions a NIST answered
    std::uint64_t untrusted_refused = 0;
    std::uint64_t unparsable_dropped = 0;
};

struct SipStackError {
    std::string text;  // "cannot listen on udp:0.0.0.0:5060: address already in use"
};

class SipStack {
  public:
    using ResponseCallback = std::function<void(Result<SipMessage, RequestError> result)>;
    using RequestHandler =
        std::function<void(const SipMessage& request, const ServerTransaction& transaction)>;
    using ClientTransactionId = std::uint64_t;

    static Result<std::unique_ptr<SipStack>, SipStackError> create(uv_loop_t* loop,
                                                                   SipStackOptions options);
    ~SipStack();  // close()
    SipStack(const SipStack&) = delete;
    SipStack& operator=(const SipStack&) = delete;

    // Sends `request` to `next_hop` in a new client transaction. The callback runs exactly
    // once, never from inside this call.
    ClientTransactionId send_request(SipMessage request, const SipTransportAddr& next_hop,
                                     ResponseCallback callback);
    // Withdraws the callback of a transaction in progress (it still runs to its end).
    void forget(ClientTransactionId id);

    // Without a handler every request gets 501 Not Implemented.
    void on_request(RequestHandler handler);
    // Answers a server transaction: any number of provisional responses, then one final one.
    // An empty reason takes the standard phrase.
    Result<void, RespondError> respond(const ServerTransaction& transaction, int status,
                                       std::string_view reason = {}, const ResponseSpec& spec = {});

    // The bound listen addresses, port 0 resolved, in configuration order.
    const std::vector<SipTransportAddr>& local_addresses() const { return local_; }
    // "sip:host:port;transport=tcp" for our first listener of `transport` (UDP: no
    // transport parameter), for Contact headers; empty when there is none.
    std::string contact_uri(SipTransport transport) const;
    bool is_trusted(const IpAddress& source) const;
    SipStackStats stats() const;

    // Stops: every pending ResponseCallback runs with Shutdown before close() returns, open
    // server transactions are dropped, every handle is closed (run the loop to finish).
    // Idempotent; the destructor calls it.
    void close();
    bool is_closed() const { return closed_; }

    struct Impl;  // public for libosip2's C callbacks; opaque elsewhere

  private:
    explicit SipStack(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::vector<SipTransportAddr> local_;
    bool closed_ = false;
};

}  // namespace fedgw::gateway::sip
