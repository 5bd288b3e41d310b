// SIP over TCP and TLS; see stream_transport.hpp. RFC 3261 §18.1.1, §18.2.2, §18.3,
// RFC 5626 §3.5.1, RFC 5630 (sips/TLS hop by hop). Loop-bound.
#include "gateway/sip/stream_transport.hpp"

#include <algorithm>
#include <memory>

#include "common/log/log.hpp"
#include "common/tls/tls_stream.hpp"
#include "gateway/sip/socket_address.hpp"
#include "gateway/sip/stream_framer.hpp"

namespace fedgw::gateway::sip {

struct StreamTransport::Connection {
    StreamTransport* owner = nullptr;
    ConnectionId id = 0;
    uv_tcp_t tcp{};
    std::unique_ptr<TlsStream> stream;
    StreamFramer framer;
    PeerAddress remote;
    bool outbound = false;
    std::string key;  // in dialled_, for outbound connections
    std::string server_name;
    bool connected = false;
    bool closing = false;              // uv_close called: no more callbacks
    bool draining = false;             // graceful close started (idle)
    std::vector<std::string> pending;  // written before the connect completed
    std::size_t pending_bytes = 0;
    std::uint64_t opened_at = 0;
    std::uint64_t last_activity = 0;
    std::uint64_t last_ping = 0;
    std::uint64_t drain_started = 0;
};

struct StreamTransport::Listener {
    uv_tcp_t handle{};
    StreamTransport* owner = nullptr;
    SipTransport transport = SipTransport::Tcp;
    HostPort local;
};

namespace {

constexpr std::uint64_t kDrainTimeoutMs = 2000;

void on_connection_handle_closed(uv_handle_t* h) {
    // The TlsStream owns handle->data; its user data is the Connection.
    auto* c = static_cast<StreamTransport::Connection*>(TlsStream::from_handle(h)->user_data());
    delete c;  // destroys the TlsStream too, which is allowed in the close callback
}

std::uint64_t sweep_interval(const StreamOptions& o) {
    std::uint64_t shortest = 1000;
    for (std::uint64_t t : {o.connect_timeout_ms, o.idle_timeout_ms, o.keepalive_interval_ms}) {
        if (t > 0) shortest = std::min(shortest, t / 4);
    }
    return std::clamp<std::uint64_t>(shortest, 20, 1000);
}

}  // namespace

StreamTransport::StreamTransport(uv_loop_t* loop, StreamOptions options, MessageHandler on_message,
                                 ClosedHandler on_closed)
    : loop_(loop),
      options_(options),
      on_message_(std::move(on_message)),
      on_closed_(std::move(on_closed)) {
    sweep_timer_ = new uv_timer_t;
    uv_timer_init(loop_, sweep_timer_);
    sweep_timer_->data = this;
}

StreamTransport::~StreamTransport() {
    close();
}

Result<HostPort, std::string> StreamTransport::listen(SipTransport transport,
                                                      const HostPort& address) {
    const std::string name = std::string(transport_name(transport)) + ":" + address.to_string();
    if (transport == SipTransport::Udp) return Unexpected(name + " is not a stream transport");
    if (transport == SipTransport::Tls && options_.tls_server == nullptr) {
        return Unexpected("cannot listen on " + name + ": no TLS certificate configured");
    }
    if (!address.ip) return Unexpected("cannot listen on " + name + ": not an IP address");
    auto* l = new Listener;
    l->owner = this;
    l->transport = transport;
    int rc = uv_tcp_init(loop_, &l->handle);
    if (rc != 0) {
        delete l;
        return Unexpected("cannot listen on " + name + ": " + uv_strerror(rc));
    }
    l->handle.data = l;
    sockaddr_storage sa{};
    detail::to_sockaddr(*address.ip, address.port, &sa);
    rc = uv_tcp_bind(&l->handle, reinterpret_cast<const sockaddr*>(&sa), 0);
    if (rc == 0) {
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->handle), 128,
                       [](uv_stream_t* s, int status) {
                           auto* listener = static_cast<Listener*>(s->data);
                           if (status < 0) {
                               log::warn("sip.accept_failed", {{"error", uv_strerror(status)}});
                               return;
                           }
                           listener->owner->on_accept(listener);
                       });
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    if (rc == 0) rc = uv_tcp_getsockname(&l->handle, reinterpret_cast<sockaddr*>(&bound), &len);
    if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&l->handle),
                 [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
        return Unexpected("cannot listen on " + name + ": " + uv_strerror(rc));
    }
    const auto local = detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&bound));
    l->local = HostPort{local->first.to_string(), local->second, local->first};
    listeners_.push_back(l);
    return l->local;
}

