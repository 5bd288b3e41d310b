// LinkConnection: one proxy↔gateway link connection on a libuv loop — its uv_tcp_t, its
// TlsStream (mutual TLS in Require mode) and its LinkSession, plus one timer for every deadline
// (TCP connect + TLS + HELLO, the session's PING/PONG, the grace period of a graceful close).
// LinkClient dials with it and LinkServer accepts with it; they own it through a unique_ptr.
//
// Lifetime (STYLE.md §5, libuv handle lifetime):
//   connect() or accept() → on_up (HELLO done) → ... → on_down (exactly once, also for a
//   connection that never came up) → on_finished (every handle closed). The owner destroys the
//   connection in on_finished (that is the last thing the connection does) or later, never in
//   another callback. Callbacks may call send_stanza(), stanza_done() and close().
// Graceful close: GOODBYE, TLS close_notify, wait for the peer's (at most close_grace_ms), then
// the handles close. Any failure closes the handles at once.
//
// Loop-bound.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <uv.h>

#include "common/base/result.hpp"
#include "common/link/link_codec.hpp"
#include "common/linkio/link_session.hpp"
#include "common/tls/tls_context.hpp"
#include "common/tls/tls_session.hpp"

namespace fedgw {
class TlsStream;
enum class StreamCloseReason;
}  // namespace fedgw

namespace fedgw::link {

struct ConnectionTimers {
    // From connect() or accept() until the HELLO exchange completes (TCP, TLS and HELLO).
    std::int64_t handshake_timeout_ms = 10000;
    // How long a graceful close waits for the peer's close_notify before dropping the socket.
    std::int64_t close_grace_ms = 2000;
};

// A snapshot for diagnostics (fedgwctl diag, logs).
struct LinkConnectionStats {
    std::uint64_t id = 0;
    std::string peer_address;  // "127.0.0.1:41234"
    std::string peer_node;     // from the peer's HELLO; empty until then
    SessionState session = SessionState::Idle;
    bool up = false;                    // HELLO done and not closed
    std::int64_t up_since_unix_ms = 0;  // wall clock when it came up; 0 when never
    std::string tls_version;            // "TLSv1.3"; empty before the handshake
    std::string tls_cipher;
    std::uint32_t send_credit = 0;  // STANZA frames we may still send
    std::uint32_t peer_window = 0;
    std::uint32_t window = 0;  // what we granted the peer
    std::uint32_t unacknowledged_in = 0;
    SessionCounters counters{};
};

class LinkConnection {
  public:
    struct Callbacks {
        std::function<void(const Hello& peer)> on_up;
        std::function<void(StanzaFrame stanza)> on_stanza;
        std::function<void(std::uint64_t version, std::string json)> on_registry;
        std::function<void()> on_writable;
        // Exactly once. `was_up`: on_up had fired.
        std::function<void(const CloseReason& reason, bool was_up)> on_down;
        // Every handle is closed; the owner may destroy the connection now.
        std::function<void()> on_finished;
    };

    LinkConnection(uv_loop_t* loop, std::uint64_t id, SessionConfig session,
                   ConnectionTimers timers, Callbacks callbacks);
    ~LinkConnection();
    LinkConnection(const LinkConnection&) = delete;
    LinkConnection& operator=(const LinkConnection&) = delete;

    // Client: opens TCP to `addr`, then TLS with `tls` (which must outlive the connection).
    // Failures (also immediate ones) are reported through on_down.
    void connect(const sockaddr* addr, const TlsContext& tls, TlsSessionOptions options);
    // Server: accepts a pending connection from `listener`, then TLS. Returns false when the
    // accept itself failed (on_down and on_finished follow all the same).
    bool accept(uv_stream_t* listener, const TlsContext& tls, TlsSessionOptions options);

    Result<void, SendRefusal> send_stanza(StanzaFrame stanza);
    Result<void, SendRefusal> send_registry(std::uint64_t version, std::string json);
    void stanza_done(std::uint32_t n = 1);
    // Graceful close with GOODBYE(reason); before the HELLO exchange, simply drops the socket.
    void close(std::string_view reason);

    std::uint64_t id() const { return id_; }
    bool is_up() const { return up_ && session_.is_established(); }
    bool can_send() const { return session_.can_send(); }
    // on_down has fired: the connection is going away.
    bool is_down() const { return down_reported_; }
    bool is_finished() const { return finished_; }
    // The TCP connection was established (the client's connect succeeded).
    bool tcp_connected() const { return tcp_connected_; }
    const LinkSession& session() const { return session_; }
    LinkConnectionStats stats() const;

  private:
    struct TcpHandle;
    struct ConnectReq;
    static void on_connect(uv_connect_t* req, int status);
    static void on_tcp_closed(uv_handle_t* handle);
    static void on_timer_closed(uv_handle_t* handle);
    static void on_timer(uv_timer_t* timer);

    void connected(int status);
    void start_tls(uv_stream_t* stream);
    void handshake_done();
    void tls_closed(StreamCloseReason reason, std::string_view detail);
    void pump();
    void dispatch(SessionEvent event);
    void begin_graceful_close();
    void report_down(CloseReason reason);
    void close_handles();
    void handle_closed();
    void rearm();
    void timer_fired();
    std::int64_t now() const;

    uv_loop_t* loop_;
    std::uint64_t id_;
    ConnectionTimers timers_;
    Callbacks cb_;
    LinkSession session_;
    const TlsContext* tls_context_ = nullptr;
    TlsSessionOptions tls_options_{};
    std::unique_ptr<TcpHandle> tcp_;
    std::unique_ptr<uv_timer_t> timer_;
    std::unique_ptr<TlsStream> tls_;
    ConnectReq* connect_req_ = nullptr;
    std::optional<TlsError> tls_error_;
    std::optional<CloseReason> deferred_down_;  // reported from the close callback
    std::string peer_address_;

    std::int64_t handshake_deadline_ms_ = 0;
    std::optional<std::int64_t> grace_deadline_ms_;
    std::int64_t up_since_unix_ms_ = 0;
    int pump_depth_ = 0;
    int open_handles_ = 2;
    bool tcp_connected_ = false;
    bool up_ = false;
    bool tls_closing_ = false;
    bool handles_closing_ = false;
    bool down_reported_ = false;
    bool finished_ = false;
};

}  // namespace fedgw::link
