// InboundStream: the receiving entity of one s2s stream (a partner connected to our 5269, or to
// the XEP-0368 direct TLS port).
// RFC 6120 §4.3 (negotiation, restarts), §4.4 (closing), §4.6.1 (whitespace keepalives), §4.7
// (header attributes), §4.8 (namespaces), §4.9 (stream errors), §5.4 (STARTTLS), §6.4 (SASL),
// §8.1.1.2 / §8.1.2.2 (addressing of s2s stanzas); XEP-0178 §3 (SASL EXTERNAL between servers),
// XEP-0220 §2.2 / §2.4.2 / §2.5 (dialback: receiving and authoritative roles, dialback errors),
// XEP-0288 (bidirectional streams), XEP-0368 (direct TLS), XEP-0478 (stream limits).
//
// Pure: bytes and events in, StreamActions out (s2s_types.hpp); no socket, clock, DNS or
// randomness (stream ids come from the IdSource, time from the `now_ms` arguments). The owner
// drains take_actions() after every call, including right after construction (the constructor
// asks for the Establishment and Inactivity timers).
//
// Choices where the specs leave room (each one has a test):
// - Header errors: a missing or non-local 'to' is host-unknown; a missing or lower 'version' is
//   unsupported-version (a higher 1.x or 2.x is answered with 1.0, RFC 6120 §4.7.5); a 'from'
//   that is not a domain is invalid-from; a 'from' refused by the registry is policy-violation
//   naming the domain and the rule. Our response header leaves 'from' out when the 'to' we got
//   is not ours (as Prosody does): we would otherwise claim a domain we do not serve.
// - After a restart (TLS, SASL) 'from' and 'to' must stay the same, except that a 'from' left
//   out before TLS may appear after it (RFC 6120 §4.7.1 makes it optional): invalid-from /
//   host-unknown.
// - db:result for a 'to' we do not serve, or from a domain the registry refuses or that may not
//   use dialback: a dialback error (XEP-0220 §2.5: item-not-found, forbidden, not-authorized,
//   policy-violation), never a stream error, so other domain pairs on the stream live on
//   (XEP-0220 §2.2.1, §2.6 multiplexing). max_auth_failures failed attempts (SASL failures and
//   dialback errors together) end the stream with policy-violation (RFC 6120 §6.4.5).
// - A stanza or db:result before TLS when the policy requires TLS: policy-violation stream error
//   ("TLS required by policy for <domain>"). db:verify is answered before TLS: it only says
//   whether a key we issued is genuine, and verification streams often skip TLS (XEP-0220 §2.1.2).
// - Stanzas: 'from' or 'to' missing or not a valid JID: improper-addressing (RFC 6120 §8.1.1.2,
//   §8.1.2.2; peers prepare JIDs before routing, so a bad one means a broken peer); 'to' not a
//   local domain: host-unknown; the (to, from) domain pair not authenticated on this stream:
//   invalid-from (logged as s2s.invalid_from). All are stream errors.
// - The rate limit counts every first-level element (stanzas and negotiation elements). Over
//   it the stream is not closed (what the peer already sent would be lost): the element is
//   processed, the bucket goes into debt, and PauseReading plus a Throttle timer stop reading
//   until the debt is repaid, so TCP slows the peer down (as Prosody's limits do). Bytes the
//   owner already read are still processed (more debt, a longer pause): the long-run rate is
//   the limit, a single burst can be one read's worth.
// - SASL EXTERNAL: "=" or an empty authzid means the stream's 'from'; an <auth/> without initial
//   response gets an empty <challenge/> (RFC 6120 §6.4.2); failures carry the RFC 6120 §6.5
//   condition that fits (invalid-mechanism, incorrect-encoding, invalid-authzid,
//   encryption-required, not-authorized, aborted) and a <text/> saying why.
// - STARTTLS when the policy does not support TLS, when TLS is up already, or after a pair was
//   authenticated on the plain stream: <failure/> and close (RFC 6120 §5.4.2.2).
// - A stream error while the owner runs the TLS handshake (owner close, timer) writes nothing.
// - Answers from the owner about a dialback key: on_key_verified() (valid / invalid: invalid
//   closes the stream, XEP-0220 §2.2.1) and on_key_unverifiable() when the authoritative server
//   could not be asked (a dialback error, XEP-0220 §2.5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/base/stanza_error.hpp"
#include "common/base/stream_error.hpp"
#include "common/registry/policy.hpp"
#include "common/xml/element.hpp"
#include "common/xml/stream_parser.hpp"
#include "proxy/dialback/dialback_key.hpp"
#include "proxy/s2s/s2s_types.hpp"

namespace fedgw::proxy {

class InboundStream {
  public:
    enum class State {
        WaitStreamHeader,  // the initiating entity's stream header (first one, or after a restart)
        WaitNegotiation,   // features sent: starttls, SASL <auth/>, db:result, db:verify, bidi
        WaitTlsHandshake,  // <proceed/> written, StartTls asked: the owner runs the handshake
        WaitSaslResponse,  // an empty <challenge/> sent: waiting for the EXTERNAL <response/>
        Established,       // at least one domain pair authenticated: stanzas flow
        Closed,            // the stream is over (CloseStream was emitted)
    };

