// OutboundStream, part 1: lifecycle, the outbox, timers, sending and ending the stream.
// RFC 6120 §4.4 (closing), §4.6.1 (whitespace keepalives), §4.9 (stream errors); XEP-0220
// §2.1.2 (db:verify requests), XEP-0368 (direct TLS). The peer's elements are handled in
// outbound_negotiation.cpp.
//
// Pure: no I/O (see outbound_stream.hpp).
#include "proxy/s2s/outbound_stream.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/jid/jid.hpp"
#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"

namespace fedgw::proxy {
namespace {

unsigned bit(TimerKind k) {
    return 1u << static_cast<unsigned>(k);
}

constexpr TimerKind kAllTimers[] = {TimerKind::Establishment, TimerKind::Inactivity,
                                    TimerKind::Keepalive, TimerKind::Dialback};

bool is_stanza_name(std::string_view name) {
    return name == "message" || name == "presence" || name == "iq";
}

// Whether a JID's domainpart is `domain` (which may be given in U-label or A-label form).
bool jid_at(std::optional<std::string_view> jid, std::string_view domain) {
    if (!jid) return false;
    auto j = Jid::parse(*jid);
    return j && (j->domainpart() == domain || j->domain_ascii() == domain);
}

bool needs_server_ns(const Element& e) {
    if (e.ns() == kNsClient) return true;
    for (const auto& n : e.nodes())
        if (n.is_element() && needs_server_ns(n.element())) return true;
    return false;
}

// Stanzas from the gateway may carry the client namespace; on s2s it is jabber:server
// (RFC 6120 §4.8.3). Rewrites every element in jabber:client.
void to_server_ns(Element& e) {
    if (e.ns() == kNsClient) e.set_ns(std::string(kNsServer));
    for (auto& n : e.nodes())
        if (n.is_element()) to_server_ns(n.element());
}

}  // namespace

std::string_view describe(SendError e) {
    switch (e) {
        case SendError::NotReady:
            return "the stream is not authenticated for stanzas";
        case SendError::VerifyOnly:
            return "a verify-only stream carries no stanzas";
        case SendError::NotAStanza:
            return "not a message, presence or iq stanza";
        case SendError::WrongDomainPair:
            return "from/to do not match the stream's domain pair";
        case SendError::TooLarge:
            return "larger than the max-bytes the peer advertised";
    }
    return "unknown";
}

std::string_view OutboundStream::state_name(State s) {
    switch (s) {
        case State::Idle:
            return "idle";
        case State::WaitTlsHandshake:
            return "wait-tls-handshake";
        case State::WaitStreamHeader:
            return "wait-stream-header";
        case State::WaitFeatures:
            return "wait-features";
        case State::WaitTlsProceed:
            return "wait-tls-proceed";
        case State::WaitSaslResult:
            return "wait-sasl-result";
        case State::WaitDialbackResult:
            return "wait-dialback-result";
        case State::Ready:
            return "ready";
        case State::VerifyOnly:
            return "verify-only";
        case State::Closed:
            return "closed";
    }
    return "unknown";
}

OutboundStream::OutboundStream(OutboundOptions options, const DialbackKeys& keys,
                               StreamTimers timers, Limits limits)
    : opts_(std::move(options)), keys_(keys), timers_(timers), parser_(limits) {}

// --- lifecycle ---------------------------------------------------------------------------------

void OutboundStream::start(std::uint64_t now_ms) {
    assert(state_ == State::Idle && "start() is called once");
    if (state_ != State::Idle) return;
    last_input_ms_ = now_ms;
    log::debug("s2s.out.start", {{"local", opts_.local_domain},
                                 {"remote", opts_.remote_domain},
                                 {"direct_tls", opts_.direct_tls},
                                 {"verify_only", opts_.verify_only}});
    arm(TimerKind::Establishment, timers_.establishment_ms);
    arm(TimerKind::Inactivity, timers_.inactivity_ms);
    if (opts_.direct_tls) {
        // XEP-0368: TLS first, then the stream header inside it.
        state_ = State::WaitTlsHandshake;
        actions_.emplace_back(StartTls{opts_.remote_domain});
        return;
    }
    write_header();
    state_ = State::WaitStreamHeader;
}

std::size_t OutboundStream::feed(std::string_view bytes, std::uint64_t now_ms) {
    switch (state_) {
        case State::Closed:
            return bytes.size();  // taken and ignored
        case State::Idle:
            assert(!"feed() before start()");
            return bytes.size();
        case State::WaitTlsHandshake:
            return 0;  // these bytes belong to the TLS handshake
        default:
            break;
    }
    if (!bytes.empty()) last_input_ms_ = now_ms;
    std::size_t done = 0;
    while (state_ != State::Closed) {
        auto r = parser_.feed(bytes.substr(done));
        // Events parsed before a failure are handled first (they are still in the outbox).
        process_events(now_ms);
        if (!r) {
            counters_.bytes_in += bytes.size() - done;
            if (state_ != State::Closed) {
                StreamError e = r.error();
                std::string reason = "peer sent bad XML: " + e.describe();
                fail(std::move(e), std::move(reason), StanzaCondition::RemoteServerNotFound);
            }
            return bytes.size();
        }
        done += r->consumed;
        counters_.bytes_in += r->consumed;
        if (state_ == State::Closed) return bytes.size();
        // After <proceed/>: the rest belongs to TLS (RFC 6120 §5.4.3.3).
        if (state_ == State::WaitTlsHandshake) return done;
        if (!r->stopped) break;
        if (!restarted_) break;  // </stream:stream> was handled as an event
        // SASL <success/>: the parser was reset; what follows belongs to the new stream.
        restarted_ = false;
        if (done == bytes.size()) break;
    }
    return state_ == State::Closed ? bytes.size() : done;
}

void OutboundStream::on_tls_established(const TlsFacts& facts, std::uint64_t now_ms) {
    assert(state_ == State::WaitTlsHandshake || state_ == State::Closed);
    if (state_ != State::WaitTlsHandshake) return;
    tls_ = facts;
    last_input_ms_ = now_ms;
    parser_.reset();  // a new stream over TLS (RFC 6120 §5.4.3.3)
    log::info("s2s.out.tls", {{"local", opts_.local_domain},
                              {"remote", opts_.remote_domain},
                              {"protocol", facts.protocol},
                              {"cipher", facts.cipher},
                              {"verified", peer_certificate_verifies()},
                              {"verify_error", facts.verify_error}});
    write_header();
    state_ = State::WaitStreamHeader;
    // SASL "required" is SASL, else nothing: the peer's certificate must prove its identity
    // (RFC 6120 §13.7.2, RFC 6125). Dialback may run over an unverified certificate only when
    // the policy allows dialback at all.
    if (opts_.partner.sasl == registry::Negotiation::Required && !peer_certificate_verifies()) {
        std::string problem = peer_certificate_problem();
        fail(StreamError{StreamCondition::PolicyViolation, problem}, problem,
             StanzaCondition::RemoteServerNotFound);
    }
}

void OutboundStream::on_tls_failed(std::string_view reason) {
    if (state_ == State::Closed) return;
    fail(std::nullopt,
         "TLS handshake with " + opts_.remote_domain + " failed: " + std::string(reason),
         StanzaCondition::RemoteServerNotFound);
}

void OutboundStream::close(StreamError error) {
    if (state_ == State::Closed) return;
    std::string reason = "closed by us: " + error.describe();
    finish(std::move(error), std::move(reason), bounce_for(StanzaCondition::RemoteServerNotFound),
           false);
}

void OutboundStream::close() {
    if (state_ == State::Closed) return;
    finish(std::nullopt, "closed by us", bounce_for(StanzaCondition::RemoteServerNotFound), false);
}

void OutboundStream::on_transport_closed() {
    if (state_ == State::Closed) return;
    // XEP-0220 §2.1.1: a stream closed while waiting for the dialback result counts as a
    // dialback error, whose stanzas go back with remote-server-timeout.
    StanzaCondition bounce = state_ == State::WaitDialbackResult
                                 ? StanzaCondition::RemoteServerTimeout
                                 : StanzaCondition::RemoteServerNotFound;
    std::string reason = "connection to " + opts_.remote_domain + " lost in state " +
                         std::string(state_name(state_));
    transport_gone_ = true;  // nothing can be written any more
    if (ever_ready_) {
        finish(std::nullopt, std::move(reason), std::nullopt, false);
    } else {
        fail(std::nullopt, std::move(reason), bounce);
    }
}

// --- sending -----------------------------------------------------------------------------------

Result<void, SendError> OutboundStream::send(const Element& stanza) {
    if (opts_.verify_only) return Unexpected(SendError::VerifyOnly);
    if (state_ != State::Ready) return Unexpected(SendError::NotReady);
    if (!is_stanza_name(stanza.name()) ||
        (stanza.ns() != kNsServer && stanza.ns() != kNsClient && !stanza.ns().empty()))
        return Unexpected(SendError::NotAStanza);
    // The stream is authenticated for this one pair; anything else would make the peer close
    // it with invalid-from (RFC 6120 §4.9.3.9) or host-unknown.
    if (!jid_at(stanza.attr("from"), opts_.local_domain) ||
        !jid_at(stanza.attr("to"), opts_.remote_domain))
        return Unexpected(SendError::WrongDomainPair);

    std::string bytes;
    if (stanza.ns().empty() || needs_server_ns(stanza)) {
        auto copy = stanza.clone();
        if (copy->ns().empty()) copy->set_ns(std::string(kNsServer));
        to_server_ns(*copy);
        bytes = serialize(*copy, stream_scope(kNsServer));
    } else {
        bytes = serialize(stanza, stream_scope(kNsServer));
    }
    if (peer_max_bytes_ && bytes.size() > *peer_max_bytes_) return Unexpected(SendError::TooLarge);
    write(bytes);
    ++counters_.stanzas_out;
    sent_since_inactivity_arm_ = true;
    return {};
}

bool OutboundStream::send_verify(std::string_view local, std::string_view remote,
                                 std::string_view id, std::string_view key, std::uint64_t now_ms) {
    if (state_ == State::Closed || remote != opts_.remote_domain) return false;
    if (verifies_.size() >= opts_.max_pending_verifications) {
        log::warn("s2s.out.verify_refused", {{"local", local},
                                             {"remote", remote},
                                             {"reason", "too many pending verifications"},
                                             {"limit", opts_.max_pending_verifications}});
        return false;
    }
    verifies_.push_back(PendingVerify{std::string(local), std::string(remote), std::string(id),
                                      std::string(key), now_ms + timers_.dialback_ms, false});
    if (state_ == State::Ready || state_ == State::VerifyOnly ||
        state_ == State::WaitDialbackResult)
        flush_verifies();
    rearm_dialback(now_ms);
    return true;
}

void OutboundStream::flush_verifies() {
    for (auto& v : verifies_) {
        if (v.written) continue;
        // XEP-0220 §2.1.2, Example 5.
        Element e("verify", std::string(kNsDialback), "db");
        e.set_attr("from", v.local).set_attr("to", v.remote).set_attr("id", v.id);
        e.add_text(v.key);
        write_element(e);
        v.written = true;
    }
}

void OutboundStream::send_keepalive() {
    if (state_ != State::Ready && state_ != State::VerifyOnly) return;
    write(" ");
    ++counters_.keepalives_out;
}

std::vector<StreamAction> OutboundStream::take_actions() {
    std::vector<StreamAction> out;
    out.swap(actions_);
    return out;
}

std::vector<DomainAuthenticated> OutboundStream::authenticated_pairs() const {
    if (auth_ == AuthMethod::None) return {};
    return {DomainAuthenticated{opts_.local_domain, opts_.remote_domain, auth_}};
}

// --- outbox ------------------------------------------------------------------------------------

void OutboundStream::write(std::string_view bytes) {
    if (bytes.empty()) return;
    counters_.bytes_out += bytes.size();
    wrote_since_keepalive_arm_ = true;
    // Adjacent writes share one action, so the owner makes one write call for them.
    if (!actions_.empty())
        if (auto* w = std::get_if<WriteBytes>(&actions_.back())) {
            w->bytes += bytes;
            return;
        }
    actions_.emplace_back(WriteBytes{std::string(bytes)});
}

void OutboundStream::write_element(const Element& e) {
    write(serialize(e, stream_scope(kNsServer)));
}

void OutboundStream::write_header() {
    // RFC 6120 §4.7: from = our domain, to = theirs, version 1.0, no id from the initiating
    // entity; xmlns:db announces traditional dialback (XEP-0220 §2.4.1).
    StreamHeader h;
    h.from = opts_.local_domain;
    h.to = opts_.remote_domain;
    write(stream_header(h));
}

bool OutboundStream::can_write() const {
    return !transport_gone_ && state_ != State::Idle && state_ != State::WaitTlsHandshake &&
           state_ != State::Closed;
}

// --- timers ------------------------------------------------------------------------------------

void OutboundStream::arm(TimerKind kind, std::uint64_t after_ms) {
    armed_ |= bit(kind);
    actions_.emplace_back(ArmTimer{kind, after_ms});
    if (kind == TimerKind::Inactivity) sent_since_inactivity_arm_ = false;
    if (kind == TimerKind::Keepalive) wrote_since_keepalive_arm_ = false;
}

void OutboundStream::cancel(TimerKind kind) {
    if (!(armed_ & bit(kind))) return;
    armed_ &= ~bit(kind);
    if (kind == TimerKind::Dialback) dialback_armed_.reset();
    actions_.emplace_back(CancelTimer{kind});
}

std::uint64_t OutboundStream::keepalive_interval() const {
    if (!opts_.partner.keepalive || timers_.keepalive_ms == 0) return 0;
    std::uint64_t every = timers_.keepalive_ms;
    // XEP-0478: stay well inside the idle time the peer tolerates.
    if (peer_idle_ms_ && *peer_idle_ms_ / 2 < every)
        every = std::max<std::uint64_t>(*peer_idle_ms_ / 2, 1000);
    return every;
}

void OutboundStream::on_timer(TimerKind kind, std::uint64_t now_ms) {
    if (state_ == State::Closed) return;
    armed_ &= ~bit(kind);
    switch (kind) {
        case TimerKind::Establishment:
            if (state_ == State::Ready || state_ == State::VerifyOnly) return;
            fail(StreamError{StreamCondition::ConnectionTimeout,
                             "stream not established within " +
                                 std::to_string(timers_.establishment_ms) + " ms"},
                 "stream to " + opts_.remote_domain + " not established within " +
                     std::to_string(timers_.establishment_ms) + " ms (state " +
                     std::string(state_name(state_)) + ")",
                 StanzaCondition::RemoteServerTimeout);
            return;
        case TimerKind::Inactivity:
            on_inactivity(now_ms);
            return;
        case TimerKind::Keepalive:
            on_keepalive();
            return;
        case TimerKind::Dialback:
            dialback_armed_.reset();
            expire_dialback(now_ms);
            return;
        case TimerKind::Throttle:  // inbound only
            return;
    }
}

void OutboundStream::on_inactivity(std::uint64_t now_ms) {
    const std::uint64_t idle = now_ms >= last_input_ms_ ? now_ms - last_input_ms_ : 0;
    if (sent_since_inactivity_arm_) {
        arm(TimerKind::Inactivity, timers_.inactivity_ms);
        return;
    }
    if (idle < timers_.inactivity_ms) {
        arm(TimerKind::Inactivity, timers_.inactivity_ms - idle);
        return;
    }
    StreamError e{StreamCondition::ConnectionTimeout, "idle for " + std::to_string(idle) + " ms"};
    std::string reason =
        "stream to " + opts_.remote_domain + " idle for " + std::to_string(idle) + " ms";
    finish(std::move(e), std::move(reason), bounce_for(StanzaCondition::RemoteServerTimeout),
           !ever_ready_);
}

void OutboundStream::on_keepalive() {
    if (state_ != State::Ready && state_ != State::VerifyOnly) return;
    if (!wrote_since_keepalive_arm_) send_keepalive();
    if (auto every = keepalive_interval()) arm(TimerKind::Keepalive, every);
}

void OutboundStream::rearm_dialback(std::uint64_t now_ms) {
    if (state_ == State::Closed) return;
    std::optional<std::uint64_t> next;
    if (state_ == State::WaitDialbackResult) next = dialback_deadline_ms_;
    for (const auto& v : verifies_)
        if (!next || v.deadline_ms < *next) next = v.deadline_ms;
    if (!next) {
        cancel(TimerKind::Dialback);
        return;
    }
    if (dialback_armed_ == next) return;
    dialback_armed_ = next;
    arm(TimerKind::Dialback, *next > now_ms ? *next - now_ms : 0);
}

void OutboundStream::expire_dialback(std::uint64_t now_ms) {
    if (state_ == State::WaitDialbackResult && now_ms >= dialback_deadline_ms_) {
        // XEP-0220 §2.1.1: "MAY impose a timeout on dialback operations".
        fail(std::nullopt,
             "no dialback result from " + opts_.remote_domain + " within " +
                 std::to_string(timers_.dialback_ms) + " ms",
             StanzaCondition::RemoteServerTimeout);
        return;
    }
    std::vector<PendingVerify> keep;
    for (auto& v : verifies_) {
        if (v.deadline_ms > now_ms) {
            keep.push_back(std::move(v));
            continue;
        }
        log::warn("s2s.out.verify_timeout",
                  {{"local", v.local}, {"remote", v.remote}, {"id", v.id}});
        actions_.emplace_back(DialbackVerifyAnswer{v.local, v.remote, v.id, false,
                                                   StanzaCondition::RemoteServerTimeout});
    }
    verifies_ = std::move(keep);
    close_verify_only_if_done();
    rearm_dialback(now_ms);
}

void OutboundStream::close_verify_only_if_done() {
    // XEP-0220 §2.1.2: a connection opened only for verification SHOULD be closed once the
    // result is in.
    if (state_ == State::VerifyOnly && verifies_.empty())
        finish(std::nullopt, "verifications done", std::nullopt, false);
}

// --- the end -----------------------------------------------------------------------------------

void OutboundStream::fail(std::optional<StreamError> error, std::string reason,
                          StanzaCondition bounce) {
    finish(std::move(error), std::move(reason), bounce_for(bounce), true);
}

std::optional<StanzaCondition> OutboundStream::bounce_for(StanzaCondition c) const {
    // Once ready the router sent its stanzas through the stream; a verify-only stream has none.
    if (ever_ready_ || opts_.verify_only) return std::nullopt;
    return c;
}

void OutboundStream::finish(std::optional<StreamError> error, std::string reason,
                            std::optional<StanzaCondition> bounce, bool failure) {
    if (can_write()) {
        if (error) write(to_wire(*error));
        write(stream_close());
    } else {
        error.reset();  // nothing was sent
    }
    const State was = state_;
    state_ = State::Closed;
    for (const auto& v : verifies_)
        actions_.emplace_back(DialbackVerifyAnswer{v.local, v.remote, v.id, false,
                                                   StanzaCondition::RemoteServerNotFound});
    verifies_.clear();
    for (auto k : kAllTimers)
        cancel(k);
    if (failure) {
        log::warn("s2s.out.failed",
                  {{"local", opts_.local_domain},
                   {"remote", opts_.remote_domain},
                   {"state", state_name(was)},
                   {"reason", reason},
                   {"bounce", bounce ? wire_name(*bounce) : std::string_view("none")}});
    } else {
        log::info("s2s.out.closed", {{"local", opts_.local_domain},
                                     {"remote", opts_.remote_domain},
                                     {"reason", reason},
                                     {"stanzas_out", counters_.stanzas_out}});
    }
    actions_.emplace_back(CloseStream{std::move(error), std::move(reason), bounce});
}

}  // namespace fedgw::proxy
