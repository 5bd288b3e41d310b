// S2sConnection: one TCP connection of the proxy, inbound (a partner connected to our 5269) or
// outbound (we connect to a partner), owning its socket, its TLS adapter, its timer and the
// pure stream core that speaks the protocol on it.
//
// Loop-bound. One owner: the Router's table holds every connection by id; everyone else holds
// the id. Teardown goes through uv_close; the Router erases the connection in the last close
// callback, never inside a callback of the connection itself.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/tls/tls_context.hpp"
#include "common/tls/tls_stream.hpp"
#include "proxy/s2s/inbound_stream.hpp"
#include "proxy/s2s/outbound_stream.hpp"

namespace fedgw::proxy {

enum class Direction { Inbound, Outbound };
std::string_view name(Direction d);

// What the connection asks the router for; the router implements it.
class ConnectionOwner {
  public:
    virtual ~ConnectionOwner() = default;
    // Actions the connection does not handle itself (DeliverStanza, VerifyDialbackKey,
    // DomainAuthenticated, DialbackVerifyAnswer, StreamReady, CloseStream).
    virtual void on_stream_action(std::uint64_t conn_id, StreamAction& action) = 0;
    // TLS context for StartTls: inbound (server) for the local domain the peer's stream header
    // named, or outbound (client) for our local domain; `direct_tls` asks for the one that
    // offers ALPN "xmpp-server" (XEP-0368).
    virtual const TlsContext* server_tls(std::string_view local_domain) const = 0;
    virtual const TlsContext* client_tls(std::string_view local_domain, bool direct_tls) const = 0;
    // The socket is gone and every handle closed: erase the connection (deferred by the owner).
    virtual void on_connection_finished(std::uint64_t conn_id) = 0;
    // Write queue crossed the high (true) or low (false) watermark.
    virtual void on_backpressure(std::uint64_t conn_id, bool high) = 0;
};

// One connection as diagnostics (the control socket's "streams") see it.
struct ConnectionStats {
    std::uint64_t id = 0;
    Direction direction = Direction::Inbound;
    std::string remote_address;  // "ip:port"
    std::string local_domain;
    std::string remote_domain;   // the authenticated (or, outbound, the dialled) domain
    std::string partner_domain;  // the registry partner's primary domain when known
    std::string state;           // "connecting", "negotiating", "established", "closing"
    AuthMethod auth = AuthMethod::None;
    bool direct_tls = false;  // XEP-0368: TLS from the first byte
    std::string tls_protocol;
    std::string tls_cipher;
    std::string alpn;              // the ALPN protocol agreed ("xmpp-server" on direct TLS)
    std::uint64_t started_ms = 0;  // loop time (uv_now) when the connection began
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t stanzas_in = 0;   // stanzas received from the partner and routed
    std::uint64_t stanzas_out = 0;  // stanzas written to the partner
    std::uint64_t keepalives_out = 0;
    std::size_t write_queue_bytes = 0;
    std::size_t queue = 0;  // outbound: stanzas waiting on the route (filled by the Router)
};

class S2sConnection {
  public:
    using Core = std::variant<std::unique_ptr<InboundStream>, std::unique_ptr<OutboundStream>>;

    S2sConnection(uv_loop_t* loop, ConnectionOwner& owner, std::uint64_t id, Direction dir);
    ~S2sConnection();
    S2sConnection(const S2sConnection&) = delete;
    S2sConnection& operator=(const S2sConnection&) = delete;

    std::uint64_t id() const { return id_; }
    Direction direction() const { return dir_; }
    uv_tcp_t* tcp() { return tcp_; }
    const std::string& remote_domain() const { return remote_domain_; }
    const std::string& local_domain() const { return local_domain_; }

    // Inbound: the socket was accepted into tcp(); the core speaks first on its input. With
    // `direct_tls` (XEP-0368) the TLS handshake runs first (SNI picks the domain's
    // certificate), and the core's stream begins inside it; a client whose ALPN offer lacks
    // "xmpp-server" is closed after the handshake without a stream (s2s.alpn_refused).
    void start_inbound(std::unique_ptr<InboundStream> core, const TlsContext* direct_tls = nullptr);
    // Outbound: connect to `addr`; on success the core's start() writes our stream header (or,
    // for a direct TLS core, asks for the handshake first). A failed connect closes the
    // connection and reports CloseStream with a bounce.
    void start_outbound(std::unique_ptr<OutboundStream> core, const sockaddr* addr,
                        std::string local_domain, std::string remote_domain,
                        std::uint64_t connect_timeout_ms, bool direct_tls = false);

    InboundStream* inbound();
    OutboundStream* outbound();

    // Drains the core's outbox (call after calling into the core from outside).
    void pump();
    // Stops reading from the socket (backpressure from the link) and resumes.
    void pause_reading();
    void resume_reading();
    void update_reading();  // applies backpressure_paused_ and throttled_ to the transport
    // Ends the connection without a protocol close (the core already closed, or it is gone).
    void shutdown();
    bool is_closing() const { return closing_; }
    // The write queue passed the high watermark and has not drained below the low one yet:
    // the partner reads slower than we write.
    bool is_congested() const { return high_water_; }
    bool is_direct_tls() const { return direct_tls_; }

    ConnectionStats stats() const;

  private:
    static void on_connect(uv_connect_t* req, int status);
    static void on_timer(uv_timer_t* t);
    static void on_tcp_closed(uv_handle_t* h);
    static void on_timer_closed(uv_handle_t* h);
    // The socket with a way back to us: TlsStream claims the handle's data field.
    struct TcpBox {
        uv_tcp_t tcp;
        S2sConnection* self;
    };

    std::uint64_t now() const { return uv_now(loop_); }
    void attach_stream();
    void on_data(std::string_view data);
    void feed_core(std::string_view data);
    void handle(StreamAction& action);
    void arm_timer();
    void timer_fired();
    void begin_tls(const StartTls& st, std::string_view leftover);
    void tls_done();
    void transport_closed(std::string_view why);
    void close_handles();

    uv_loop_t* loop_;
    ConnectionOwner& owner_;
    std::uint64_t id_;
    Direction dir_;
    Core core_;
    TcpBox* box_;        // freed in its close callback
    uv_tcp_t* tcp_;      // &box_->tcp
    uv_timer_t* timer_;  // freed in its close callback
    uv_connect_t* connect_ = nullptr;
    std::unique_ptr<TlsStream> tls_;
    std::array<std::optional<std::uint64_t>, 6> deadlines_{};  // by TimerKind, + connect
    std::string pending_;          // bytes received after the core asked for TLS, before start
    std::string transport_error_;  // how the transport failed, for CloseStream's reason
    bool connect_timed_out_ = false;
    bool tls_requested_ = false;
    bool reading_paused_ = false;       // the transport is not being read, for either reason:
    bool backpressure_paused_ = false;  // the router's (gateway busy)
    bool throttled_ = false;            // the stream's (over the partner's stanza rate)
    bool closing_ = false;
    bool high_water_ = false;
    bool direct_tls_ = false;
    int open_handles_ = 2;
    std::string local_domain_, remote_domain_, remote_address_;
    std::string tls_protocol_, tls_cipher_, alpn_;
    std::uint64_t started_ms_ = 0, bytes_in_ = 0, bytes_out_ = 0;
};

}  // namespace fedgw::proxy
