// OutboundStream, part 2: what the peer (the receiving entity) sends, state by state.
// RFC 6120 §4.3.2 (features), §4.7 (response header), §4.9 (stream errors), §5.4.2 (STARTTLS
// from the initiating side), §6.4 (SASL), XEP-0178 §3 (EXTERNAL between servers), XEP-0220
// §2.1.1 (db:result and its answer), §2.1.2 (db:verify answers), §2.4 (advertisement), §3.1
// (unsolicited answers), XEP-0478 (stream limits).
//
// Pure: no I/O (see outbound_stream.hpp).
#include <charconv>
#include <utility>

#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "proxy/s2s/outbound_stream.hpp"

namespace fedgw::proxy {
namespace {

constexpr std::string_view kNsStreamLimits = "urn:xmpp:stream-limits:0";  // XEP-0478

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                           static_cast<unsigned char>(in[i + 1]) << 8 |
                           static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
        out += kAlphabet[v & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += i + 1 < in.size() ? kAlphabet[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::string_view trim(std::string_view s) {
    const auto ws = " \t\r\n";
    const auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
    s = trim(s);
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// RFC 6120 §4.7.5: "major.minor"; we speak 1.x.
bool is_version_1_or_later(std::string_view v) {
    const auto dot = v.find('.');
    if (dot == std::string_view::npos) return false;
    auto major = parse_unsigned(v.substr(0, dot));
    auto minor = parse_unsigned(v.substr(dot + 1));
    return major && minor && *major >= 1;
}

// The first child element that is not <text/>: the defined condition of a stream error, SASL
// failure or the <error/> of a dialback error.
std::string condition_of(const Element& e) {
    for (const auto* c : e.child_elements())
        if (c->name() != "text") return c->name();
    return "undefined-condition";
}

std::string text_of(const Element& e) {
    for (const auto* c : e.child_elements())
        if (c->name() == "text") return c->text();
    return {};
}

std::string describe_element(const Element& e) {
    return "<" + e.qualified_name() + " xmlns='" + e.ns() + "'/>";
}

}  // namespace

void OutboundStream::process_events(std::uint64_t now_ms) {
    while (state_ != State::Closed) {
        auto ev = parser_.next_event();
        if (!ev) return;
        if (const auto* open = std::get_if<StreamOpen>(&*ev)) {
            on_header(*open, now_ms);
        } else if (const auto* st = std::get_if<Stanza>(&*ev)) {
            ++counters_.elements_in;
            if (st->element) on_element(*st->element, now_ms);
        } else {
            on_peer_close();
        }
    }
    (void)parser_.take_events();  // whatever followed the end of the stream
}

void OutboundStream::on_header(const StreamOpen& open, std::uint64_t now_ms) {
    (void)now_ms;
    const Element& h = open.header;
    const auto fail_header = [&](StreamCondition c, std::string text) {
        std::string reason = "bad response stream header from " + opts_.remote_domain + ": " + text;
        fail(StreamError{c, std::move(text)}, std::move(reason),
             StanzaCondition::RemoteServerNotFound);
    };
    if (state_ != State::WaitStreamHeader) {  // the parser reports one header per stream
        fail_header(StreamCondition::BadFormat, "unexpected stream header");
        return;
    }
    // RFC 6120 §4.8.1, §4.8.2: stream namespace and content namespace.
    if (h.name() != "stream" || h.ns() != kNsStreams) {
        fail_header(StreamCondition::InvalidNamespace,
                    "stream header is <" + h.name() + "> in '" + h.ns() + "'");
        return;
    }
    if (open.default_ns() != kNsServer) {
        fail_header(
            StreamCondition::InvalidNamespace,
            "default namespace is '" + std::string(open.default_ns()) + "', not 'jabber:server'");
        return;
    }
    // RFC 6120 §4.7.5: without version 1.0 there are no stream features, hence no TLS.
    const auto version = h.attr("version");
    if (!version || !is_version_1_or_later(*version)) {
        fail_header(StreamCondition::UnsupportedVersion,
                    version ? "version '" + std::string(*version) + "' is not 1.0"
                            : "no version: XMPP 1.0 is required");
        return;
    }
    // RFC 6120 §4.7.3: the receiving entity MUST send an id; the dialback key depends on it.
    const auto id = h.attr("id");
    if (!id || id->empty()) {
        fail_header(StreamCondition::BadFormat, "response stream header without an id");
        return;
    }
    stream_id_ = std::string(*id);
    // RFC 6120 §5.4.3.3, §6.4.6: what the peer said on the previous stream does not carry over.
    peer_db_namespace_ = open.prefix_ns("db") == kNsDialback;
    peer_db_feature_ = false;
    peer_max_bytes_.reset();
    peer_idle_ms_.reset();
    // RFC 6120 §4.7.1 asks the receiving entity to answer from the domain we asked for. A
    // different 'from' proves nothing either way (identity comes from the certificate or
    // dialback), so it is only logged.
    if (const auto from = h.attr("from"); from && *from != opts_.remote_domain)
        log::info(
            "s2s.out.header_from",
            {{"local", opts_.local_domain}, {"remote", opts_.remote_domain}, {"from", *from}});
    state_ = State::WaitFeatures;
}

void OutboundStream::on_element(const Element& e, std::uint64_t now_ms) {
    if (e.is("error", kNsStreams)) {
        on_stream_error(e);
        return;
    }
    std::string expected;
    switch (state_) {
        case State::WaitFeatures:
            if (e.is("features", kNsStreams)) return on_features(e, now_ms);
            expected = "<stream:features/>";
            break;
        case State::WaitTlsProceed:
            if (e.is("proceed", kNsTls) || e.is("failure", kNsTls)) return on_tls_answer(e);
            expected = "<proceed/> or <failure/> (urn:ietf:params:xml:ns:xmpp-tls)";
            break;
        case State::WaitSaslResult:
            if (e.is("success", kNsSasl) || e.is("failure", kNsSasl))
                return on_sasl_answer(e, now_ms);
            expected = "<success/> or <failure/> (urn:ietf:params:xml:ns:xmpp-sasl)";
            break;
        case State::WaitDialbackResult:
        case State::Ready:
        case State::VerifyOnly:
            if (e.is("result", kNsDialback) && e.has_attr("type"))
                return on_dialback_result(e, now_ms);
            if (e.is("verify", kNsDialback) && e.has_attr("type"))
                return on_dialback_verify(e, now_ms);
            // Stanzas or dialback requests from the receiving entity would need a
            // bidirectional stream (XEP-0288), which we never ask for.
            expected = "dialback answers only (no XEP-0288 bidi on this stream)";
            break;
        default:
            expected = "nothing";
            break;
    }
    std::string text = "unexpected " + describe_element(e) + " in state " +
                       std::string(state_name(state_)) + "; expected " + expected;
    std::string reason = opts_.remote_domain + " sent " + text;
    fail(StreamError{StreamCondition::UnsupportedStanzaType, std::move(text)}, std::move(reason),
         StanzaCondition::RemoteServerNotFound);
}

void OutboundStream::on_features(const Element& features, std::uint64_t now_ms) {
    read_limits(features);
    // RFC 6120 §6.4.6: after SASL success and the stream restart, these features end the
    // negotiation.
    if (sasl_succeeded_) return become_ready(AuthMethod::SaslExternal, now_ms);

    if (!tls_) {
        const Element* starttls = features.find_child("starttls", kNsTls);
        const bool peer_requires = starttls && starttls->find_child("required", kNsTls);
        if (starttls && opts_.partner.offers_tls()) {
            // RFC 6120 §5.4.2.1; bytes after <proceed/> belong to TLS (§5.4.3.3).
            write_element(Element("starttls", std::string(kNsTls)));
            parser_.stop_after({{"proceed", std::string(kNsTls)}});
            state_ = State::WaitTlsProceed;
            return;
        }
        if (opts_.partner.requires_tls()) {
            fail(StreamError{StreamCondition::PolicyViolation,
                             "TLS is required by policy for " + opts_.remote_domain},
                 "TLS required by policy, not offered", StanzaCondition::RemoteServerNotFound);
            return;
        }
        if (peer_requires) {
            fail(StreamError{StreamCondition::PolicyViolation,
                             "TLS is not supported by policy for " + opts_.remote_domain},
                 "TLS required by peer, not supported by policy",
                 StanzaCondition::RemoteServerNotFound);
            return;
        }
    }
    choose_authentication(features, now_ms);
}

void OutboundStream::choose_authentication(const Element& features, std::uint64_t now_ms) {
    if (opts_.verify_only) return enter_verify_only(now_ms);

    bool external = false;
    if (const auto* m = features.find_child("mechanisms", kNsSasl))
        for (const auto* mech : m->children("mechanism", kNsSasl))
            if (trim(mech->text()) == "EXTERNAL") external = true;
    peer_db_feature_ = features.find_child("dialback", kNsDialbackFeature) != nullptr;
    const bool peer_dialback = peer_db_feature_ || peer_db_namespace_;
    const auto& p = opts_.partner;

    if (tls_ && external && p.allows_sasl() && opts_.have_certificate && !sasl_failed_) {
        // XEP-0178 §3: EXTERNAL with our domain as authorization identity; the peer checks our
        // certificate. After <success/> the stream restarts (RFC 6120 §6.4.6).
        Element auth("auth", std::string(kNsSasl));
        auth.set_attr("mechanism", "EXTERNAL");
        auth.add_text(base64(opts_.local_domain));
        write_element(auth);
        parser_.stop_after({{"success", std::string(kNsSasl)}});
        state_ = State::WaitSaslResult;
        return;
    }
    if (p.allows_dialback() && peer_dialback) return start_dialback(now_ms);

    std::string why = "SASL EXTERNAL ";
    if (!tls_)
        why += "needs TLS";
    else if (!external)
        why += "not offered";
    else if (!p.allows_sasl())
        why += "not allowed by policy";
    else if (!opts_.have_certificate)
        why += "needs a certificate for " + opts_.local_domain;
    else
        why += "refused";
    why += "; dialback ";
    why += !p.allows_dialback() ? "not allowed by policy" : "not offered by the peer";
    fail(StreamError{StreamCondition::PolicyViolation,
                     "no authentication method in common for " + opts_.remote_domain},
         "no authentication method in common: " + why, StanzaCondition::RemoteServerNotFound);
}

void OutboundStream::on_tls_answer(const Element& e) {
    if (e.name() == "proceed") {
        // The parser stopped right after <proceed/>; feed() returns there and the owner hands
        // the rest to the TLS client (RFC 6120 §5.4.3.3).
        state_ = State::WaitTlsHandshake;
        actions_.emplace_back(StartTls{opts_.remote_domain});
        return;
    }
    // RFC 6120 §5.4.2.2: <failure/>, and the receiving entity closes the stream.
    parser_.clear_stop_after();
    fail(std::nullopt, opts_.remote_domain + " answered STARTTLS with <failure/>",
         StanzaCondition::RemoteServerNotFound);
}

void OutboundStream::on_sasl_answer(const Element& e, std::uint64_t now_ms) {
    if (e.name() == "success") {
        // RFC 6120 §6.4.6: the initiating entity opens a new stream at once; the parser stopped
        // after <success/>, so what follows is parsed as the new stream.
        sasl_succeeded_ = true;
        parser_.reset();
        restarted_ = true;
        write_header();
        state_ = State::WaitStreamHeader;
        return;
    }
    parser_.clear_stop_after();
    sasl_failed_ = true;
    const std::string condition = condition_of(e);
    const std::string text = text_of(e);
    log::info("s2s.out.sasl_failed", {{"local", opts_.local_domain},
                                      {"remote", opts_.remote_domain},
                                      {"condition", condition},
                                      {"text", text}});
    if (opts_.partner.allows_dialback() && (peer_db_feature_ || peer_db_namespace_))
        return start_dialback(now_ms);
    fail(std::nullopt,
         opts_.remote_domain + " refused SASL EXTERNAL (" + condition +
             (text.empty() ? "" : ": " + text) + ") and dialback is not possible",
         StanzaCondition::RemoteServerNotFound);
}

void OutboundStream::start_dialback(std::uint64_t now_ms) {
    // XEP-0220 §2.1.1, Example 1; the key as XEP-0185 describes, over the id of the response
    // stream header of this (possibly post-TLS) stream.
    Element result("result", std::string(kNsDialback), "db");
    result.set_attr("from", opts_.local_domain).set_attr("to", opts_.remote_domain);
    result.add_text(keys_.generate(opts_.remote_domain, opts_.local_domain, stream_id_));
    write_element(result);
    state_ = State::WaitDialbackResult;
    dialback_deadline_ms_ = now_ms + timers_.dialback_ms;
    flush_verifies();  // XEP-0220 §2.1.1: verification requests may share the stream
    rearm_dialback(now_ms);
}

void OutboundStream::on_dialback_result(const Element& e, std::uint64_t now_ms) {
    const auto from = e.attr_or("from", "");
    const auto to = e.attr_or("to", "");
    const auto type = e.attr_or("type", "");
    // XEP-0220 §2.1.1 and §3.1: an answer must correlate with the request we sent on this
    // stream; anything else is not acted upon.
    if (state_ != State::WaitDialbackResult || from != opts_.remote_domain ||
        to != opts_.local_domain) {
        log::warn("s2s.out.unsolicited_dialback", {{"local", opts_.local_domain},
                                                   {"remote", opts_.remote_domain},
                                                   {"element", "db:result"},
                                                   {"from", from},
                                                   {"to", to},
                                                   {"type", type},
                                                   {"state", state_name(state_)}});
        return;
    }
    // COMPAT: Prosody answers with the key as text and an 'id' attribute; both are ignored.
    if (type == "valid") return become_ready(AuthMethod::Dialback, now_ms);
    if (type == "invalid") {
        // XEP-0220 §2.1.1: queued stanzas go back with internal-server-error; the receiving
        // server closes the stream (§2.2.1).
        fail(std::nullopt, opts_.remote_domain + " rejected our dialback key (type='invalid')",
             StanzaCondition::InternalServerError);
        return;
    }
    // XEP-0220 §2.5: a dialback error; queued stanzas go back with remote-server-timeout.
    std::string condition = "undefined-condition";
    for (const auto* c : e.child_elements())
        if (c->name() == "error") condition = condition_of(*c);
    fail(std::nullopt,
         "dialback error from " + opts_.remote_domain + ": " + condition +
             (type == "error" ? "" : " (type '" + std::string(type) + "')"),
         StanzaCondition::RemoteServerTimeout);
}

void OutboundStream::on_dialback_verify(const Element& e, std::uint64_t now_ms) {
    const auto from = e.attr_or("from", "");
    const auto to = e.attr_or("to", "");
    const auto id = e.attr_or("id", "");
    const auto type = e.attr_or("type", "");
    // XEP-0220 §2.1.2: the answer swaps from and to and copies the id of our request.
    auto it = verifies_.begin();
    for (; it != verifies_.end(); ++it)
        if (it->written && it->remote == from && it->local == to && it->id == id) break;
    if (it == verifies_.end()) {
        // "If no inbound connection is found ... SHOULD be dropped silently" (we log it).
        log::warn("s2s.out.unsolicited_dialback", {{"local", opts_.local_domain},
                                                   {"remote", opts_.remote_domain},
                                                   {"element", "db:verify"},
                                                   {"from", from},
                                                   {"to", to},
                                                   {"id", id},
                                                   {"type", type}});
        return;
    }
    const bool valid = type == "valid";
    std::optional<StanzaCondition> unverifiable;
    if (type == "error") {
        std::string condition = "undefined-condition";
        for (const auto* c : e.child_elements())
            if (c->name() == "error") condition = condition_of(*c);
        log::warn("s2s.out.verify_error", {{"local", it->local},
                                           {"remote", it->remote},
                                           {"id", it->id},
                                           {"condition", condition}});
        unverifiable = stanza_condition_from_name(condition).value_or(
            StanzaCondition::RemoteServerNotFound);
    } else {
        log::info("s2s.out.verify_answer",
                  {{"local", it->local}, {"remote", it->remote}, {"id", it->id}, {"type", type}});
    }
    actions_.emplace_back(
        DialbackVerifyAnswer{it->local, it->remote, it->id, valid, unverifiable});
    verifies_.erase(it);
    close_verify_only_if_done();
    rearm_dialback(now_ms);
}

void OutboundStream::on_stream_error(const Element& e) {
    const std::string condition = condition_of(e);
    const std::string text = text_of(e);
    log::warn("s2s.out.stream_error", {{"local", opts_.local_domain},
                                       {"remote", opts_.remote_domain},
                                       {"condition", condition},
                                       {"text", text}});
    // RFC 6120 §4.9.1: a stream error ends the stream; we answer with our close tag.
    const StanzaCondition bounce = state_ == State::WaitDialbackResult
                                       ? StanzaCondition::RemoteServerTimeout
                                       : StanzaCondition::RemoteServerNotFound;
    finish(
        std::nullopt,
        opts_.remote_domain + " sent stream error " + condition + (text.empty() ? "" : ": " + text),
        bounce_for(bounce), !ever_ready_);
}

void OutboundStream::on_peer_close() {
    // RFC 6120 §4.4: answer </stream:stream> with ours. XEP-0220 §2.1.1: a close while waiting
    // for the dialback result is treated as a dialback error.
    const StanzaCondition bounce = state_ == State::WaitDialbackResult
                                       ? StanzaCondition::RemoteServerTimeout
                                       : StanzaCondition::RemoteServerNotFound;
    const bool failure = !ever_ready_ && state_ != State::VerifyOnly;
    finish(std::nullopt,
           opts_.remote_domain + " closed the stream in state " + std::string(state_name(state_)),
           bounce_for(bounce), failure);
}

void OutboundStream::become_ready(AuthMethod method, std::uint64_t now_ms) {
    auth_ = method;
    ever_ready_ = true;
    state_ = State::Ready;
    cancel(TimerKind::Establishment);
    log::info("s2s.out.authenticated", {{"local", opts_.local_domain},
                                        {"remote", opts_.remote_domain},
                                        {"method", link::auth_method_name(method)},
                                        {"tls", tls_ ? tls_->protocol : std::string("none")}});
    actions_.emplace_back(DomainAuthenticated{opts_.local_domain, opts_.remote_domain, method});
    actions_.emplace_back(StreamReady{});
    flush_verifies();
    rearm_dialback(now_ms);
    if (auto every = keepalive_interval()) arm(TimerKind::Keepalive, every);
}

void OutboundStream::enter_verify_only(std::uint64_t now_ms) {
    state_ = State::VerifyOnly;
    cancel(TimerKind::Establishment);
    log::debug("s2s.out.verify_stream", {{"local", opts_.local_domain},
                                         {"remote", opts_.remote_domain},
                                         {"pending", verifies_.size()}});
    flush_verifies();
    rearm_dialback(now_ms);
    if (auto every = keepalive_interval()) arm(TimerKind::Keepalive, every);
}

void OutboundStream::read_limits(const Element& features) {
    const auto* limits = features.find_child("limits", kNsStreamLimits);
    if (!limits) return;
    if (auto t = limits->child_text("max-bytes"))
        if (auto v = parse_unsigned(*t); v && *v > 0)
            peer_max_bytes_ = static_cast<std::size_t>(*v);
    if (auto t = limits->child_text("idle-seconds"))
        if (auto v = parse_unsigned(*t); v && *v > 0 && *v < (1ull << 40))
            peer_idle_ms_ = *v * 1000;
}

bool OutboundStream::peer_certificate_verifies() const {
    return tls_ && tls_->chain_verified && tls_->covers && tls_->covers(opts_.remote_domain);
}

std::string OutboundStream::peer_certificate_problem() const {
    std::string s = "certificate for " + opts_.remote_domain + " does not verify: ";
    if (!tls_) return s + "no TLS";
    if (!tls_->chain_verified)
        return s + (tls_->verify_error.empty() ? "chain not verified" : tls_->verify_error);
    return s + "name not covered";
}

}  // namespace fedgw::proxy
