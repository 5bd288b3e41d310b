// LinkConnection (see link_connection.hpp): TCP, mutual TLS and a LinkSession on a libuv loop.
//
// Loop-bound.
#include "common/linkio/link_connection.hpp"

#include <algorithm>
#include <cassert>
#include <utility>
#include <variant>

#include "common/linkio/link_setup.hpp"
#include "common/tls/tls_stream.hpp"

namespace fedgw::link {

// The uv_tcp_t first, so the close callback finds its owner from the handle alone (the
// TlsStream claims the handle's data field).
struct LinkConnection::TcpHandle {
    uv_tcp_t tcp;
    LinkConnection* owner;
};

struct LinkConnection::ConnectReq {
    uv_connect_t req;
    LinkConnection* owner;  // null once the connection stopped waiting for it
};

namespace {

uv_handle_t* as_handle(uv_tcp_t* t) {
    return reinterpret_cast<uv_handle_t*>(t);
}
uv_handle_t* as_handle(uv_timer_t* t) {
    return reinterpret_cast<uv_handle_t*>(t);
}

std::int64_t wall_clock_ms() {
    uv_timeval64_t tv{};
    if (uv_gettimeofday(&tv) != 0) return 0;
    return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

}  // namespace

LinkConnection::LinkConnection(uv_loop_t* loop, std::uint64_t id, SessionConfig session,
                               ConnectionTimers timers, Callbacks callbacks)
    : loop_(loop),
      id_(id),
      timers_(timers),
      cb_(std::move(callbacks)),
      session_(std::move(session)),
      tcp_(new TcpHandle{uv_tcp_t{}, this}),
      timer_(new uv_timer_t{}) {
    [[maybe_unused]] int rc = uv_tcp_init(loop_, &tcp_->tcp);
    assert(rc == 0);
    rc = uv_timer_init(loop_, timer_.get());
    assert(rc == 0);
    timer_->data = this;
}

LinkConnection::~LinkConnection() {
    assert(finished_ && "destroy a LinkConnection in on_finished or later");
}

std::int64_t LinkConnection::now() const {
    return static_cast<std::int64_t>(uv_now(loop_));
}

// ---- opening ------------------------------------------------------------------------------

void LinkConnection::connect(const sockaddr* addr, const TlsContext& tls,
                             TlsSessionOptions options) {
    assert(!tcp_connected_ && connect_req_ == nullptr && !handles_closing_);
    tls_context_ = &tls;
    tls_options_ = std::move(options);
    peer_address_ = sockaddr_text(addr);
    handshake_deadline_ms_ = now() + timers_.handshake_timeout_ms;
    connect_req_ = new ConnectReq{uv_connect_t{}, this};
    connect_req_->req.data = connect_req_;
    int rc = uv_tcp_connect(&connect_req_->req, &tcp_->tcp, addr, &LinkConnection::on_connect);
    if (rc < 0) {
        delete connect_req_;
        connect_req_ = nullptr;
        // Reported from the close callback, never from inside connect().
        deferred_down_ =
            CloseReason{CloseCode::ConnectFailed, peer_address_ + ": " + uv_strerror(rc)};
        close_handles();
        return;
    }
    rearm();
}

bool LinkConnection::accept(uv_stream_t* listener, const TlsContext& tls,
                            TlsSessionOptions options) {
    assert(!tcp_connected_ && !handles_closing_);
    tls_context_ = &tls;
    tls_options_ = std::move(options);
    int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_->tcp));
    if (rc < 0) {
        deferred_down_ =
            CloseReason{CloseCode::ConnectFailed, std::string("accept: ") + uv_strerror(rc)};
        close_handles();
        return false;
    }
    sockaddr_storage peer{};
    int len = sizeof peer;
    if (uv_tcp_getpeername(&tcp_->tcp, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
        peer_address_ = sockaddr_text(reinterpret_cast<const sockaddr*>(&peer));
    tcp_connected_ = true;
    handshake_deadline_ms_ = now() + timers_.handshake_timeout_ms;
    start_tls(reinterpret_cast<uv_stream_t*>(&tcp_->tcp));
    rearm();
    return true;
}

void LinkConnection::on_connect(uv_connect_t* req, int status) {
    auto* r = static_cast<ConnectReq*>(req->data);
    LinkConnection* self = r->owner;
    delete r;
    if (self == nullptr) return;
    self->connect_req_ = nullptr;
    self->connected(status);
}

void LinkConnection::connected(int status) {
    if (handles_closing_ || status == UV_ECANCELED) return;
    if (status < 0) {
        report_down({CloseCode::ConnectFailed, peer_address_ + ": " + uv_strerror(status)});
        close_handles();
        return;
    }
    tcp_connected_ = true;
    start_tls(reinterpret_cast<uv_stream_t*>(&tcp_->tcp));
    rearm();
}

void LinkConnection::start_tls(uv_stream_t* stream) {
    TlsStream::Callbacks cb;
    cb.on_data = [this](std::string_view data) {
        session_.feed(data);
        pump();
    };
    cb.on_handshake_done = [this] { handshake_done(); };
    cb.on_handshake_failed = [this](const TlsError& e) { tls_error_ = e; };
    cb.on_closed = [this](StreamCloseReason reason, std::string_view detail) {
        tls_closed(reason, detail);
    };
    tls_ = std::make_unique<TlsStream>(stream, std::move(cb));
    auto started = tls_->start_tls(*tls_context_, tls_options_);
    if (!started) {
        report_down({CloseCode::TlsFailed, started.error().describe()});
        close_handles();
        return;
    }
    if (handles_closing_) return;  // a synchronous failure was already reported
    int rc = tls_->start_reading();
    if (rc < 0) {
        report_down({CloseCode::TransportClosed, std::string("read: ") + uv_strerror(rc)});
        close_handles();
    }
}

void LinkConnection::handshake_done() {
    session_.start(now());
    pump();
}

void LinkConnection::tls_closed(StreamCloseReason reason, std::string_view detail) {
    tls_closing_ = true;
    if (reason == StreamCloseReason::TlsFailed && !up_) {
        // With TLS 1.3 the client finishes its handshake before the server has checked the
        // client certificate, so a refusal can arrive after we sent HELLO: still a TLS failure.
        report_down(
            {CloseCode::TlsFailed, tls_error_ ? tls_error_->describe() : std::string(detail)});
    }
    if (session_.state() != SessionState::Idle) {
        std::string text(describe(reason));
        if (!detail.empty()) text += ": " + std::string(detail);
        session_.transport_closed(text);  // no-op when the session already ended
        pump();
    } else if (tls_error_) {
        report_down({CloseCode::TlsFailed, tls_error_->describe()});
    } else {
        report_down({CloseCode::TransportClosed, std::string(detail)});
    }
    close_handles();
}

// ---- the session's outbox -----------------------------------------------------------------

void LinkConnection::pump() {
    if (pump_depth_ > 0) return;  // the outer pump picks up what this call produced
    ++pump_depth_;
    for (;;) {
        if (session_.has_output()) {
            std::string out = session_.take_output();
            // A refused write means the stream is ending; its on_closed tells us why.
            if (tls_ && !handles_closing_ && !tls_closing_) (void)tls_->write(out);
        }
        auto event = session_.next_event();
        if (!event) break;
        dispatch(std::move(*event));
    }
    --pump_depth_;
    rearm();
}

void LinkConnection::dispatch(SessionEvent event) {
    if (auto* hello = std::get_if<HelloDone>(&event)) {
        up_ = true;
        up_since_unix_ms_ = wall_clock_ms();
        if (cb_.on_up) cb_.on_up(hello->peer);
    } else if (auto* stanza = std::get_if<StanzaReceived>(&event)) {
        if (cb_.on_stanza) cb_.on_stanza(std::move(stanza->stanza));
    } else if (auto* registry = std::get_if<RegistryReceived>(&event)) {
        if (cb_.on_registry) cb_.on_registry(registry->version, std::move(registry->json));
    } else if (std::holds_alternative<Writable>(event)) {
        if (cb_.on_writable) cb_.on_writable();
    } else if (auto* closed = std::get_if<Closed>(&event)) {
        report_down(std::move(closed->reason));
        begin_graceful_close();
    }
}

// ---- owner calls --------------------------------------------------------------------------

Result<void, SendRefusal> LinkConnection::send_stanza(StanzaFrame stanza) {
    if (!is_up()) return Unexpected(SendRefusal::NotEstablished);
    auto r = session_.send_stanza(std::move(stanza));
    if (r) pump();
    return r;
}

Result<void, SendRefusal> LinkConnection::send_registry(std::uint64_t version, std::string json) {
    if (!is_up()) return Unexpected(SendRefusal::NotEstablished);
    auto r = session_.send_registry(version, std::move(json));
    if (r) pump();
    return r;
}

void LinkConnection::stanza_done(std::uint32_t n) {
    if (!is_up()) return;
    session_.stanza_done(n);
    pump();
}

void LinkConnection::close(std::string_view reason) {
    if (down_reported_ || handles_closing_) return;
    if (session_.state() == SessionState::WaitHello ||
        session_.state() == SessionState::Established) {
        session_.close(reason);  // GOODBYE; the Closed event starts the graceful close
        pump();
        return;
    }
    report_down({CloseCode::Local, std::string(reason)});
    close_handles();
}

// ---- closing ------------------------------------------------------------------------------

void LinkConnection::begin_graceful_close() {
    if (tls_closing_ || handles_closing_) return;
    if (!tls_) {
        close_handles();
        return;
    }
    if (session_.has_output()) (void)tls_->write(session_.take_output());
    tls_closing_ = true;
    grace_deadline_ms_ = now() + timers_.close_grace_ms;
    tls_->close();  // may report on_closed at once
    rearm();
}

void LinkConnection::report_down(CloseReason reason) {
    if (down_reported_) return;
    down_reported_ = true;
    const bool was_up = up_;
    up_ = false;
    if (cb_.on_down) cb_.on_down(reason, was_up);
}

void LinkConnection::close_handles() {
    if (handles_closing_) return;
    handles_closing_ = true;
    // A pending connect completes with UV_ECANCELED and frees its request by itself.
    if (connect_req_ != nullptr) connect_req_->owner = nullptr;
    connect_req_ = nullptr;
    uv_close(as_handle(&tcp_->tcp), &LinkConnection::on_tcp_closed);
    uv_close(as_handle(timer_.get()), &LinkConnection::on_timer_closed);
}

void LinkConnection::on_tcp_closed(uv_handle_t* handle) {
    LinkConnection* self = reinterpret_cast<TcpHandle*>(handle)->owner;
    self->tls_.reset();  // allowed here: not inside one of the stream's callbacks
    self->handle_closed();
}

void LinkConnection::on_timer_closed(uv_handle_t* handle) {
    static_cast<LinkConnection*>(handle->data)->handle_closed();
}

void LinkConnection::handle_closed() {
    if (--open_handles_ > 0) return;
    if (!down_reported_) {
        report_down(deferred_down_.value_or(
            CloseReason{CloseCode::TransportClosed, "the connection was closed"}));
    }
    finished_ = true;
    // The owner may destroy us inside on_finished: nothing touches `this` afterwards.
    auto on_finished = std::move(cb_.on_finished);
    if (on_finished) on_finished();
}

// ---- deadlines ----------------------------------------------------------------------------

void LinkConnection::rearm() {
    if (handles_closing_) return;
    std::optional<std::int64_t> due;
    auto consider = [&due](std::int64_t t) { due = due ? std::min(*due, t) : t; };
    if (!up_ && !down_reported_ && !tls_closing_ && handshake_deadline_ms_ > 0)
        consider(handshake_deadline_ms_);
    if (grace_deadline_ms_) consider(*grace_deadline_ms_);
    if (auto s = session_.next_deadline_ms()) consider(*s);
    if (!due) {
        uv_timer_stop(timer_.get());
        return;
    }
    const std::int64_t wait = std::max<std::int64_t>(0, *due - now());
    uv_timer_start(timer_.get(), &LinkConnection::on_timer, static_cast<std::uint64_t>(wait), 0);
}

void LinkConnection::on_timer(uv_timer_t* timer) {
    static_cast<LinkConnection*>(timer->data)->timer_fired();
}

void LinkConnection::timer_fired() {
    const std::int64_t t = now();
    if (grace_deadline_ms_ && t >= *grace_deadline_ms_) {
        close_handles();  // the peer never answered our close_notify
        return;
    }
    if (!up_ && !down_reported_ && !tls_closing_ && handshake_deadline_ms_ > 0 &&
        t >= handshake_deadline_ms_) {
        const std::string after = " after " + std::to_string(timers_.handshake_timeout_ms) + " ms";
        if (!tcp_connected_) {
            report_down(
                {CloseCode::ConnectFailed, peer_address_ + ": TCP connect timed out" + after});
            close_handles();
        } else if (session_.state() == SessionState::WaitHello) {
            report_down({CloseCode::HandshakeTimeout, "no HELLO" + after});
            session_.close("handshake-timeout");
            pump();
        } else {
            report_down({CloseCode::HandshakeTimeout, "TLS handshake not done" + after});
            close_handles();
        }
        return;
    }
    session_.on_timer(t);
    pump();
}

LinkConnectionStats LinkConnection::stats() const {
    LinkConnectionStats s;
    s.id = id_;
    s.peer_address = peer_address_;
    if (session_.peer()) s.peer_node = session_.peer()->node;
    s.session = session_.state();
    s.up = is_up();
    s.up_since_unix_ms = up_since_unix_ms_;
    if (tls_ && tls_->session() != nullptr && tls_->is_handshake_done()) {
        s.tls_version = std::string(tls_->session()->protocol_version());
        s.tls_cipher = std::string(tls_->session()->cipher());
    }
    s.send_credit = session_.is_established() ? session_.send_credit() : 0;
    s.peer_window = session_.peer_window();
    s.window = session_.window();
    s.unacknowledged_in = session_.unacknowledged_in();
    s.counters = session_.counters();
    return s;
}

}  // namespace fedgw::link
