// OutboundStream: the initiating entity of one s2s stream (we connect to a partner's 5269, or to
// its XEP-0368 direct-TLS port) for one domain pair, local -> remote.
//
// RFC 6120 §4 (stream header, features, errors, close), §5 (STARTTLS, as the initiating
// entity), §6 (SASL, initiating entity) with XEP-0178 §3 (EXTERNAL between servers), XEP-0220
// §2.1 (dialback on an outbound connection: §2.1.1 our db:result, §2.1.2 db:verify for keys a
// peer presented to our inbound side), XEP-0368 (direct TLS), XEP-0478 (the peer's limits).
//
// Pure: bytes and events in, StreamActions out (s2s_types.hpp); no socket, clock or randomness.
// The owner drains take_actions() after every call.
//
// Lifecycle:
//   start()            writes our stream header (or, for direct TLS, asks for the handshake
//                      first with StartTls) and arms Establishment and Inactivity.
//   feed()             peer bytes; returns how many belong to the XML stream. After <proceed/>
//                      the rest is TLS: StartTls is emitted and the owner hands the remaining
//                      bytes to the TLS client as its first ciphertext.
//   on_tls_established() new stream header; with partner SASL "required" the peer certificate
//                      must verify for the remote domain first.
//   features           -> STARTTLS if offered and allowed; else SASL EXTERNAL (after TLS, when
//                      offered, allowed and we hold a certificate); else dialback (when allowed
//                      and the peer supports it); else the stream fails.
//   Ready              DomainAuthenticated + StreamReady: send() writes stanzas.
// A verify-only stream (OutboundOptions::verify_only) stops after the header exchange (and TLS)
// and only carries db:verify (XEP-0220 §2.1.2); it closes itself when its last answer is in.
//
// Failure: a CloseStream action whose `bounce` names the stanza error for whatever the router
// queued for the pair (nullopt once the stream had been ready, and for verify-only streams).
// Bounce conditions: remote-server-not-found for a peer or policy that rules the pair out (TLS
// or certificate policy, no common authentication method, stream errors, transport loss);
// remote-server-timeout for timeouts and, per XEP-0220 §2.1.1, for a dialback error or a stream
// closed while waiting for the dialback result; internal-server-error for a dialback result of
// type 'invalid' (XEP-0220 §2.1.1). Every pending db:verify is answered valid=false.
//
// Timers (one per kind; ArmTimer for an armed kind replaces it):
//   Establishment  start() -> Ready (or the verify-only state); expiry: connection-timeout.
//   Inactivity     nothing received and no stanza sent for inactivity_ms: connection-timeout.
//                  (An outbound s2s stream is one-way, so sending counts as activity.)
//   Keepalive      when Ready and nothing was written for a whole interval: one space
//                  (RFC 6120 §4.6.1). Off when the partner disables keepalives or the interval
//                  is 0; shortened to half the idle-seconds a peer advertises (XEP-0478).
//   Dialback       our db:result and each db:verify we wrote must be answered by then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/registry/partner.hpp"
#include "common/xml/element.hpp"
#include "common/xml/stream_parser.hpp"
#include "proxy/dialback/dialback_key.hpp"
#include "proxy/s2s/s2s_types.hpp"