StreamTransport::Connection* StreamTransport::new_connection(SipTransport transport,
                                                             bool outbound) {
    auto* c = new Connection;
    c->owner = this;
    c->id = next_id_++;
    c->outbound = outbound;
    c->remote.transport = transport;
    c->framer = StreamFramer(options_.limits);
    if (uv_tcp_init(loop_, &c->tcp) != 0) {
        delete c;
        return nullptr;
    }
    TlsStream::Callbacks cb;
    cb.on_data = [c](std::string_view d) { c->owner->on_data(c, d); };
    cb.on_handshake_failed = [c](const TlsError& e) {
        log::warn("sip.tls_handshake_failed",
                  {{"peer", c->remote.to_string()}, {"error", e.describe()}});
    };
    cb.on_closed = [c](StreamCloseReason r, std::string_view detail) {
        std::string reason(describe(r));
        if (!detail.empty()) reason += ": " + std::string(detail);
        c->owner->close_connection(c, reason);
    };
    c->stream = std::make_unique<TlsStream>(reinterpret_cast<uv_stream_t*>(&c->tcp), cb);
    c->stream->set_user_data(c);
    c->opened_at = c->last_activity = c->last_ping = uv_now(loop_);
    connections_[c->id] = c;
    ++(outbound ? outbound_ : inbound_);
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(sweep_timer_))) {
        const std::uint64_t every = sweep_interval(options_);
        uv_timer_start(
            sweep_timer_, [](uv_timer_t* t) { static_cast<StreamTransport*>(t->data)->sweep(); },
            every, every);
    }
    return c;
}

void StreamTransport::on_accept(Listener* l) {
    if (inbound_ >= options_.max_connections) {
        // Accept and drop at once, or the backlog would keep waking us up.
        auto* tcp = new uv_tcp_t;
        uv_tcp_init(loop_, tcp);
        uv_accept(reinterpret_cast<uv_stream_t*>(&l->handle), reinterpret_cast<uv_stream_t*>(tcp));
        uv_close(reinterpret_cast<uv_handle_t*>(tcp),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
        log::warn("sip.connection_refused",
                  {{"reason", "connection limit"}, {"limit", options_.max_connections}});
        return;
    }
    Connection* c = new_connection(l->transport, false);
    if (c == nullptr) return;
    if (uv_accept(reinterpret_cast<uv_stream_t*>(&l->handle),
                  reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
        close_connection(c, "accept failed");
        return;
    }
    sockaddr_storage peer{};
    int len = sizeof peer;
    uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&peer), &len);
    if (auto p = detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&peer))) {
        c->remote.ip = p->first;
        c->remote.port = p->second;
    }
    c->connected = true;
    log::debug("sip.connection_accepted", {{"id", c->id}, {"peer", c->remote.to_string()}});
    if (l->transport == SipTransport::Tls) {
        TlsSessionOptions o;
        o.verification = PeerVerification::Record;  // trust is by source address (trust.hpp)
        if (auto ok = c->stream->start_tls(*options_.tls_server, o); !ok) {
            close_connection(c, "tls: " + ok.error().describe());
            return;
        }
    }
    if (const int rc = c->stream->start_reading(); rc != 0) {
        close_connection(c, std::string("read: ") + uv_strerror(rc));
    }
}

