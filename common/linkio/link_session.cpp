// LinkSession (see link_session.hpp): HELLO, credits, liveness and GOODBYE of one link
// connection.
//
// Pure.
#include "common/linkio/link_session.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <utility>

namespace fedgw::link {

std::string_view describe(CloseCode c) {
    switch (c) {
        case CloseCode::Local:
            return "local";
        case CloseCode::PeerGoodbye:
            return "peer-goodbye";
        case CloseCode::ProtocolError:
            return "protocol-error";
        case CloseCode::PeerMismatch:
            return "peer-mismatch";
        case CloseCode::HelloTimeout:
            return "hello-timeout";
        case CloseCode::PingTimeout:
            return "ping-timeout";
        case CloseCode::TransportClosed:
            return "transport-closed";
        case CloseCode::ResolveFailed:
            return "resolve-failed";
        case CloseCode::ConnectFailed:
            return "connect-failed";
        case CloseCode::TlsFailed:
            return "tls-failed";
        case CloseCode::HandshakeTimeout:
            return "handshake-timeout";
    }
    return "local";
}

std::string CloseReason::describe() const {
    std::string s(link::describe(code));
    if (!text.empty()) s += ": " + text;
    return s;
}

std::string_view describe(SendRefusal r) {
    switch (r) {
        case SendRefusal::NotEstablished:
            return "not-established";
        case SendRefusal::NoCredit:
            return "no-credit";
        case SendRefusal::Unencodable:
            return "unencodable";
        case SendRefusal::TooLarge:
            return "too-large";
    }
    return "not-established";
}

std::string_view describe(SessionState s) {
    switch (s) {
        case SessionState::Idle:
            return "idle";
        case SessionState::WaitHello:
            return "wait-hello";
        case SessionState::Established:
            return "established";
        case SessionState::Closed:
            return "closed";
    }
    return "idle";
}

LinkSession::LinkSession(SessionConfig config)
    : config_(std::move(config)), decoder_(config_.limits.decoder) {
    // A window of 0 would let the peer send nothing, ever; it is a configuration mistake.
    if (config_.limits.window == 0) config_.limits.window = 1;
}

void LinkSession::start(std::int64_t now_ms) {
    assert(state_ == SessionState::Idle && "start() once");
    if (state_ != SessionState::Idle) return;
    state_ = SessionState::WaitHello;
    hello_deadline_ms_ = now_ms + config_.limits.hello_timeout_ms;
    next_ping_ms_ = now_ms + config_.limits.ping_interval_ms;
    auto r = queue(make_frame(Hello{config_.role, config_.node, config_.limits.window}));
    if (!r) fail(CloseCode::Local, "our node name cannot be encoded");
}

void LinkSession::feed(std::string_view bytes) {
    if (state_ == SessionState::Closed || bytes.empty()) return;
    counters_.bytes_in += bytes.size();
    if (state_ == SessionState::Idle) {
        fail(CloseCode::ProtocolError, "data before the session started");
        return;
    }
    auto fed = decoder_.feed(bytes);
    // Frames decoded before an error still count: handle them first, in order.
    while (state_ != SessionState::Closed) {
        auto frame = decoder_.next();
        if (!frame) break;
        handle_frame(std::move(*frame));
    }
    if (!fed && state_ != SessionState::Closed)
        fail(CloseCode::ProtocolError, fed.error().describe());
}

void LinkSession::handle_frame(Frame frame) {
    if (frame.type == FrameType::Goodbye) {
        end({CloseCode::PeerGoodbye, std::string(frame.headers.get("reason").value_or(""))});
        return;
    }
    if (state_ == SessionState::WaitHello) {
        if (frame.type != FrameType::Hello) {
            fail(CloseCode::ProtocolError,
                 std::string(frame_type_name(frame.type)) + " before HELLO");
            return;
        }
        handle_hello(frame);
        return;
    }
    switch (frame.type) {
        case FrameType::Hello:
            fail(CloseCode::ProtocolError, "a second HELLO");
            return;
        case FrameType::Stanza:
            handle_stanza(frame);
            return;
        case FrameType::Credit:
            handle_credit(frame);
            return;
        case FrameType::Registry:
            handle_registry(std::move(frame));
            return;
        case FrameType::Ping: {
            auto nonce = parse_nonce(frame);
            if (!nonce) {
                fail(CloseCode::ProtocolError, nonce.error().describe());
                return;
            }
            (void)queue(make_pong(*nonce));
            return;
        }
        case FrameType::Pong: {
            auto nonce = parse_nonce(frame);
            if (!nonce) {
                fail(CloseCode::ProtocolError, nonce.error().describe());
                return;
            }
            // A PONG for an older PING (or none) is harmless: only the current one matters.
            if (pong_deadline_ms_ && *nonce == ping_nonce_) {
                pong_deadline_ms_.reset();
                ++counters_.pongs_in;
            }
            return;
        }
        case FrameType::Goodbye:
            return;  // handled above
    }
}

void LinkSession::handle_hello(const Frame& frame) {
    auto hello = parse_hello(frame);
    if (!hello) {
        const bool version = hello.error().kind == LinkErrorKind::VersionMismatch;
        fail(version ? CloseCode::PeerMismatch : CloseCode::ProtocolError,
             "HELLO: " + hello.error().describe());
        return;
    }
    const Role expected_role = config_.role == Role::Proxy ? Role::Gateway : Role::Proxy;
    if (hello->role != expected_role) {
        fail(CloseCode::PeerMismatch, "the peer says it is a " +
                                          std::string(role_name(hello->role)) + ", expected a " +
                                          std::string(role_name(expected_role)));
        return;
    }
    if (!config_.expected_peer.empty() && hello->node != config_.expected_peer) {
        fail(CloseCode::PeerMismatch, "the peer says it is node '" + hello->node + "', expected '" +
                                          config_.expected_peer + "'");
        return;
    }
    if (hello->window == 0) {
        fail(CloseCode::ProtocolError, "HELLO grants a window of 0");
        return;
    }
    peer_window_ = hello->window;
    peer_ = *hello;
    state_ = SessionState::Established;
    events_.emplace_back(HelloDone{std::move(*hello)});
}

void LinkSession::handle_stanza(const Frame& frame) {
    if (recv_unacked_ >= config_.limits.window) {
        fail(CloseCode::ProtocolError, "the peer sent more than the window of " +
                                           std::to_string(config_.limits.window) +
                                           " unacknowledged stanzas");
        return;
    }
    auto stanza = parse_stanza(frame);
    if (!stanza) {
        fail(CloseCode::ProtocolError, stanza.error().describe());
        return;
    }
    ++recv_unacked_;
    ++counters_.stanzas_in;
    events_.emplace_back(StanzaReceived{std::move(*stanza)});
}

void LinkSession::handle_credit(const Frame& frame) {
    auto n = parse_credit(frame);
    if (!n) {
        fail(CloseCode::ProtocolError, n.error().describe());
        return;
    }
    if (*n > in_flight_) {
        fail(CloseCode::ProtocolError, "credit overflow: CREDIT for " + std::to_string(*n) +
                                           " stanzas with " + std::to_string(in_flight_) +
                                           " in flight");
        return;
    }
    ++counters_.credit_frames_in;
    const bool was_blocked = !can_send();
    in_flight_ -= *n;
    if (was_blocked && can_send()) events_.emplace_back(Writable{});
}

void LinkSession::handle_registry(Frame frame) {
    if (config_.role == Role::Gateway) {
        fail(CloseCode::ProtocolError, "REGISTRY from a proxy");
        return;
    }
    auto v = frame.headers.get("version");
    std::uint64_t version = 0;
    if (!v) {
        fail(CloseCode::ProtocolError, "missing-field: REGISTRY frame lacks 'version'");
        return;
    }
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), version);
    if (v->empty() || ec != std::errc() || p != v->data() + v->size()) {
        fail(CloseCode::ProtocolError, "bad-value: 'version' is not a number: " + std::string(*v));
        return;
    }
    ++counters_.registries_in;
    events_.emplace_back(RegistryReceived{version, std::move(frame.body)});
}