namespace fedgw::proxy {

struct OutboundOptions {
    std::string local_domain;       // our domain: 'from' of the stream header and of the stanzas
    std::string remote_domain;      // the partner's domain we connect to
    registry::Partner partner;      // the policy for remote_domain
    bool have_certificate = false;  // we hold a certificate for local_domain (SASL EXTERNAL)
    bool direct_tls = false;        // XEP-0368: the transport starts with a TLS handshake
    bool verify_only = false;       // only for db:verify; never Ready for stanzas
    // db:verify requests waiting or in flight on this stream; send_verify() refuses more.
    std::size_t max_pending_verifications = 256;
};

// Why send() did not write a stanza. The router bounces it (or queues it) itself.
enum class SendError {
    NotReady,         // the stream is not (or no longer) authenticated for stanzas
    VerifyOnly,       // a verify-only stream never carries stanzas
    NotAStanza,       // not message, presence or iq
    WrongDomainPair,  // 'from' is not at our local domain or 'to' not at the remote domain
    TooLarge,         // larger than the max-bytes the peer advertised (XEP-0478)
};
std::string_view describe(SendError e);

struct OutboundCounters {
    std::uint64_t stanzas_out = 0;  // stanzas written by send()
    std::uint64_t elements_in = 0;  // first-level elements received (features, answers)
    std::uint64_t bytes_out = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t keepalives_out = 0;
};

class OutboundStream {
  public:
    enum class State {
        Idle,                // constructed; start() not called yet
        WaitTlsHandshake,    // StartTls emitted; waiting for on_tls_established()
        WaitStreamHeader,    // our header written; waiting for the response header
        WaitFeatures,        // waiting for <stream:features/>
        WaitTlsProceed,      // <starttls/> written; waiting for <proceed/>
        WaitSaslResult,      // <auth mechanism='EXTERNAL'/> written; waiting for the outcome
        WaitDialbackResult,  // <db:result/> written; waiting for type valid/invalid/error
        Ready,               // authenticated: stanzas flow from local to remote
        VerifyOnly,          // verify-only stream negotiated: db:verify flows
        Closed,              // CloseStream emitted; every input is ignored
    };
    static std::string_view state_name(State s);

    OutboundStream(OutboundOptions options, const DialbackKeys& keys, StreamTimers timers = {},
                   Limits limits = {});
    OutboundStream(const OutboundStream&) = delete;
    OutboundStream& operator=(const OutboundStream&) = delete;

    // --- inputs --------------------------------------------------------------------------------
    void start(std::uint64_t now_ms);
    // Returns the bytes that belong to the XML stream; after <proceed/> the rest is TLS. Bytes
    // given while the TLS handshake is pending are not taken (0); after close all are taken.
    std::size_t feed(std::string_view bytes, std::uint64_t now_ms);
    void on_tls_established(const TlsFacts& facts, std::uint64_t now_ms);
    void on_tls_failed(std::string_view reason);
    void on_timer(TimerKind kind, std::uint64_t now_ms);
    // Closes with a stream error (system-shutdown, policy-violation when the partner was
    // removed, conflict, ...).
    void close(StreamError error);
    // Closes in order: </stream:stream>.
    void close();
    void on_transport_closed();

    // Writes one stanza (message, presence or iq; jabber:client is rewritten to jabber:server).
    Result<void, SendError> send(const Element& stanza);
    // Asks the peer, as authoritative server for `remote`, whether `key` is its key for the
    // stream `id` it opened to our `local` domain (XEP-0220 §2.1.2). Written once the stream
    // is negotiated; answered with DialbackVerifyAnswer. False (nothing queued) when `remote`
    // is not this stream's remote domain, the stream is closed, or too many are pending.
    bool send_verify(std::string_view local, std::string_view remote, std::string_view id,
                     std::string_view key, std::uint64_t now_ms);
    // A whitespace keepalive now (RFC 6120 §4.6.1), when the stream is negotiated.
    void send_keepalive();

    // --- outbox --------------------------------------------------------------------------------
    std::vector<StreamAction> take_actions();
    bool has_actions() const { return !actions_.empty(); }

    // --- diagnostics ---------------------------------------------------------------------------
    State state() const { return state_; }
    bool is_ready() const { return state_ == State::Ready; }
    bool is_closed() const { return state_ == State::Closed; }
    const std::string& local_domain() const { return opts_.local_domain; }
    const std::string& remote_domain() const { return opts_.remote_domain; }
    const registry::Partner& partner() const { return opts_.partner; }
    bool is_verify_only() const { return opts_.verify_only; }
    // The id of the peer's current response stream header ("" before it arrived).
    const std::string& stream_id() const { return stream_id_; }
    // The pair local -> remote once authenticated (at most one on an outbound stream).
    std::vector<DomainAuthenticated> authenticated_pairs() const;
    AuthMethod auth_method() const { return auth_; }
    bool is_tls() const { return tls_.has_value(); }
    const std::optional<TlsFacts>& tls_facts() const { return tls_; }
    const OutboundCounters& counters() const { return counters_; }
    std::size_t pending_verifications() const { return verifies_.size(); }
    // XEP-0478 max-bytes from the peer's features, if it sent one.
    std::optional<std::size_t> peer_max_stanza_bytes() const { return peer_max_bytes_; }