ConnectionId StreamTransport::send_to(const PeerAddress& to, const std::string& server_name,
                                      std::string_view bytes, std::string* error) {
    if (closed_) {
        if (error) *error = "transport closed";
        return 0;
    }
    const std::string key = std::string(transport_name(to.transport)) + "|" + to.ip.to_string() +
                            "|" + std::to_string(to.port) + "|" + server_name;
    if (auto it = dialled_.find(key); it != dialled_.end()) {
        Connection* c = connections_.at(it->second);
        return write(c, bytes, error) ? c->id : 0;
    }
    if (to.transport == SipTransport::Tls && options_.tls_client == nullptr) {
        if (error) *error = "no TLS client context for " + to.to_string();
        return 0;
    }
    if (outbound_ >= options_.max_connections) {
        if (error) *error = "connection limit reached";
        return 0;
    }
    Connection* c = new_connection(to.transport, true);
    if (c == nullptr) {
        if (error) *error = "cannot create a socket";
        return 0;
    }
    c->remote = to;
    c->server_name = server_name;
    c->key = key;
    dialled_[key] = c->id;
    sockaddr_storage sa{};
    detail::to_sockaddr(to.ip, to.port, &sa);
    auto* req = new uv_connect_t;
    req->data = c;
    const int rc = uv_tcp_connect(req, &c->tcp, reinterpret_cast<const sockaddr*>(&sa),
                                  [](uv_connect_t* r, int status) {
                                      auto* conn = static_cast<Connection*>(r->data);
                                      delete r;
                                      if (!conn->closing) conn->owner->on_connected(conn, status);
                                  });
    if (rc != 0) {
        delete req;
        if (error) *error = std::string("connect: ") + uv_strerror(rc);
        close_connection(c, "connect failed");
        return 0;
    }
    c->pending.emplace_back(bytes);
    c->pending_bytes = bytes.size();
    log::debug("sip.connecting", {{"id", c->id}, {"peer", to.to_string()}});
    return c->id;
}

bool StreamTransport::send_on(ConnectionId connection, std::string_view bytes, std::string* error) {
    auto it = connections_.find(connection);
    if (it == connections_.end()) {
        if (error) *error = "connection closed";
        return false;
    }
    return write(it->second, bytes, error);
}

bool StreamTransport::is_open(ConnectionId connection) const {
    auto it = connections_.find(connection);
    return it != connections_.end() && !it->second->draining;
}

bool StreamTransport::write(Connection* c, std::string_view bytes, std::string* error) {
    if (c->closing || c->draining) {
        if (error) *error = "connection closing";
        return false;
    }
    if (!c->connected) {
        if (c->pending_bytes + bytes.size() > options_.max_queued_bytes) {
            if (error) *error = "too many bytes queued for " + c->remote.to_string();
            return false;
        }
        c->pending.emplace_back(bytes);
        c->pending_bytes += bytes.size();
        return true;
    }
    if (c->stream->write_queue_bytes() + bytes.size() > options_.max_queued_bytes) {
        if (error) *error = "too many bytes queued for " + c->remote.to_string();
        return false;
    }
    if (!c->stream->write(bytes)) {
        if (error) *error = "write refused on " + c->remote.to_string();
        return false;
    }
    c->last_activity = uv_now(loop_);
    return true;
}

void StreamTransport::on_connected(Connection* c, int status) {
    if (status < 0) {
        close_connection(c,
                         "connect to " + c->remote.to_string() + " failed: " + uv_strerror(status));
        return;
    }
    c->connected = true;
    uv_tcp_nodelay(&c->tcp, 1);
    if (c->remote.transport == SipTransport::Tls) {
        TlsSessionOptions o;
        o.verification = PeerVerification::Require;
        o.reference_domain = c->server_name;  // empty for an IP next hop: the chain only
        o.server_name = c->server_name;
        if (auto ok = c->stream->start_tls(*options_.tls_client, o); !ok) {
            close_connection(c, "tls: " + ok.error().describe());
            return;
        }
    }
    if (const int rc = c->stream->start_reading(); rc != 0) {
        close_connection(c, std::string("read: ") + uv_strerror(rc));
        return;
    }
    std::vector<std::string> pending = std::move(c->pending);
    c->pending.clear();
    c->pending_bytes = 0;
    for (const auto& p : pending) {
        if (c->closing || !c->stream->write(p)) {
            close_connection(c, "write refused");
            return;
        }
    }
    c->last_activity = uv_now(loop_);
}

