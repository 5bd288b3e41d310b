// LinkSession: the protocol state of one proxy↔gateway link connection, on top of the frame
// codec (common/link/link_codec.hpp; wire format in docs/ARCHITECTURE.md, "The proxy↔gateway
// link wire format"):
//   - HELLO exchange: ours goes out first (start()), theirs must come first. Its version must be
//     ours, its role the other one, its node the configured expected name and its window above 0;
//     otherwise the session closes with a GOODBYE that names the mismatch.
//   - Flow control by credits, both ways. Our window is the number of STANZA frames the peer may
//     have unacknowledged toward us; the peer's window (from its HELLO) is ours toward it. Sending
//     a STANZA consumes one credit; can_send() says whether one is left, and Writable reports that
//     credit came back after we had used it all up. stanza_done(n) says the owner finished n
//     received stanzas; CREDIT goes out in batches (once half our window is done, or on
//     flush_credit()). A CREDIT for more stanzas than we have in flight, or a STANZA beyond our
//     window, is a protocol error.
//   - Liveness: a PING every ping interval, and the PONG must come within the pong timeout. No
//     clock inside: the owner passes its clock's milliseconds to start() and on_timer(), and calls
//     on_timer() at (or after) next_deadline_ms().
//   - GOODBYE: close(reason) sends one and ends the session; a peer's ends it too.
// Every session ends with exactly one Closed event. After it, input is ignored; the owner sends
// what take_output() still holds (the GOODBYE) and then closes the transport.
//
// Pure: bytes and events in, bytes and events out; no sockets, no clock, no TLS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/base/result.hpp"
#include "common/link/link_codec.hpp"

namespace fedgw::link {

// Why a link connection ended. The session itself produces the first seven; the loop-bound
// owners (LinkConnection, LinkClient, LinkServer) add the others, so the owner of a link sees
// one closed set.
enum class CloseCode {
    Local,             // our owner closed the link (GOODBYE sent)
    PeerGoodbye,       // the peer sent GOODBYE
    ProtocolError,     // the peer broke the wire format or the protocol (GOODBYE sent)
    PeerMismatch,      // the peer's HELLO had the wrong version, role or node (GOODBYE sent)
    HelloTimeout,      // no HELLO from the peer before the deadline (GOODBYE sent)
    PingTimeout,       // no PONG to our PING before the deadline (GOODBYE sent)
    TransportClosed,   // the connection ended without a GOODBYE
    ResolveFailed,     // the gateway's host name did not resolve
    ConnectFailed,     // the TCP connection could not be opened (refused, unreachable, timed out)
    TlsFailed,         // the TLS handshake failed (certificate or name refused, either side)
    HandshakeTimeout,  // TCP, TLS and HELLO did not complete before the handshake deadline
};

// "local", "peer-goodbye", "protocol-error", ...
std::string_view describe(CloseCode c);

struct CloseReason {
    CloseCode code = CloseCode::Local;
    std::string text{};  // details: the peer's GOODBYE reason, the decoder's error, the TLS error

    // "protocol-error: STANZA before HELLO".
    std::string describe() const;
};

// Why send_stanza() or send_registry() did not send.
enum class SendRefusal {
    NotEstablished,  // no HELLO exchange yet, or the link is down: answer service-unavailable
    NoCredit,        // the peer's window is used up: pause and wait for Writable
    Unencodable,     // a header value holds CR or LF: this frame can never be sent
    TooLarge,        // the frame exceeds the link's frame limit: this frame can never be sent
};

// "not-established", "no-credit", "unencodable", "too-large".
std::string_view describe(SendRefusal r);

struct SessionLimits {
    std::uint32_t window = 64;              // STANZA frames the peer may have in flight toward us
    std::int64_t hello_timeout_ms = 10000;  // from start() to the peer's HELLO
    std::int64_t ping_interval_ms = 30000;  // between our PINGs; 0: never ping
    std::int64_t pong_timeout_ms = 10000;   // from a PING to its PONG
    DecoderLimits decoder{};                // also the largest frame we send
};

struct SessionConfig {
    Role role = Role::Proxy;    // ours; the peer must have the other one
    std::string node{};         // our name, sent in HELLO
    std::string expected_peer;  // the node the peer's HELLO must carry; empty: any (tools only)
    SessionLimits limits{};
};

// ---- events -------------------------------------------------------------------------------

struct HelloDone {  // the HELLO exchange completed: STANZA frames may flow
    Hello peer;
};
struct StanzaReceived {  // a STANZA; call stanza_done() once it has been handled
    StanzaFrame stanza;
};
struct RegistryReceived {  // a REGISTRY snapshot (the proxy's side only)
    std::uint64_t version = 0;
    std::string json;
};
struct Writable {};  // credit came back after can_send() had turned false
struct Closed {      // the session ended; the last event
    CloseReason reason;
};
using SessionEvent = std::variant<HelloDone, StanzaReceived, RegistryReceived, Writable, Closed>;

enum class SessionState {
    Idle,         // before start()
    WaitHello,    // our HELLO sent, waiting for the peer's
    Established,  // frames flow both ways
    Closed,       // ended; see the Closed event
};

// "idle", "wait-hello", "established", "closed".
std::string_view describe(SessionState s);

struct SessionCounters {
    std::uint64_t stanzas_in = 0;
    std::uint64_t stanzas_out = 0;
    std::uint64_t registries_in = 0;
    std::uint64_t registries_out = 0;
    std::uint64_t credit_frames_in = 0;
    std::uint64_t credit_frames_out = 0;
    std::uint64_t pings_out = 0;
    std::uint64_t pongs_in = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
};

class LinkSession {
  public:
    explicit LinkSession(SessionConfig config);

