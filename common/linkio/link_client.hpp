// LinkClient: the proxy's end of the proxy↔gateway link (docs/ARCHITECTURE.md, "The
// proxy↔gateway link wire format"). It dials the gateway (the host name is resolved with
// uv_getaddrinfo on every attempt, each address tried in turn), runs TLS in Require mode
// against the internal CA with our client certificate (mutual TLS) and the gateway's
// configured name, then a LinkSession; after any failure or loss it reconnects with exponential
// backoff between reconnect_min and reconnect_max, each delay shortened by a random jitter.
//
// Contract with the owner (the proxy's router):
//   - on_up(peer) when the HELLO exchange completes; on_down(reason) when a link that was up
//     ends (also on close()). on_attempt_failed(reason) for attempts that never came up.
//     The protocol has no HELLO acknowledgement: on_up means the gateway's HELLO was valid, and
//     a gateway that refuses ours answers with GOODBYE, seen as on_down right after on_up. A
//     link that goes down before reconnect_max has passed keeps the backoff growing.
//   - send_stanza(frame): succeeds only while up with credit. Refusals:
//       NotEstablished: the link is down. Answer the partner with a service-unavailable stanza
//         error (ARCHITECTURE.md, inbound step 4); never drop silently.
//       NoCredit: the gateway has not finished earlier stanzas. Stop reading from partner
//         streams (backpressure through TCP) and retry on on_writable().
//       Unencodable / TooLarge: this stanza can never cross the link; bounce it.
//   - on_stanza(frame) for each stanza from the gateway; call stanza_done(n) once n of them have
//     been written to partner streams (or bounced). Credit flows back in batches. Completions
//     for stanzas of a link that has since gone down count toward the current link, clamped to
//     what it has outstanding: harmless, as the gateway still never exceeds our window.
//   - on_registry(version, json) for each REGISTRY snapshot.
//   - close(reason) for shutdown: GOODBYE, TLS close, then on_closed(); destroy the client only
//     after on_closed (inside it is fine). Never destroy it inside another callback.
//
// Loop-bound.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <uv.h>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "common/linkio/link_connection.hpp"
#include "common/linkio/link_session.hpp"
#include "common/linkio/link_setup.hpp"
#include "common/tls/tls_context.hpp"

namespace fedgw {
struct GatewayLink;
struct ProxyTimers;
}  // namespace fedgw

namespace fedgw::link {

struct LinkClientOptions {
    HostPort gateway;          // where to dial: a host name or an IP literal, and the port
    std::string gateway_name;  // the gateway's certificate must carry it, and its HELLO node too
    std::string cert_file;     // our client certificate chain (internal CA), PEM
    std::string key_file;
    std::string ca_file;  // the internal CA
    std::string node;     // our HELLO node; empty: the first DNS name of our certificate
    SessionLimits session{};
    ConnectionTimers timers{};  // handshake_timeout also bounds the name lookup
    std::int64_t reconnect_min_ms = 1000;
    std::int64_t reconnect_max_ms = 60000;
    double jitter = 0.25;           // each delay is shortened by up to this share
    std::uint32_t random_seed = 0;  // 0: seeded from std::random_device
};

// Options from the proxy's configuration ([proxy.gateway_link] and [proxy.timers]).
LinkClientOptions client_options(const GatewayLink& link, const ProxyTimers& timers);

struct LinkClientCallbacks {
    std::function<void(const Hello& peer)> on_up;
    std::function<void(const CloseReason& reason)> on_down;
    std::function<void(StanzaFrame stanza)> on_stanza;
    std::function<void(std::uint64_t version, std::string json)> on_registry;
    std::function<void()> on_writable;
    std::function<void(const CloseReason& reason)> on_attempt_failed;  // optional
    std::function<void()> on_closed;                                   // optional
};

struct LinkClientStats {
    bool up = false;
    std::optional<LinkConnectionStats> link;  // the current connection, if any
    std::uint64_t attempts = 0;               // connection attempts started
    std::uint64_t reconnects = 0;             // attempts after the first
    std::uint64_t failed_attempts = 0;        // attempts that never came up
    std::uint64_t ups = 0;                    // times the link came up
    std::uint64_t stanzas_in = 0;             // over every connection
    std::uint64_t stanzas_out = 0;
    std::string last_error;                // the last attempt failure or link loss
    std::int64_t next_attempt_in_ms = -1;  // while waiting to reconnect; -1 otherwise
};

class LinkClient {
  public:
    // Builds the TLS context (and the node name from our certificate). Does not dial yet.
    static Result<std::unique_ptr<LinkClient>, SetupError> create(uv_loop_t* loop,
                                                                  LinkClientOptions options,
                                                                  LinkClientCallbacks callbacks);
    ~LinkClient();
    LinkClient(const LinkClient&) = delete;
    LinkClient& operator=(const LinkClient&) = delete;

    // Starts the first attempt now. Once.
    void start();

    Result<void, SendRefusal> send_stanza(StanzaFrame stanza);
    void stanza_done(std::uint32_t n = 1);
    bool is_up() const;
    bool can_send() const;
    const std::string& node() const { return options_.node; }

    // Graceful shutdown: no more attempts, GOODBYE on an up link, then on_closed().
    void close(std::string_view reason = "shutdown");
    bool is_closed() const { return closed_; }

    LinkClientStats stats() const;

  private:
    struct ResolveReq;
    struct TimerHandle;
    enum class State { Idle, Resolving, Connecting, Up, Backoff, Closing, Closed };

    LinkClient(uv_loop_t* loop, LinkClientOptions options, LinkClientCallbacks callbacks,
               TlsContext tls);
    static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
    static void on_timer(uv_timer_t* timer);
    static void on_timer_closed(uv_handle_t* handle);

    void begin_attempt();
    void resolved(int status, addrinfo* res);
    void connect_next();
    bool is_current(std::uint64_t id) const;
    void connection_down(std::uint64_t id, const CloseReason& reason, bool was_up);
    void connection_finished(std::uint64_t id);
    void attempt_failed(const CloseReason& reason);
    void schedule_reconnect();
    void start_timer(std::int64_t delay_ms);
    void timer_fired();
    void cancel_resolve();
    void maybe_closed();
    std::int64_t backoff_delay_ms();
    std::int64_t now() const;

    uv_loop_t* loop_;
    LinkClientOptions options_;
    LinkClientCallbacks cb_;
    TlsContext tls_;
    State state_ = State::Idle;
    TimerHandle* timer_ = nullptr;  // freed in its close callback
    ResolveReq* resolve_ = nullptr;
    std::vector<sockaddr_storage> addresses_;
    std::size_t next_address_ = 0;
    CloseReason last_attempt_error_{};
    std::vector<std::unique_ptr<LinkConnection>> connections_;  // the current one last
    LinkConnection* current_ = nullptr;
    std::uint64_t next_conn_id_ = 1;
    std::uint32_t failures_ = 0;  // consecutive; decides the backoff
    std::int64_t up_at_ms_ = 0;
    std::int64_t timer_due_ms_ = -1;
    std::mt19937 rng_;
    bool closed_ = false;

    // Statistics.
    std::uint64_t attempts_ = 0;
    std::uint64_t failed_attempts_ = 0;
    std::uint64_t ups_ = 0;
    std::uint64_t stanzas_in_done_ = 0;  // from finished connections
    std::uint64_t stanzas_out_done_ = 0;
    std::string last_error_;
};

}  // namespace fedgw::link