    // Token bucket over now_ms: `per_second` elements per second, bursts of `burst` (0: the
    // same as per_second). per_second 0 turns the limit off. Over it, reading pauses.
    struct RateLimit {
        std::uint32_t per_second = 50;  // the registry's stanza_rate_per_s default
        std::uint32_t burst = 0;
    };

    struct Options {
        RateLimit rate{};
        // XEP-0368: the transport is TLS from the first byte. Pass the handshake's facts here
        // or through on_tls_established() before feeding bytes.
        bool direct_tls = false;
        std::optional<TlsFacts> tls{};
        // Dialback verifications waiting for the owner at once (db:result beyond this gets a
        // resource-constraint dialback error).
        std::size_t max_pending_dialback = 16;
        // Failed SASL attempts and dialback errors before the stream ends (RFC 6120 §6.4.5
        // asks for 2 to 5 retries).
        std::uint32_t max_auth_failures = 5;
    };

    // A domain pair authenticated on this stream: stanzas from `remote` to `local` may flow.
    struct Pair {
        std::string local;
        std::string remote;
        AuthMethod method = AuthMethod::None;
        std::string partner;  // the registry partner's primary domain
        registry::PartnerType partner_type = registry::PartnerType::PublicUnverified;
    };

    struct Counters {
        std::uint64_t stanzas_in = 0;   // delivered to the router
        std::uint64_t stanzas_out = 0;  // written by send() (XEP-0288)
        std::uint64_t bytes_in = 0;
        std::uint64_t bytes_out = 0;
    };

    // `policy` and `keys` must outlive the stream. `limits` are the XML parser's; its
    // max_stanza_bytes is advertised (XEP-0478) with the inactivity timeout.
    InboundStream(const StreamPolicy& policy, const DialbackKeys& keys, StreamTimers timers,
                  Limits limits, IdSource ids, Options options);
    InboundStream(const StreamPolicy& policy, const DialbackKeys& keys, StreamTimers timers,
                  Limits limits, IdSource ids);
    ~InboundStream();
    InboundStream(const InboundStream&) = delete;
    InboundStream& operator=(const InboundStream&) = delete;

    // --- inputs -------------------------------------------------------------------------------
    // Plaintext bytes (before TLS) or decrypted bytes (after). Returns how many belong to the
    // XML stream: fewer than given only right after <starttls/>, when the rest is the peer's
    // first TLS bytes and goes to the TLS handshake (RFC 6120 §5.4.3.3). In WaitTlsHandshake it
    // takes nothing (0); once closed it swallows everything.
    std::size_t feed(std::string_view bytes, std::uint64_t now_ms);
    // The TLS handshake completed: a new stream starts (or, with direct TLS, the first one).
    void on_tls_established(const TlsFacts& facts, std::uint64_t now_ms);
    // The handshake failed: nothing more can be written; the stream closes.
    void on_tls_failed(std::string_view reason);
    void on_timer(TimerKind kind, std::uint64_t now_ms);
    // The authoritative server's answer to VerifyDialbackKey{local, remote, ...}. Answers for
    // a pair nothing waits for are ignored (XEP-0220 §3.1 unsolicited answers).
    void on_key_verified(std::string_view local, std::string_view remote, bool valid);
    // The key could not be checked (authoritative server unreachable: remote-server-not-found,
    // remote-connection-failed, remote-server-timeout): a dialback error (XEP-0220 §2.5).
    void on_key_unverifiable(std::string_view local, std::string_view remote,
                             StanzaCondition condition);
    // XEP-0288: writes a stanza to the peer when it enabled bidi and the pair (stanza 'from'
    // domain, 'to' domain) is authenticated in the other direction. The error says why not
    // (the caller bounces the stanza with it).
    Result<void, StanzaError> send(const Element& stanza);
    // A whitespace keepalive now (RFC 6120 §4.6.1), if the stream is open.
    void send_keepalive();
    // Ends the stream with this error (shutdown, registry change, conflict): our header if not
    // sent yet, the error, our close; nothing while the TLS handshake runs.
    void close(StreamError error);
    // The connection went away under us.
    void on_transport_closed();

    // --- outputs ------------------------------------------------------------------------------
    std::vector<StreamAction> take_actions();
    bool has_actions() const { return !actions_.empty(); }