  private:
    struct PendingVerify {
        std::string local;
        std::string remote;
        std::string id;
        std::string key;
        std::uint64_t deadline_ms = 0;
        bool written = false;
    };

    // outbound_stream.cpp: lifecycle, outbox, timers, failure.
    void write(std::string_view bytes);
    void write_element(const Element& e);
    void write_header();
    void arm(TimerKind kind, std::uint64_t after_ms);
    void cancel(TimerKind kind);
    void rearm_dialback(std::uint64_t now_ms);
    void expire_dialback(std::uint64_t now_ms);
    void on_inactivity(std::uint64_t now_ms);
    void on_keepalive();
    bool can_write() const;
    // Ends the stream: writes `error` (if any) and </stream:stream> when the stream can carry
    // them, answers pending verifications, cancels timers, logs, emits CloseStream.
    void finish(std::optional<StreamError> error, std::string reason,
                std::optional<StanzaCondition> bounce, bool failure);
    // finish() for a failure before Ready: bounce with `bounce`, log s2s.out.failed.
    void fail(std::optional<StreamError> error, std::string reason, StanzaCondition bounce);
    std::optional<StanzaCondition> bounce_for(StanzaCondition c) const;
    std::uint64_t keepalive_interval() const;

    // outbound_negotiation.cpp: the peer's elements, by state.
    void process_events(std::uint64_t now_ms);
    void on_header(const StreamOpen& open, std::uint64_t now_ms);
    void on_element(const Element& e, std::uint64_t now_ms);
    void on_features(const Element& features, std::uint64_t now_ms);
    void choose_authentication(const Element& features, std::uint64_t now_ms);
    void on_tls_answer(const Element& e);
    void on_sasl_answer(const Element& e, std::uint64_t now_ms);
    void on_dialback_result(const Element& e, std::uint64_t now_ms);
    void on_dialback_verify(const Element& e, std::uint64_t now_ms);
    void on_stream_error(const Element& e);
    void on_peer_close();
    void start_dialback(std::uint64_t now_ms);
    void become_ready(AuthMethod method, std::uint64_t now_ms);
    void enter_verify_only(std::uint64_t now_ms);
    void flush_verifies();
    void read_limits(const Element& features);
    bool peer_certificate_verifies() const;
    std::string peer_certificate_problem() const;
    // After an answer: a verify-only stream with nothing left to ask closes in order.
    void close_verify_only_if_done();

    OutboundOptions opts_;
    const DialbackKeys& keys_;
    StreamTimers timers_;
    XmlStreamParser parser_;
    std::vector<StreamAction> actions_;

    State state_ = State::Idle;
    std::string stream_id_;
    std::optional<TlsFacts> tls_;
    AuthMethod auth_ = AuthMethod::None;
    bool ever_ready_ = false;
    bool sasl_succeeded_ = false;     // <success/> seen: the next features complete SASL
    bool sasl_failed_ = false;        // EXTERNAL was refused on this connection
    bool restarted_ = false;          // the parser was reset inside feed() (SASL success)
    bool transport_gone_ = false;     // on_transport_closed(): nothing can be written
    bool peer_db_namespace_ = false;  // header declared xmlns:db (XEP-0220 §2.4.1)
    bool peer_db_feature_ = false;    // features offered urn:xmpp:features:dialback (§2.4.2)
    std::optional<std::size_t> peer_max_bytes_;
    std::optional<std::uint64_t> peer_idle_ms_;

    std::uint64_t dialback_deadline_ms_ = 0;  // of our db:result, in WaitDialbackResult
    std::vector<PendingVerify> verifies_;     // in request order

    // Timers.
    unsigned armed_ = 0;                           // bit per TimerKind
    std::optional<std::uint64_t> dialback_armed_;  // the deadline the Dialback timer is set to
    std::uint64_t last_input_ms_ = 0;
    bool sent_since_inactivity_arm_ = false;
    bool wrote_since_keepalive_arm_ = false;

    OutboundCounters counters_;
};

}  // namespace fedgw::proxy