void LinkSession::on_timer(std::int64_t now_ms) {
    if (state_ == SessionState::WaitHello) {
        if (now_ms >= hello_deadline_ms_) {
            fail(CloseCode::HelloTimeout,
                 "no HELLO within " + std::to_string(config_.limits.hello_timeout_ms) + " ms");
        }
        return;
    }
    if (state_ != SessionState::Established) return;
    if (pong_deadline_ms_) {
        if (now_ms >= *pong_deadline_ms_) {
            fail(CloseCode::PingTimeout,
                 "no PONG within " + std::to_string(config_.limits.pong_timeout_ms) + " ms");
        }
        return;
    }
    if (config_.limits.ping_interval_ms > 0 && now_ms >= next_ping_ms_) {
        ++ping_nonce_;
        ++counters_.pings_out;
        (void)queue(make_ping(ping_nonce_));
        pong_deadline_ms_ = now_ms + config_.limits.pong_timeout_ms;
        next_ping_ms_ = now_ms + config_.limits.ping_interval_ms;
    }
}

std::optional<std::int64_t> LinkSession::next_deadline_ms() const {
    switch (state_) {
        case SessionState::WaitHello:
            return hello_deadline_ms_;
        case SessionState::Established:
            if (pong_deadline_ms_) return pong_deadline_ms_;
            if (config_.limits.ping_interval_ms > 0) return next_ping_ms_;
            return std::nullopt;
        case SessionState::Idle:
        case SessionState::Closed:
            return std::nullopt;
    }
    return std::nullopt;
}

