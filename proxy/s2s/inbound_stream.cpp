// InboundStream (see inbound_stream.hpp): the feed loop, the stream header (RFC 6120 §4.7,
// §4.8), the dispatch of first-level elements, closing (§4.4, §4.9.1), timers and the rate
// limit. Negotiation is in inbound_negotiation.cpp, dialback in inbound_dialback.cpp, stanzas
// in inbound_stanzas.cpp.
//
// Pure: sans-I/O.
#include "proxy/s2s/inbound_stream.hpp"

#include <algorithm>
#include <utility>

#include "common/base/xml_escape.hpp"
#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "proxy/s2s/inbound_wire.hpp"

namespace fedgw::proxy {
namespace {

constexpr std::uint64_t kMilli = 1000;  // the rate limit counts thousandths of an element

std::string seconds(std::uint64_t ms) {
    return std::to_string(ms / 1000) + " s";
}

// "1.0" -> {1, 0}; nullopt for anything else than digits '.' digits (RFC 6120 §4.7.5).
std::optional<std::pair<unsigned, unsigned>> parse_version(std::string_view v) {
    const auto dot = v.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return std::nullopt;
    auto number = [](std::string_view s) -> std::optional<unsigned> {
        if (s.size() > 6) return std::nullopt;
        unsigned n = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        return n;
    };
    auto major = number(v.substr(0, dot));
    auto minor = number(v.substr(dot + 1));
    if (!major || !minor) return std::nullopt;
    return std::pair{*major, *minor};
}

}  // namespace

std::string_view InboundStream::state_name(State s) {
    switch (s) {
        case State::WaitStreamHeader:
            return "wait-stream-header";
        case State::WaitNegotiation:
            return "wait-negotiation";
        case State::WaitTlsHandshake:
            return "wait-tls-handshake";
        case State::WaitSaslResponse:
            return "wait-sasl-response";
        case State::Established:
            return "established";
        case State::Closed:
            return "closed";
    }
    return "closed";
}

InboundStream::InboundStream(const StreamPolicy& policy, const DialbackKeys& keys,
                             StreamTimers timers, Limits limits, IdSource ids)
    : InboundStream(policy, keys, timers, limits, std::move(ids), Options{}) {}

InboundStream::InboundStream(const StreamPolicy& policy, const DialbackKeys& keys,
                             StreamTimers timers, Limits limits, IdSource ids, Options options)
    : policy_(policy),
      keys_(keys),
      timers_(timers),
      ids_(std::move(ids)),
      options_(std::move(options)),
      parser_(limits) {
    if (options_.direct_tls) {
        // XEP-0368: TLS from the first byte; the first stream is already "after TLS".
        tls_ = true;
        facts_ = options_.tls;
    }
    const std::uint64_t burst =
        options_.rate.burst ? options_.rate.burst : options_.rate.per_second;
    tokens_ = static_cast<std::int64_t>(burst * kMilli);
    arm(TimerKind::Establishment, timers_.establishment_ms);
    if (timers_.inactivity_ms > 0) arm(TimerKind::Inactivity, timers_.inactivity_ms);
}

InboundStream::~InboundStream() = default;

std::vector<StreamAction> InboundStream::take_actions() {
    return std::exchange(actions_, {});
}

bool InboundStream::is_authenticated(std::string_view local, std::string_view remote) const {
    return std::any_of(pairs_.begin(), pairs_.end(),
                       [&](const Pair& p) { return p.local == local && p.remote == remote; });
}

std::string_view InboundStream::partner_domain() const {
    if (peer_partner_) return peer_partner_->domain;
    if (!pairs_.empty()) return pairs_.front().partner;
    return {};
}

// --- input --------------------------------------------------------------------------------------

void InboundStream::tick(std::uint64_t now_ms) {
    if (!clock_started_) {
        clock_started_ = true;
        last_input_ = last_output_ = refilled_at_ = now_ms;
    }
    now_ = now_ms;
}

std::size_t InboundStream::feed(std::string_view bytes, std::uint64_t now_ms) {
    tick(now_ms);
    if (state_ == State::Closed) return bytes.size();
    if (state_ == State::WaitTlsHandshake) return 0;
    last_input_ = now_ms;
    std::size_t done = 0;
    while (true) {
        auto r = parser_.feed(bytes.substr(done));
        // Events parsed before a failure still count, in order (stream_parser.hpp).
        while (auto event = parser_.next_event()) {
            handle_event(*event);
            if (state_ == State::Closed) break;
        }
        if (state_ == State::Closed) break;
        if (!r) {
            fail(r.error());
            break;
        }
        done += r->consumed;
        const AfterStop next = std::exchange(after_stop_, AfterStop::Nothing);
        if (state_ == State::WaitTlsHandshake) {
            // RFC 6120 §5.4.3.3: what follows <starttls/> is the peer's TLS handshake.
            counters_.bytes_in += done;
            return done;
        }
        if (next == AfterStop::Restart) {
            parser_.reset();  // RFC 6120 §6.4.6: SASL success, a new stream follows
        } else if (next == AfterStop::Resume) {
            resume_stream();  // a SASL exchange that did not succeed: the stream goes on
        } else if (r->stopped) {
            fail(StreamError{StreamCondition::InternalServerError,
                             "XML stream stopped unexpectedly"});
            break;
        }
        if (done >= bytes.size() || state_ == State::Closed) break;
    }
    counters_.bytes_in += bytes.size();
    return bytes.size();
}

// The parser stopped after <auth/> or <response/> (so that a success could restart the stream
// on exactly the next byte) but the stream goes on: a fresh parser is primed with the peer's
// header again, rebuilt from its name and namespace declarations, and that header's event is
// dropped.
void InboundStream::resume_stream() {
    parser_.reset();
    std::string header = "<" + header_qname_;
    for (const auto& d : header_ns_) {
        header += d.prefix.empty() ? std::string(" xmlns='") : " xmlns:" + d.prefix + "='";
        append_escaped_attr(header, d.ns);
        header += '\'';
    }
    header += '>';
    auto r = parser_.feed(header);
    (void)parser_.take_events();
    if (!r) {
        fail(StreamError{StreamCondition::InternalServerError, "could not resume the XML stream"});
        return;
    }
    arm_stop_after();
}

void InboundStream::handle_event(XmlEvent& event) {
    if (auto* open = std::get_if<StreamOpen>(&event)) {
        on_stream_open(*open);
    } else if (auto* stanza = std::get_if<Stanza>(&event)) {
        on_element(std::move(stanza->element));
    } else {
        on_peer_close();
    }
}

// --- the stream header (RFC 6120 §4.7, §4.8) -------------------------------------------------

void InboundStream::on_stream_open(const StreamOpen& open) {
    const Element& h = open.header;
    // Every stream, first or restarted, gets a new id (RFC 6120 §4.7.3) and our new header.
    stream_id_ = ids_();
    header_sent_ = false;
    const auto to = inbound_wire::parse_domain(h.attr_or("to", ""));
    const auto from_attr = h.attr("from");
    const auto from = from_attr ? inbound_wire::parse_domain(*from_attr) : std::nullopt;
    // Our header if we must answer with an error (RFC 6120 §4.9.1.1): 'from' only when the
    // 'to' we got is one of ours.
    reply_from_ = to && policy_.is_local_domain(to->name) ? to->name : "";
    reply_to_ = from ? from->name : "";

    // RFC 6120 §4.8.1, §4.8.2: the stream namespace and the s2s content namespace.
    if (!h.is("stream", kNsStreams))
        return fail({StreamCondition::InvalidNamespace, "the stream element must be 'stream' in '" +
                                                            std::string(kNsStreams) + "', not '" +
                                                            h.name() + "' in '" + h.ns() + "'"});
    if (open.default_ns() != kNsServer)
        return fail(
            {StreamCondition::InvalidNamespace,
             "the default namespace of a server-to-server stream is 'jabber:server', not '" +
                 std::string(open.default_ns()) + "'"});
    // RFC 6120 §4.7.5: no version means a pre-1.0 peer; a higher one is answered with 1.0.
    const auto version = h.attr("version");
    const auto v = version ? parse_version(*version) : std::nullopt;
    if (!v || v->first < 1)
        return fail(
            {StreamCondition::UnsupportedVersion,
             version ? "stream version '" + std::string(*version) + "' is not supported (1.0 is)"
                     : "no 'version' attribute: only XMPP 1.0 streams (RFC 6120) are supported"});
    // RFC 6120 §4.7.2: the domain the peer wants to reach.
    if (!to || !policy_.is_local_domain(to->name)) {
        const std::string asked(h.attr_or("to", ""));
        log::warn("s2s.in.host_unknown", {{"domain", asked}, {"stream", stream_id_}});
        return fail({StreamCondition::HostUnknown, asked.empty()
                                                       ? "the stream header has no 'to'"
                                                       : "this server does not serve " + asked});
    }
    if (header_seen_ && to->name != local_)
        return fail({StreamCondition::HostUnknown,
                     "the stream 'to' changed from " + local_ + " to " + to->name + " on restart"});
    // RFC 6120 §4.7.1: 'from' is optional, but when present it must be a domain we admit.
    if (from_attr && !from)
        return fail({StreamCondition::InvalidFrom, "the stream 'from' is not a domain"});
    if (header_seen_ && !peer_.empty() && (!from || from->name != peer_))
        return fail({StreamCondition::InvalidFrom,
                     "the stream 'from' changed from " + peer_ + " on restart"});
    if (from) {
        auto admission = policy_.admit(from->name);
        if (!admission.admitted()) {
            const auto rule =
                registry::name(admission.refusal.value_or(registry::RefusalRule::Blocked));
            log_refused(from->name, rule, admission.detail);
            return fail({StreamCondition::PolicyViolation,
                         "federation with " + from->name +
                             " is refused by policy: " + std::string(rule) +
                             (admission.detail.empty() ? "" : " (" + admission.detail + ")")});
        }
        peer_ = from->name;
        peer_ascii_ = from->ascii;
        peer_partner_ = std::move(*admission.partner);
    }

    const bool restart = header_seen_;
    local_ = to->name;
    header_seen_ = true;
    header_qname_ = h.qualified_name();
    header_ns_ = open.namespaces;
    write_header();
    log::info("s2s.in.stream", {{"local", local_},
                                {"remote", peer_.empty() ? "-" : peer_},
                                {"stream", stream_id_},
                                {"tls", tls_},
                                {"restart", restart}});
    send_features();
}

void InboundStream::write_header() {
    if (stream_id_.empty()) stream_id_ = ids_();
    StreamHeader h;
    h.from = reply_from_;
    h.to = reply_to_;
    h.id = stream_id_;
    write(stream_header(h));
    header_sent_ = true;
}

// --- first-level elements -------------------------------------------------------------------

void InboundStream::on_element(std::unique_ptr<Element> e) {
    charge_token();
    switch (state_) {
        case State::WaitNegotiation:
        case State::Established:
            break;
        case State::WaitSaslResponse:
            // RFC 6120 §6.4.3, §6.4.4: only a response or an abort continues the exchange.
            if (e->is("response", kNsSasl)) return on_sasl_response(*e);
            if (e->is("abort", kNsSasl)) return on_sasl_abort();
            return fail({StreamCondition::PolicyViolation,
                         "<" + e->name() + "/> during the SASL exchange"});
        case State::WaitStreamHeader:
        case State::WaitTlsHandshake:
        case State::Closed:
            // The parser gives no element before a header or after a stop.
            return fail({StreamCondition::InternalServerError, "element outside a stream"});
    }
    if (e->ns() == kNsServer &&
        (e->name() == "message" || e->name() == "presence" || e->name() == "iq"))
        return on_stanza(std::move(e));
    if (e->is("result", kNsDialback)) return on_db_result(*e);
    if (e->is("verify", kNsDialback)) return on_db_verify(*e);
    if (e->is("starttls", kNsTls)) return on_starttls();
    if (e->is("auth", kNsSasl)) return on_auth(*e);
    if (e->is("response", kNsSasl))
        return sasl_failure("not-authorized", "<response/> without a SASL exchange in progress");
    if (e->is("abort", kNsSasl)) return on_sasl_abort();
    if (e->is("bidi", inbound_wire::kNsBidi)) return on_bidi(*e);
    if (e->is("error", kNsStreams)) return on_peer_stream_error(*e);
    // RFC 6120 §4.9.3.24.
    fail({StreamCondition::UnsupportedStanzaType,
          "unsupported first-level element '" + e->name() + "' in namespace '" + e->ns() + "'"});
}

// --- closing (RFC 6120 §4.4, §4.9.1) ----------------------------------------------------------

void InboundStream::on_peer_close() {
    write(stream_close());
    log::info("s2s.in.peer_closed",
              {{"remote", peer_.empty() ? "-" : peer_}, {"stream", stream_id_}});
    finish(std::nullopt, "stream closed by the peer");
}

void InboundStream::on_peer_stream_error(const Element& error) {
    std::string condition = "undefined-condition";
    for (const Element* c : error.child_elements())
        if (c->ns() == kNsStreamErrors && c->name() != "text") condition = c->name();
    const Element* text = error.find_child("text", kNsStreamErrors);
    log::warn("s2s.in.peer_error", {{"remote", peer_.empty() ? "-" : peer_},
                                    {"condition", condition},
                                    {"text", text ? text->text() : ""},
                                    {"stream", stream_id_}});
    // RFC 6120 §4.9.1.2: the stream is over; close our side.
    write(stream_close());
    finish(std::nullopt, "the peer sent a stream error: " + condition);
}

void InboundStream::fail(StreamError error) {
    if (state_ == State::Closed) return;
    // During the TLS handshake nothing can be written: plaintext would break it.
    if (state_ != State::WaitTlsHandshake) {
        // RFC 6120 §4.9.1.1: an error before our header still goes inside a stream.
        if (!header_sent_) write_header();
        write(to_wire(error));
        write(stream_close());
    }
    log::warn("s2s.in.stream_error", {{"condition", wire_name(error.condition)},
                                      {"text", error.text},
                                      {"local", local_.empty() ? "-" : local_},
                                      {"remote", peer_.empty() ? "-" : peer_},
                                      {"stream", stream_id_}});
    std::string reason = error.describe();
    finish(std::move(error), std::move(reason));
}

void InboundStream::finish(std::optional<StreamError> error, std::string reason) {
    state_ = State::Closed;
    pending_.clear();
    actions_.push_back(CloseStream{std::move(error), std::move(reason), std::nullopt});
}

void InboundStream::close(StreamError error) {
    if (state_ == State::Closed) return;
    log::info("s2s.in.close", {{"condition", wire_name(error.condition)},
                               {"text", error.text},
                               {"remote", peer_.empty() ? "-" : peer_},
                               {"stream", stream_id_}});
    fail(std::move(error));
}

void InboundStream::on_transport_closed() {
    if (state_ == State::Closed) return;
    log::info("s2s.in.transport_closed", {{"remote", peer_.empty() ? "-" : peer_},
                                          {"state", state_name(state_)},
                                          {"stream", stream_id_}});
    finish(std::nullopt, "connection closed");
}

void InboundStream::on_tls_failed(std::string_view reason) {
    if (state_ == State::Closed) return;
    log::warn("s2s.in.tls_failed", {{"remote", peer_.empty() ? "-" : peer_}, {"reason", reason}});
    finish(std::nullopt, "TLS handshake failed: " + std::string(reason));
}

// --- output -------------------------------------------------------------------------------------

void InboundStream::write(std::string_view bytes) {
    counters_.bytes_out += bytes.size();
    last_output_ = now_;
    if (!actions_.empty())
        if (auto* w = std::get_if<WriteBytes>(&actions_.back())) {
            w->bytes += bytes;
            return;
        }
    actions_.push_back(WriteBytes{std::string(bytes)});
}

void InboundStream::send_keepalive() {
    // Not before our header, and never into a TLS handshake (RFC 6120 §4.6.1).
    if (!header_sent_ || state_ == State::Closed || state_ == State::WaitTlsHandshake) return;
    write(" ");
}

void InboundStream::log_refused(std::string_view domain, std::string_view rule,
                                std::string_view detail) {
    log::warn("s2s.refused", {{"domain", domain},
                              {"rule", rule},
                              {"detail", detail},
                              {"direction", "in"},
                              {"stream", stream_id_}});
}

// --- time ---------------------------------------------------------------------------------------

void InboundStream::arm(TimerKind kind, std::uint64_t after_ms) {
    actions_.push_back(ArmTimer{kind, after_ms});
}

void InboundStream::on_timer(TimerKind kind, std::uint64_t now_ms) {
    tick(now_ms);
    if (state_ == State::Closed) return;
    switch (kind) {
        case TimerKind::Establishment:
            if (pairs_.empty())
                fail({StreamCondition::ConnectionTimeout,
                      "stream not authenticated within " + seconds(timers_.establishment_ms)});
            return;
        case TimerKind::Inactivity: {
            if (timers_.inactivity_ms == 0) return;
            const std::uint64_t idle = now_ms - last_input_;
            if (idle >= timers_.inactivity_ms)
                fail({StreamCondition::ConnectionTimeout,
                      "nothing received for " + seconds(timers_.inactivity_ms)});
            else
                arm(TimerKind::Inactivity, timers_.inactivity_ms - idle);
            return;
        }
        case TimerKind::Keepalive: {
            if (!keepalive_) return;
            const std::uint64_t idle = now_ms - last_output_;
            if (idle >= timers_.keepalive_ms) {
                send_keepalive();
                arm(TimerKind::Keepalive, timers_.keepalive_ms);
            } else {
                arm(TimerKind::Keepalive, timers_.keepalive_ms - idle);
            }
            return;
        }
        case TimerKind::Throttle:
            if (!throttled_) return;
            refill();
            if (tokens_ < 0) {  // more arrived after the pause was asked: wait for it too
                arm(TimerKind::Throttle,
                    static_cast<std::uint64_t>(-tokens_ / options_.rate.per_second + 1));
                return;
            }
            throttled_ = false;
            actions_.push_back(PauseReading{false});
            return;
        case TimerKind::Dialback:
            expire_dialback(now_ms);
            return;
    }
}

void InboundStream::refill() {
    const std::uint64_t rate = options_.rate.per_second;
    const auto cap =
        static_cast<std::int64_t>((options_.rate.burst ? options_.rate.burst : rate) * kMilli);
    const std::uint64_t elapsed = now_ - refilled_at_;
    refilled_at_ = now_;
    // rate thousandths per millisecond; an elapsed time that would overflow fills it anyway.
    const auto room = static_cast<std::uint64_t>(cap - tokens_);
    tokens_ =
        elapsed >= room / rate + 1 ? cap : tokens_ + static_cast<std::int64_t>(elapsed * rate);
}

void InboundStream::charge_token() {
    const std::uint64_t rate = options_.rate.per_second;
    if (rate == 0) return;
    refill();
    tokens_ -= static_cast<std::int64_t>(kMilli);
    if (tokens_ >= 0 || throttled_) return;
    // Over the rate: this element is processed all the same; reading stops until the debt
    // is repaid (rate thousandths come back every millisecond).
    throttled_ = true;
    log::info("s2s.in.throttled",
              {{"remote", partner_domain()},
               {"rate_per_s", rate},
               {"resume_in_ms", -tokens_ / static_cast<std::int64_t>(rate) + 1}});
    actions_.push_back(PauseReading{true});
    arm(TimerKind::Throttle,
        static_cast<std::uint64_t>(-tokens_ / static_cast<std::int64_t>(rate) + 1));
}

}  // namespace fedgw::proxy
