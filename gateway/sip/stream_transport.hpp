// StreamTransport: SIP over TCP and TLS (RFC 3261 §18, RFC 5626 §3.5.1 keepalives). It
// listens on the configured tcp/tls addresses, accepts connections, dials next hops, reuses
// the connection it dialled to a remote address for every later message to that address,
// cuts the byte stream into messages with StreamFramer, answers CRLFCRLF pings, optionally
// pings its own connections, and closes connections that carried no message for the idle
// timeout (gracefully, with TLS close_notify). TLS runs through common/tls's TlsStream (plain
// TCP uses the same TlsStream without start_tls), with the next hop's name verified when it
// was given as a name.
//
// Limits: connections per direction (inbound ones over the limit are closed at once), queued
// bytes per connection, message size (a framing error closes the connection).
//
// Handlers may be called from inside send_to()/send_on() (a write refused at once closes the
// connection); the owner must not re-enter libosip2 from them.
//
// Lifetime: close() closes every handle; memory is freed in libuv's close callbacks, so the
// object may be destroyed right after close() (run the loop to let them finish).
//
// Loop-bound.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/result.hpp"
#include "common/config/address.hpp"
#include "common/tls/tls_context.hpp"
#include "gateway/sip/sip_message.hpp"
#include "gateway/sip/transport.hpp"

namespace fedgw::gateway::sip {

struct StreamOptions {
    SipLimits limits{};
    std::uint64_t connect_timeout_ms = 10'000;  // TCP connect and TLS handshake together
    std::uint64_t idle_timeout_ms = 300'000;    // no SIP message either way: close
    std::uint64_t keepalive_interval_ms = 0;    // CRLFCRLF on dialled connections; 0: off
    // Accepted and dialled connections are counted apart, so peers that fill the inbound
    // limit cannot stop us from reaching our next hops.
    std::size_t max_connections = 256;           // per direction
    std::size_t max_queued_bytes = 1024 * 1024;  // per connection, written but not yet sent
    const TlsContext* tls_server = nullptr;      // for tls listeners (borrowed)
    const TlsContext* tls_client = nullptr;      // for dialling tls next hops (borrowed)
};

class StreamTransport {
  public:
    using MessageHandler =
        std::function<void(std::string bytes, const PeerAddress& from, ConnectionId connection)>;
    using ClosedHandler = std::function<void(ConnectionId connection, const std::string& reason)>;

    StreamTransport(uv_loop_t* loop, StreamOptions options, MessageHandler on_message,
                    ClosedHandler on_closed);
    ~StreamTransport();
    StreamTransport(const StreamTransport&) = delete;
    StreamTransport& operator=(const StreamTransport&) = delete;

    // Listens on a tcp or tls address; returns the bound address (port 0 resolved).
    Result<HostPort, std::string> listen(SipTransport transport, const HostPort& address);

    // Sends on the connection we dialled to `to` (tcp or tls), dialling it first when there is
    // none. `server_name`: for tls, the name the certificate must carry (empty: chain only).
    // Returns the connection, or 0 (with *error) when nothing could be queued.
    ConnectionId send_to(const PeerAddress& to, const std::string& server_name,
                         std::string_view bytes, std::string* error);
    // Sends on an existing connection; false (with *error) when it is gone or refuses.
    bool send_on(ConnectionId connection, std::string_view bytes, std::string* error);

    bool is_open(ConnectionId connection) const;
    std::size_t connection_count() const { return connections_.size(); }

    void close();

    struct Connection;
    struct Listener;

  private:
    Connection* new_connection(SipTransport transport, bool outbound);
    bool start_stream(Connection* c);
    void on_accept(Listener* l);
    void on_connected(Connection* c, int status);
    void on_data(Connection* c, std::string_view data);
    void close_connection(Connection* c, const std::string& reason);
    bool write(Connection* c, std::string_view bytes, std::string* error);
    void sweep();

    uv_loop_t* loop_;
    StreamOptions options_;
    MessageHandler on_message_;
    ClosedHandler on_closed_;
    std::vector<Listener*> listeners_;
    std::unordered_map<ConnectionId, Connection*> connections_;
    std::map<std::string, ConnectionId> dialled_;  // "tls|ip|port|name" -> connection
    uv_timer_t* sweep_timer_ = nullptr;
    ConnectionId next_id_ = 1;
    std::size_t inbound_ = 0;
    std::size_t outbound_ = 0;
    bool closed_ = false;
};

}  // namespace fedgw::gateway::sip