void LinkSession::transport_closed(std::string_view detail) {
    if (state_ == SessionState::Closed) return;
    end({CloseCode::TransportClosed, std::string(detail)});
}

void LinkSession::close(std::string_view reason) {
    if (state_ == SessionState::Closed) return;
    if (state_ != SessionState::Idle) (void)queue(make_goodbye(reason));
    end({CloseCode::Local, std::string(reason)});
}

void LinkSession::fail(CloseCode code, std::string text) {
    if (state_ == SessionState::Closed) return;
    CloseReason reason{code, std::move(text)};
    if (state_ != SessionState::Idle) (void)queue(make_goodbye(reason.describe()));
    end(std::move(reason));
}

void LinkSession::end(CloseReason reason) {
    state_ = SessionState::Closed;
    pong_deadline_ms_.reset();
    events_.emplace_back(Closed{std::move(reason)});
}

Result<void, SendRefusal> LinkSession::queue(const Frame& frame) {
    auto bytes = encode(frame);
    if (!bytes) {
        return Unexpected(bytes.error().kind == LinkErrorKind::FrameTooLarge
                              ? SendRefusal::TooLarge
                              : SendRefusal::Unencodable);
    }
    // The peer's decoder refuses frames above its limit and closes the link; we assume it runs
    // the same limit as ours and refuse such a frame here, where it is one failed send.
    if (bytes->size() - 4 > config_.limits.decoder.max_frame_bytes)
        return Unexpected(SendRefusal::TooLarge);
    counters_.bytes_out += bytes->size();
    output_ += *bytes;
    return {};
}

Result<void, SendRefusal> LinkSession::send_stanza(StanzaFrame stanza) {
    if (!is_established()) return Unexpected(SendRefusal::NotEstablished);
    if (!can_send()) return Unexpected(SendRefusal::NoCredit);
    if (stanza.seq == 0) stanza.seq = next_seq_ + 1;
    auto r = queue(make_frame(stanza));
    if (!r) return r;
    next_seq_ = std::max(next_seq_, stanza.seq);
    ++in_flight_;
    ++counters_.stanzas_out;
    return {};
}

Result<void, SendRefusal> LinkSession::send_registry(std::uint64_t version, std::string json) {
    assert(config_.role == Role::Gateway && "only the gateway sends REGISTRY");
    if (!is_established()) return Unexpected(SendRefusal::NotEstablished);
    auto r = queue(make_registry(version, std::move(json)));
    if (r) ++counters_.registries_out;
    return r;
}

void LinkSession::stanza_done(std::uint32_t n) {
    if (!is_established()) return;
    const std::uint32_t outstanding = recv_unacked_ - pending_credit_;
    pending_credit_ += std::min(n, outstanding);
    const std::uint32_t batch = std::max<std::uint32_t>(1, config_.limits.window / 2);
    if (pending_credit_ >= batch) flush_credit();
}

void LinkSession::flush_credit() {
    if (!is_established() || pending_credit_ == 0) return;
    (void)queue(make_credit(pending_credit_));
    ++counters_.credit_frames_out;
    recv_unacked_ -= pending_credit_;
    pending_credit_ = 0;
}

std::string LinkSession::take_output() {
    std::string out;
    out.swap(output_);
    return out;
}

std::optional<SessionEvent> LinkSession::next_event() {
    if (events_.empty()) return std::nullopt;
    SessionEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
}

}  // namespace fedgw::link
