// TlsStream (see tls_stream.hpp): a TlsSession driven over a caller-owned uv_stream_t.
//
// Loop-bound.
#include "common/tls/tls_stream.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace fedgw {

struct TlsStream::WriteReq {
    uv_write_t req;
    std::string data;
    TlsStream* owner;  // null once the TlsStream is gone
};

struct TlsStream::ShutdownReq {
    uv_shutdown_t req;
    TlsStream* owner;
};

namespace {

constexpr std::size_t kReadBufferBytes = 64 * 1024;

}  // namespace

std::string_view describe(StreamCloseReason r) {
    switch (r) {
        case StreamCloseReason::Local:
            return "local";
        case StreamCloseReason::PeerClosed:
            return "peer-closed";
        case StreamCloseReason::PeerEof:
            return "peer-eof";
        case StreamCloseReason::TransportError:
            return "transport-error";
        case StreamCloseReason::TlsFailed:
            return "tls-failed";
    }
    return "local";
}

TlsStream::TlsStream(uv_stream_t* stream, Callbacks callbacks)
    : stream_(stream), cb_(std::move(callbacks)) {
    assert(stream_ != nullptr);
    assert(cb_.on_closed && "on_closed is required: it tells the owner to uv_close");
    stream_->data = this;
}

TlsStream::~TlsStream() {
    assert(callback_depth_ == 0 && "a TlsStream must not be destroyed inside its own callback");
    for (WriteReq* w : writes_)
        w->owner = nullptr;
    if (shutdown_req_ != nullptr) shutdown_req_->owner = nullptr;
    if (!aborted()) stop_reading_now();
    if (stream_->data == this) stream_->data = nullptr;
}

bool TlsStream::aborted() const {
    return uv_is_closing(reinterpret_cast<const uv_handle_t*>(stream_)) != 0;
}

bool TlsStream::quiet() const {
    return reported_ || aborted();
}

int TlsStream::start_reading() {
    if (reading_ || remote_done_) return 0;
    if (aborted()) return UV_EBADF;
    int rc = uv_read_start(stream_, &TlsStream::alloc_cb, &TlsStream::read_cb);
    if (rc == 0) reading_ = true;
    return rc;
}

void TlsStream::stop_reading() {
    if (closing_) return;
    stop_reading_now();
}

void TlsStream::stop_reading_now() {
    if (!reading_) return;
    uv_read_stop(stream_);
    reading_ = false;
}

void TlsStream::ensure_reading_for_close() {
    if (remote_done_ || reading_ || aborted()) return;
    if (uv_read_start(stream_, &TlsStream::alloc_cb, &TlsStream::read_cb) == 0) {
        reading_ = true;
    } else {
        remote_done_ = true;  // cannot wait for the peer: finish without it
    }
}

Result<void, TlsError> TlsStream::start_tls(const TlsContext& context,
                                            const TlsSessionOptions& options,
                                            std::string_view initial_ciphertext) {
    if (session_) return Unexpected(TlsError{TlsErrorCode::Internal, "TLS is already started"});
    if (closing_ || aborted()) {
        return Unexpected(TlsError{TlsErrorCode::NotWritable, "the stream is closing"});
    }
    auto session = TlsSession::create(context, options);
    if (!session) return Unexpected(std::move(session.error()));
    session_.emplace(std::move(*session));
    flush_outbox();  // the ClientHello
    if (!initial_ciphertext.empty()) {
        TlsProgress p = session_->feed(initial_ciphertext);
        handle_progress(p);
    }
    return {};
}

bool TlsStream::write(std::string_view data) {
    if (closing_ || transport_failed_ || aborted()) return false;
    if (!session_) return submit(std::string(data));
    auto r = session_->write(data);
    if (!r) {
        if (session_->state() == TlsState::Failed) {
            flush_outbox();
            fail_tls(r.error(), StreamCloseReason::TlsFailed);
        }
        return false;
    }
    return flush_outbox();
}

void TlsStream::close() {
    if (closing_ || reported_ || aborted()) return;
    closing_ = true;
    reason_ = StreamCloseReason::Local;
    if (session_) {
        const bool handshaking = session_->state() == TlsState::Handshaking;
        session_->shutdown();
        flush_outbox();
        // An unfinished handshake has nobody to say goodbye to: half-close and report.
        if (handshaking) remote_done_ = true;
    }
    ensure_reading_for_close();
    maybe_finish();
}

bool TlsStream::submit(std::string data) {
    if (data.empty()) return true;
    if (transport_failed_ || aborted()) return false;
    auto* w = new WriteReq{uv_write_t{}, std::move(data), this};
    w->req.data = w;
    uv_buf_t buf;
    buf.base = w->data.data();
    buf.len = w->data.size();
    int rc = uv_write(&w->req, stream_, &buf, 1, &TlsStream::write_cb);
    if (rc < 0) {
        delete w;
        handle_transport_error(rc, "write");
        return false;
    }
    queued_bytes_ += w->data.size();
    writes_.push_back(w);
    return true;
}

bool TlsStream::flush_outbox() {
    if (session_ && session_->has_outbox()) return submit(session_->take_outbox());
    return !transport_failed_;
}

void TlsStream::alloc_cb(uv_handle_t*, std::size_t, uv_buf_t* buf) {
    // One buffer per thread: libuv calls read_cb right after alloc_cb, and every byte is
    // consumed (copied into the TLS engine or handed to on_data) before read_cb returns.
    thread_local char buffer[kReadBufferBytes];
    buf->base = buffer;
    buf->len = sizeof buffer;
}

