// TlsPeer: a blocking TLS client to 127.0.0.1:port for XEP-0368 direct TLS scenarios, run from
// RouterLoopTest::in_thread() while the loop serves the other side. It drives a TlsSession
// (memory BIOs) over a plain socket, so a test chooses exactly what the client offers: ALPN
// protocols (or none), SNI, a client certificate, or only the ClientHello and then silence.
//
// Loop-bound test support: real sockets on 127.0.0.1, certificates from the throwaway TestCa.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/tls/tls_context.hpp"
#include "common/tls/tls_session.hpp"
#include "tests/loop/proxy/router_fixture.hpp"

namespace fedgw::proxy::test {

class TlsPeer {
  public:
    // Connects and queues the ClientHello (sent by the first handshake() or send_hello_only()).
    TlsPeer(int port, const TlsContext& ctx, const std::string& sni) {
        fd_ = connect_loopback(port);
        TlsSessionOptions o;
        o.server_name = sni;
        auto s = TlsSession::create(ctx, o);
        if (!s) throw std::runtime_error(s.error().describe());
        session_.emplace(std::move(*s));
    }
    ~TlsPeer() {
        if (fd_ >= 0) ::close(fd_);
    }
    TlsPeer(const TlsPeer&) = delete;
    TlsPeer& operator=(const TlsPeer&) = delete;

    // Sends the ClientHello and nothing more, ever: a client stalled in the handshake.
    void send_hello_only() {
        flush();
        stalled_ = true;
    }

    // Runs the handshake until it completes (true), fails, or the server closes (false).
    bool handshake(int ms) {
        flush();
        pump(ms, [this] { return session_->is_established(); });
        return session_->is_established() || ever_established_;
    }

    // Plaintext to the server (after the handshake).
    void send(const std::string& plaintext) {
        if (session_->write(plaintext)) flush();
    }

    // Reads plaintext until `needle` arrived (false), or the server closed (true), or `ms`
    // passed (false). An empty needle reads to the close.
    bool read_until(const std::string& needle, int ms) {
        pump(ms, [&] { return !needle.empty() && received.find(needle) != std::string::npos; });
        return closed;
    }
    bool read_to_eof(int ms) { return read_until("", ms); }

    std::string received;       // plaintext from the server
    std::string alpn;           // what the handshake agreed
    bool closed = false;        // close_notify, EOF or a failure
    bool close_notify = false;  // the server sent close_notify
    std::size_t raw_bytes = 0;  // ciphertext received

  private:
    template <class Done>
    void pump(int ms, Done done) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        char buf[16384];
        while (!closed && !done()) {
            int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            until - std::chrono::steady_clock::now())
                                            .count());
            if (left <= 0) return;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, left) <= 0) continue;
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            TlsProgress pr = n > 0 ? session_->feed(std::string_view(buf, std::size_t(n)))
                                   : session_->transport_closed();
            if (n > 0) raw_bytes += std::size_t(n);
            if (pr.handshake_completed) {
                ever_established_ = true;
                alpn = std::string(session_->alpn());
            }
            if (session_->has_plaintext()) received += session_->take_plaintext();
            if (pr.peer_closed) close_notify = true;
            flush();
            if (n <= 0 || pr.peer_closed || pr.failed || pr.truncated) closed = true;
        }
    }
    void flush() {
        if (stalled_ || !session_->has_outbox()) return;
        std::string out = session_->take_outbox();
        ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    }

    int fd_ = -1;
    std::optional<TlsSession> session_;
    bool ever_established_ = false;
    bool stalled_ = false;
};

}  // namespace fedgw::proxy::test