void StreamTransport::on_data(Connection* c, std::string_view data) {
    std::vector<StreamFramer::Frame> frames;
    auto ok = c->framer.feed(data, frames);
    for (auto& f : frames) {
        if (c->closing) return;
        switch (f.kind) {
            case StreamFramer::Kind::Message:
                // Only messages count as activity: keepalives and a peer dribbling half a
                // message do not keep a connection open.
                c->last_activity = uv_now(loop_);
                on_message_(std::move(f.bytes), c->remote, c->id);
                break;
            case StreamFramer::Kind::Ping:
                (void)c->stream->write("\r\n");  // RFC 5626 §3.5.1 pong
                break;
            case StreamFramer::Kind::Pong:
                break;
        }
    }
    if (!ok && !c->closing) {
        log::warn("sip.stream_error",
                  {{"peer", c->remote.to_string()}, {"error", ok.error().describe()}});
        close_connection(c, "framing: " + ok.error().describe());
    }
}

void StreamTransport::close_connection(Connection* c, const std::string& reason) {
    if (c->closing) return;
    c->closing = true;
    connections_.erase(c->id);
    --(c->outbound ? outbound_ : inbound_);
    if (auto it = dialled_.find(c->key); it != dialled_.end() && it->second == c->id) {
        dialled_.erase(it);
    }
    log::debug("sip.connection_closed",
               {{"id", c->id}, {"peer", c->remote.to_string()}, {"reason", reason}});
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), &on_connection_handle_closed);
    if (on_closed_) on_closed_(c->id, reason);
}

void StreamTransport::sweep() {
    const std::uint64_t now = uv_now(loop_);
    std::vector<Connection*> all;
    for (auto& [id, c] : connections_)
        all.push_back(c);
    for (Connection* c : all) {
        if (c->closing) continue;
        const bool ready = c->connected && (c->remote.transport != SipTransport::Tls ||
                                            c->stream->is_handshake_done());
        if (c->draining) {
            if (now - c->drain_started >= kDrainTimeoutMs) close_connection(c, "close timed out");
        } else if (!ready) {
            if (options_.connect_timeout_ms > 0 &&
                now - c->opened_at >= options_.connect_timeout_ms) {
                close_connection(c, "connect to " + c->remote.to_string() + " timed out");
            }
        } else if (options_.idle_timeout_ms > 0 &&
                   now - c->last_activity >= options_.idle_timeout_ms) {
            c->draining = true;
            c->drain_started = now;
            if (auto it = dialled_.find(c->key); it != dialled_.end() && it->second == c->id) {
                dialled_.erase(it);
            }
            log::debug("sip.connection_idle", {{"id", c->id}, {"peer", c->remote.to_string()}});
            c->stream->close();
        } else if (c->outbound && options_.keepalive_interval_ms > 0 &&
                   now - c->last_ping >= options_.keepalive_interval_ms) {
            c->last_ping = now;
            (void)c->stream->write("\r\n\r\n");  // RFC 5626 §3.5.1 ping
        }
    }
    if (connections_.empty()) uv_timer_stop(sweep_timer_);
}

void StreamTransport::close() {
    if (closed_) return;
    closed_ = true;
    for (Listener* l : listeners_) {
        uv_close(reinterpret_cast<uv_handle_t*>(&l->handle),
                 [](uv_handle_t* h) { delete static_cast<Listener*>(h->data); });
    }
    listeners_.clear();
    std::vector<Connection*> all;
    for (auto& [id, c] : connections_)
        all.push_back(c);
    for (Connection* c : all)
        close_connection(c, "shutdown");
    uv_close(reinterpret_cast<uv_handle_t*>(sweep_timer_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    sweep_timer_ = nullptr;
}

}  // namespace fedgw::gateway::sip