    // Queues our HELLO and arms the HELLO deadline. Once only.
    void start(std::int64_t now_ms);
    // Bytes received from the peer, in any chunking.
    void feed(std::string_view bytes);
    // The owner's clock; call it at or after next_deadline_ms() (earlier calls are harmless).
    void on_timer(std::int64_t now_ms);
    // When on_timer() must run next, in the owner's clock; nullopt: no deadline pending.
    std::optional<std::int64_t> next_deadline_ms() const;
    // The transport ended (EOF, reset, TLS failure). Ends the session unless it already ended.
    void transport_closed(std::string_view detail);
    // Sends GOODBYE with `reason` and ends the session (Closed, code Local). Idempotent.
    void close(std::string_view reason);

    // Sends a STANZA and consumes one credit. A seq of 0 is replaced by the session's own
    // counter. Refused without any output when not Established or out of credit.
    Result<void, SendRefusal> send_stanza(StanzaFrame stanza);
    // Sends a REGISTRY snapshot (gateway role only; not flow-controlled).
    Result<void, SendRefusal> send_registry(std::uint64_t version, std::string json);
    // The owner finished n received stanzas. The credit goes back in batches; n beyond what is
    // outstanding is clamped (completions of stanzas from an older connection, for example).
    void stanza_done(std::uint32_t n = 1);
    // Sends any credit accumulated by stanza_done() now.
    void flush_credit();

    SessionState state() const { return state_; }
    bool is_established() const { return state_ == SessionState::Established; }
    bool is_closed() const { return state_ == SessionState::Closed; }
    bool can_send() const { return is_established() && in_flight_ < peer_window_; }
    // The peer's HELLO, once received.
    const std::optional<Hello>& peer() const { return peer_; }
    const SessionConfig& config() const { return config_; }

    std::uint32_t window() const { return config_.limits.window; }
    std::uint32_t peer_window() const { return peer_window_; }
    std::uint32_t send_credit() const { return peer_window_ - in_flight_; }
    std::uint32_t in_flight() const { return in_flight_; }
    // Stanzas received and not yet acknowledged with CREDIT (done or not).
    std::uint32_t unacknowledged_in() const { return recv_unacked_; }
    // Of those, the ones stanza_done() reported and a CREDIT will carry.
    std::uint32_t pending_credit() const { return pending_credit_; }
    const SessionCounters& counters() const { return counters_; }

    bool has_output() const { return !output_.empty(); }
    std::string take_output();
    std::optional<SessionEvent> next_event();

  private:
    void handle_frame(Frame frame);
    void handle_hello(const Frame& frame);
    void handle_stanza(const Frame& frame);
    void handle_credit(const Frame& frame);
    void handle_registry(Frame frame);
    // Queues a GOODBYE naming the reason and ends the session.
    void fail(CloseCode code, std::string text);
    void end(CloseReason reason);
    Result<void, SendRefusal> queue(const Frame& frame);

    SessionConfig config_;
    SessionState state_ = SessionState::Idle;
    LinkDecoder decoder_;
    std::string output_;
    std::deque<SessionEvent> events_;
    std::optional<Hello> peer_;
    SessionCounters counters_;

    std::uint32_t peer_window_ = 0;     // from the peer's HELLO
    std::uint32_t in_flight_ = 0;       // our STANZA frames the peer has not credited yet
    std::uint32_t recv_unacked_ = 0;    // the peer's STANZA frames we have not credited yet
    std::uint32_t pending_credit_ = 0;  // of those, done and waiting for the batch
    std::uint64_t next_seq_ = 0;

    std::int64_t hello_deadline_ms_ = 0;
    std::int64_t next_ping_ms_ = 0;
    std::optional<std::int64_t> pong_deadline_ms_;
    std::uint64_t ping_nonce_ = 0;
};

}  // namespace fedgw::link