    // --- diagnostics --------------------------------------------------------------------------
    State state() const { return state_; }
    bool is_closed() const { return state_ == State::Closed; }
    // The id of our latest response header ("" before the first one).
    const std::string& stream_id() const { return stream_id_; }
    const std::vector<Pair>& authenticated_pairs() const { return pairs_; }
    bool is_authenticated(std::string_view local, std::string_view remote) const;
    const Counters& counters() const { return counters_; }
    bool is_tls() const { return tls_; }
    // The TLS handshake's facts (protocol, cipher, verification), when TLS is up.
    const TlsFacts* tls_facts() const { return tls_ && facts_ ? &*facts_ : nullptr; }
    // The partner domain: the header's 'from' when admitted, else the first authenticated
    // remote domain; "" while unknown.
    std::string_view partner_domain() const;
    // Our domain the peer asked for in its header ("" before a valid header).
    const std::string& local_domain() const { return local_; }
    bool is_bidi() const { return bidi_; }

    static std::string_view state_name(State s);

  private:
    // A dialback key handed to the owner (VerifyDialbackKey), waiting for on_key_verified().
    struct Pending {
        std::string local;
        std::string remote;
        registry::Partner partner;
        std::uint64_t deadline_ms = 0;
    };
    // What the feed loop does once the parser stopped after <auth/> or <response/>.
    enum class AfterStop { Nothing, Restart, Resume };

    // inbound_stream.cpp: the feed loop, the stream header, dispatch, closing, timers.
    void tick(std::uint64_t now_ms);
    void handle_event(XmlEvent& event);
    void on_stream_open(const StreamOpen& open);
    void on_element(std::unique_ptr<Element> element);
    void on_peer_close();
    void on_peer_stream_error(const Element& error);
    void resume_stream();
    void write(std::string_view bytes);
    void write_header();
    void fail(StreamError error);
    void finish(std::optional<StreamError> error, std::string reason);
    void arm(TimerKind kind, std::uint64_t after_ms);
    void charge_token();
    void refill();
    void log_refused(std::string_view domain, std::string_view rule, std::string_view detail);

    // inbound_negotiation.cpp: features, STARTTLS, SASL EXTERNAL, bidi.
    void send_features();
    void arm_stop_after();
    void on_starttls();
    void on_auth(const Element& auth);
    void on_sasl_response(const Element& response);
    void on_sasl_abort();
    void sasl_external(std::string_view data, bool initial);
    void sasl_failure(std::string_view condition, std::string text);
    void continue_stream();
    void on_bidi(const Element& bidi);
    registry::Partner stream_partner() const;
    bool tls_required() const;
    std::optional<std::string> certificate_problem() const;

    // inbound_dialback.cpp: db:result (receiving role), db:verify (authoritative role).
    void on_db_result(const Element& result);
    void on_db_verify(const Element& verify);
    void dialback_error(std::string_view local, std::string_view remote, StanzaError error);
    void count_auth_failure();
    void authenticate(const std::string& local, const std::string& remote, AuthMethod method,
                      const registry::Partner& partner);
    void expire_dialback(std::uint64_t now_ms);
    void rearm_dialback_timer();

    // inbound_stanzas.cpp: authenticated stanzas.
    void on_stanza(std::unique_ptr<Element> stanza);

    const StreamPolicy& policy_;
    const DialbackKeys& keys_;
    StreamTimers timers_;
    IdSource ids_;
    Options options_;
    XmlStreamParser parser_;
    State state_ = State::WaitStreamHeader;
    std::vector<StreamAction> actions_;
    AfterStop after_stop_ = AfterStop::Nothing;

    // The stream.
    bool tls_ = false;
    std::optional<TlsFacts> facts_;
    bool header_seen_ = false;  // a valid header of the peer was accepted on this connection
    bool header_sent_ = false;  // our response header for the current stream was written
    std::string stream_id_;
    std::string reply_from_;  // 'from' and 'to' of our response header
    std::string reply_to_;
    std::string local_;       // 'to' of the peer's header (prepared)
    std::string peer_;        // 'from' of the peer's header (prepared), "" when absent
    std::string peer_ascii_;  // its A-label form, for the certificate check
    std::optional<registry::Partner> peer_partner_;  // the admitted partner of peer_
    std::string header_qname_;  // "stream:stream" as the peer wrote it (resume_stream)
    std::vector<NamespaceDecl> header_ns_;

    // Negotiation.
    bool starttls_offered_ = false;
    bool sasl_offered_ = false;
    bool sasl_done_ = false;
    bool bidi_ = false;
    std::optional<std::uint64_t> peer_max_bytes_;  // XEP-0478 limits inside <bidi/>
    std::uint32_t auth_failures_ = 0;

    // Authentication.
    std::vector<Pair> pairs_;
    std::vector<Pending> pending_;
    std::optional<std::uint64_t> dialback_due_;  // when the armed Dialback timer fires
    bool keepalive_ = false;

    // Time and limits.
    bool clock_started_ = false;
    std::uint64_t now_ = 0;
    std::uint64_t last_input_ = 0;
    std::uint64_t last_output_ = 0;
    std::int64_t tokens_ = 0;  // thousandths of an element; below 0: debt, reading paused
    bool throttled_ = false;   // PauseReading{true} sent, Throttle timer armed
    std::uint64_t refilled_at_ = 0;
    Counters counters_;
};

}  // namespace fedgw::proxy
