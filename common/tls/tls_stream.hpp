// TlsStream: drives a TlsSession over a libuv stream that its owner (a connection object)
// owns. Plaintext first and start_tls() later on the same socket (STARTTLS, RFC 6120 §5.4.3.3),
// or start_tls() before the first read for TLS from the start (XEP-0368 direct TLS).
//
// Lifetime rules (libuv handle lifetime, STYLE.md §5):
// - The owner owns the uv_tcp_t (or any uv_stream_t) and this TlsStream. While the TlsStream
//   exists it claims the handle's `data` field; the owner keeps its own pointer with
//   set_user_data() and finds it again with TlsStream::from_handle().
// - Every stream ends with exactly one on_closed(). The owner then calls uv_close() on the
//   handle, and destroys the TlsStream in the close callback (or later), before the handle's
//   memory is freed. Never destroy it inside one of its own callbacks.
// - To abort at any time, uv_close() the handle: the TlsStream goes quiet (no callbacks at
//   all, on_closed included); its pending requests complete with UV_ECANCELED before the close
//   callback runs. Requests that outlive the TlsStream are detached and freed safely.
// - Callbacks normally run from libuv callbacks. A few failures are reported synchronously
//   from inside write(), close() or start_tls() (a libuv call refused at once, a bad
//   initial_ciphertext); owners must treat every callback the same way.
//
// Graceful close: close() sends TLS close_notify (RFC 8446 §6.1), waits until the write queue
// has drained, half-closes TCP (uv_shutdown) and keeps reading until the peer's close_notify or
// EOF, so that nothing we sent is lost to a reset; the owner runs a timer in case the peer never
// answers. A peer's close_notify is answered with ours.
//
// Backpressure: write_queue_bytes() counts the bytes handed to libuv and not yet written;
// on_write_done reports it after each write completes, so the owner can apply high/low
// watermarks and stop_reading()/start_reading() the paired side (Envoy flow control).
//
// Loop-bound.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "common/base/result.hpp"
#include "common/tls/tls_context.hpp"
#include "common/tls/tls_error.hpp"
#include "common/tls/tls_session.hpp"

namespace fedgw {

enum class StreamCloseReason {
    Local,           // close() completed
    PeerClosed,      // the peer ended cleanly: TLS close_notify, or EOF in plaintext mode
    PeerEof,         // TLS mode: EOF without close_notify (during the handshake: also a failure)
    TransportError,  // a libuv read or write error (ECONNRESET, EPIPE, ...)
    TlsFailed,       // a fatal TLS error, during or after the handshake
};

// "local", "peer-closed", "peer-eof", "transport-error", "tls-failed".
std::string_view describe(StreamCloseReason r);

class TlsStream {
  public:
    struct Callbacks {
        // Plaintext (before start_tls) or decrypted application data.
        std::function<void(std::string_view data)> on_data;
        std::function<void()> on_handshake_done;
        // The handshake failed, including the transport ending during it; on_closed follows.
        std::function<void(const TlsError& error)> on_handshake_failed;
        // Optional: a write completed; `queued_bytes` is what is still queued.
        std::function<void(std::size_t queued_bytes)> on_write_done;
        // Required. The stream is finished: uv_close() the handle now.
        std::function<void(StreamCloseReason reason, std::string_view detail)> on_closed;
    };

    TlsStream(uv_stream_t* stream, Callbacks callbacks);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    static TlsStream* from_handle(const uv_handle_t* handle) {
        return static_cast<TlsStream*>(handle->data);
    }
    void set_user_data(void* p) { user_data_ = p; }
    void* user_data() const { return user_data_; }

    // Starts (or resumes) reading; returns 0 or a libuv error code.
    int start_reading();
    // Pauses reading (backpressure). Ignored while closing: the stream must see the peer's EOF.
    void stop_reading();

    // Switches to TLS on the same socket. Writes queued before it go out in plaintext first.
    // `initial_ciphertext`: bytes already read that belong to TLS (received after the XML
    // parser stopped at <starttls/> or <proceed/>); never parse them as XML.
    Result<void, TlsError> start_tls(const TlsContext& context, const TlsSessionOptions& options,
                                     std::string_view initial_ciphertext = {});

    // Sends plaintext (encrypted in TLS mode; queued until the handshake completes). False when
    // the stream is closing, closed or failed, or the pre-handshake limit was hit: nothing of
    // `data` was sent, and the owner must bounce or drop it deliberately.
    [[nodiscard]] bool write(std::string_view data);

    // Graceful close, see above. Idempotent.
    void close();

    std::size_t write_queue_bytes() const { return queued_bytes_; }
    bool is_tls() const { return session_.has_value(); }
    bool is_handshake_done() const { return handshake_done_; }
    bool is_closing() const { return closing_; }
    // The TLS session (version, cipher, peer certificate), or null in plaintext mode.
    const TlsSession* session() const { return session_ ? &*session_ : nullptr; }

    struct WriteReq;
    struct ShutdownReq;

  private:
    static void alloc_cb(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void write_cb(uv_write_t* req, int status);
    static void shutdown_cb(uv_shutdown_t* req, int status);

    void on_read(ssize_t nread, const uv_buf_t* buf);
    void on_write_complete(WriteReq* w, int status);
    void handle_progress(const TlsProgress& p);
    void handle_eof();
    void handle_transport_error(int code, std::string_view op);
    void fail_tls(const TlsError& error, StreamCloseReason reason);
    bool submit(std::string data);
    bool flush_outbox();
    void stop_reading_now();
    void ensure_reading_for_close();
    void maybe_finish();
    bool aborted() const;  // the owner called uv_close
    bool quiet() const;    // no more callbacks: reported or aborted

    template <class F, class... Args>
    void call(const F& f, Args&&... args) {
        if (!f) return;
        ++callback_depth_;
        f(std::forward<Args>(args)...);
        --callback_depth_;
    }

    uv_stream_t* stream_;
    Callbacks cb_;
    void* user_data_ = nullptr;
    std::optional<TlsSession> session_;
    std::vector<WriteReq*> writes_;
    ShutdownReq* shutdown_req_ = nullptr;
    std::size_t queued_bytes_ = 0;
    int callback_depth_ = 0;
    bool reading_ = false;
    bool handshake_done_ = false;
    bool closing_ = false;        // no more writes from the owner
    bool remote_done_ = false;    // nothing more to read: EOF, close_notify or failure
    bool local_done_ = false;     // our side is shut down (or will not be)
    bool skip_shutdown_ = false;  // failures: no half-close, just report once flushed
    bool transport_failed_ = false;
    bool reported_ = false;
    StreamCloseReason reason_ = StreamCloseReason::Local;
    std::string detail_;
};

}  // namespace fedgw
