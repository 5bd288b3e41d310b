// LinkServer: the gateway's end of the proxy↔gateway link (docs/ARCHITECTURE.md, "The
// proxy↔gateway link wire format"). It listens on the configured addresses (IP literals), runs
// TLS in Require mode — the proxy's client certificate must verify against the internal CA and
// carry the configured proxy name — and one LinkSession per accepted connection.
//
// A gateway normally has one proxy, but several may connect (a restarting proxy overlapping its
// old connection, or several edges); each connection has an id, one owner (a table of
// unique_ptr, STYLE.md §5) and its own callbacks. Connections beyond max_connections are closed
// at once.
//
// Contract with the owner (the gateway's router):
//   - on_up(id, peer) when a proxy's HELLO exchange completes: send it the registry snapshot
//     then (send_registry(id, ...)). on_down(id, reason) when an up connection ends;
//     on_refused(reason) for connections that never came up (TLS refused, HELLO mismatch).
//   - send_stanza(id, frame) or send_stanza_any(frame): refusals as in LinkClient —
//     NotEstablished: no proxy is up (answer the SIP request with 503 and Retry-After);
//     NoCredit: stop taking new SIP requests toward XMPP (503) until on_writable.
//   - on_stanza(id, frame) for each stanza from a proxy; stanza_done(id, n) once handed to the
//     SIP stack. send_registry(version, json) after every registry change.
//   - close(reason) for shutdown: the listeners stop, every connection says GOODBYE, then
//     on_closed(); destroy the server only after on_closed (inside it is fine).
//
// Loop-bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "common/linkio/link_connection.hpp"
#include "common/linkio/link_session.hpp"
#include "common/linkio/link_setup.hpp"
#include "common/tls/tls_context.hpp"

namespace fedgw {
struct GatewayConfig;
}

namespace fedgw::link {

using ConnId = std::uint64_t;

struct LinkServerOptions {
    std::vector<HostPort> listen;  // IP literals; port 0 picks a free port (tests)
    std::string cert_file;         // our server certificate chain (internal CA), PEM
    std::string key_file;
    std::string ca_file;     // the internal CA
    std::string proxy_name;  // the proxy's certificate must carry it, and its HELLO node too
    std::string node;        // our HELLO node; empty: the first DNS name of our certificate
    SessionLimits session{};
    ConnectionTimers timers{};
    std::size_t max_connections = 16;
    int backlog = 16;
};

// Options from the gateway's configuration ([gateway]).
LinkServerOptions server_options(const GatewayConfig& gateway);

struct LinkServerCallbacks {
    std::function<void(ConnId id, const Hello& peer)> on_up;
    std::function<void(ConnId id, const CloseReason& reason)> on_down;
    std::function<void(ConnId id, StanzaFrame stanza)> on_stanza;
    std::function<void(ConnId id)> on_writable;
    std::function<void(const CloseReason& reason)> on_refused;  // optional
    std::function<void()> on_closed;                            // optional
};

struct LinkServerStats {
    std::vector<HostPort> listening;
    std::vector<LinkConnectionStats> connections;
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;  // never came up: TLS refused, HELLO mismatch, over the limit
    std::string last_refusal;
};

class LinkServer {
  public:
    // Builds the TLS context, binds and listens on every address.
    static Result<std::unique_ptr<LinkServer>, SetupError> create(uv_loop_t* loop,
                                                                  LinkServerOptions options,
                                                                  LinkServerCallbacks callbacks);
    ~LinkServer();
    LinkServer(const LinkServer&) = delete;
    LinkServer& operator=(const LinkServer&) = delete;

    // The addresses actually bound (port 0 replaced by the chosen port).
    const std::vector<HostPort>& local_addresses() const { return bound_; }

    Result<void, SendRefusal> send_stanza(ConnId id, StanzaFrame stanza);
    // To any up proxy: the one with the most credit left. Returns the connection used.
    Result<ConnId, SendRefusal> send_stanza_any(StanzaFrame stanza);
    // To every up proxy; returns how many got it.
    std::size_t send_registry(std::uint64_t version, std::string_view json);
    Result<void, SendRefusal> send_registry(ConnId id, std::uint64_t version, std::string json);
    void stanza_done(ConnId id, std::uint32_t n = 1);
    void close_connection(ConnId id, std::string_view reason);

    bool is_up(ConnId id) const;
    std::vector<ConnId> up_connections() const;
    const std::string& node() const { return options_.node; }

    // Graceful shutdown: listeners closed, GOODBYE on every connection, then on_closed().
    void close(std::string_view reason = "shutdown");
    bool is_closed() const { return closed_; }

    LinkServerStats stats() const;

  private:
    struct Listener;
    LinkServer(uv_loop_t* loop, LinkServerOptions options, LinkServerCallbacks callbacks,
               TlsContext tls);
    Result<void, SetupError> listen_on(const HostPort& address);
    static void on_connection(uv_stream_t* listener, int status);
    static void on_listener_closed(uv_handle_t* handle);
    void accept_one(uv_stream_t* listener);
    void connection_down(ConnId id, const CloseReason& reason, bool was_up);
    void connection_finished(ConnId id);
    LinkConnection* find(ConnId id) const;
    void close_listeners();
    void maybe_closed();

    uv_loop_t* loop_;
    LinkServerOptions options_;
    LinkServerCallbacks cb_;
    TlsContext tls_;
    std::vector<Listener*> listeners_;  // freed in their close callbacks
    std::vector<HostPort> bound_;
    std::vector<std::unique_ptr<LinkConnection>> connections_;
    ConnId next_id_ = 1;
    bool closing_ = false;
    bool closed_ = false;

    std::uint64_t accepted_ = 0;
    std::uint64_t refused_ = 0;
    std::string last_refusal_;
};

}  // namespace fedgw::link