void TlsStream::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<TlsStream*>(stream->data);
    if (self != nullptr) self->on_read(nread, buf);
}

void TlsStream::on_read(ssize_t nread, const uv_buf_t* buf) {
    if (nread == 0 || quiet()) return;
    if (nread < 0) {
        if (nread == UV_EOF) {
            handle_eof();
        } else {
            handle_transport_error(static_cast<int>(nread), "read");
        }
        return;
    }
    if (remote_done_) return;
    std::string_view data(buf->base, static_cast<std::size_t>(nread));
    if (!session_) {
        call(cb_.on_data, data);
        return;
    }
    TlsProgress p = session_->feed(data);
    handle_progress(p);
}

void TlsStream::handle_progress(const TlsProgress& p) {
    flush_outbox();
    if (quiet()) return;
    if (p.handshake_completed) {
        handshake_done_ = true;
        call(cb_.on_handshake_done);
        if (quiet()) return;
    }
    if (session_->has_plaintext()) {
        std::string plain = session_->take_plaintext();
        call(cb_.on_data, std::string_view(plain));
        if (quiet()) return;
    }
    if (p.failed) {
        fail_tls(*session_->failure(), StreamCloseReason::TlsFailed);
        return;
    }
    if (p.peer_closed) {
        remote_done_ = true;
        stop_reading_now();
        if (!closing_) {
            closing_ = true;
            reason_ = StreamCloseReason::PeerClosed;
            detail_ = "the peer sent close_notify";
        }
        session_->shutdown();  // answer with our close_notify
        flush_outbox();
    }
    maybe_finish();
}

void TlsStream::handle_eof() {
    remote_done_ = true;
    stop_reading_now();
    if (session_) {
        TlsProgress p = session_->transport_closed();
        if (p.failed) {
            fail_tls(*session_->failure(), StreamCloseReason::PeerEof);
            return;
        }
        if (!closing_) {
            closing_ = true;
            reason_ = p.truncated ? StreamCloseReason::PeerEof : StreamCloseReason::PeerClosed;
            detail_ = p.truncated ? "the peer closed the connection without TLS close_notify"
                                  : "the peer closed the connection";
        }
    } else if (!closing_) {
        closing_ = true;
        reason_ = StreamCloseReason::PeerClosed;
        detail_ = "the peer closed the connection";
    }
    maybe_finish();
}

void TlsStream::handle_transport_error(int code, std::string_view op) {
    if (reported_) return;
    const bool was_handshaking =
        session_ && !handshake_done_ && session_->state() == TlsState::Handshaking;
    transport_failed_ = true;
    closing_ = true;
    remote_done_ = true;
    local_done_ = true;  // nothing more can be sent: report now
    stop_reading_now();
    reason_ = StreamCloseReason::TransportError;
    detail_ = std::string(op) + ": " + uv_strerror(code);
    if (was_handshaking) {
        call(cb_.on_handshake_failed, TlsError{TlsErrorCode::PeerClosed, detail_});
        if (quiet()) return;
    }
    maybe_finish();
}

void TlsStream::fail_tls(const TlsError& error, StreamCloseReason reason) {
    if (reported_) return;
    closing_ = true;
    remote_done_ = true;
    skip_shutdown_ = true;
    stop_reading_now();
    reason_ = reason;
    detail_ = error.describe();
    flush_outbox();  // the alert, if OpenSSL produced one
    if (!handshake_done_) {
        call(cb_.on_handshake_failed, error);
        if (quiet()) return;
    }
    maybe_finish();
}

void TlsStream::maybe_finish() {
    if (!closing_ || quiet()) return;
    if (!local_done_ && writes_.empty() && shutdown_req_ == nullptr) {
        if (skip_shutdown_ || transport_failed_) {
            local_done_ = true;
        } else {
            auto* s = new ShutdownReq{uv_shutdown_t{}, this};
            s->req.data = s;
            if (uv_shutdown(&s->req, stream_, &TlsStream::shutdown_cb) == 0) {
                shutdown_req_ = s;
            } else {
                delete s;
                local_done_ = true;
            }
        }
    }
    if (!local_done_ || !remote_done_) return;
    reported_ = true;
    stop_reading_now();
    call(cb_.on_closed, reason_, std::string_view(detail_));
}

void TlsStream::write_cb(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    if (w->owner != nullptr) w->owner->on_write_complete(w, status);
    delete w;
}

void TlsStream::on_write_complete(WriteReq* w, int status) {
    auto it = std::find(writes_.begin(), writes_.end(), w);
    if (it != writes_.end()) writes_.erase(it);
    queued_bytes_ -= w->data.size();
    if (quiet()) return;
    if (status < 0) {
        handle_transport_error(status, "write");
        return;
    }
    call(cb_.on_write_done, queued_bytes_);
    if (quiet()) return;
    maybe_finish();
}

void TlsStream::shutdown_cb(uv_shutdown_t* req, int) {
    auto* s = static_cast<ShutdownReq*>(req->data);
    TlsStream* self = s->owner;
    delete s;
    if (self == nullptr) return;
    self->shutdown_req_ = nullptr;
    self->local_done_ = true;  // a failed half-close changes nothing: we are done sending
    self->maybe_finish();
}

}  // namespace fedgw
