// InboundStream, stream negotiation as the receiving entity: the features we offer (RFC 6120
// §4.3.2, XEP-0220 §2.4.2, XEP-0288 §2.1, XEP-0478), STARTTLS (RFC 6120 §5.4.2, §5.4.3.3),
// SASL EXTERNAL (RFC 6120 §6.4, §6.5; XEP-0178 §3) and the request for bidirectionality
// (XEP-0288 §2.2).
//
// Pure: sans-I/O.
#include <cstdint>
#include <string>

#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "proxy/s2s/inbound_stream.hpp"
#include "proxy/s2s/inbound_wire.hpp"

namespace fedgw::proxy {

namespace wire = inbound_wire;

// The partner whose terms this stream negotiates: the admitted 'from', or the terms of a
// discovered partner while the peer has not said who it is (DESIGN.md: TLS required).
registry::Partner InboundStream::stream_partner() const {
    return peer_partner_ ? *peer_partner_ : registry::discovered_partner(peer_);
}

bool InboundStream::tls_required() const {
    return stream_partner().requires_tls();
}

// Why SASL EXTERNAL cannot be offered to peer_ on this TLS stream (XEP-0178 §3: the chain must
// verify and the certificate must cover the 'from' domain); nullopt when it can.
std::optional<std::string> InboundStream::certificate_problem() const {
    if (peer_.empty()) return "the stream header has no 'from'";
    if (!facts_) return "no TLS handshake facts";
    if (!facts_->chain_verified)
        return facts_->verify_error.empty() ? "the certificate chain did not verify"
                                            : facts_->verify_error;
    if (!facts_->covers || !facts_->covers(peer_ascii_)) return "name not covered";
    return std::nullopt;
}

void InboundStream::send_features() {
    Element features("features", std::string(kNsStreams), "stream");
    starttls_offered_ = false;
    sasl_offered_ = false;
    const registry::Partner partner = stream_partner();
    const std::string who = peer_.empty() ? "an unnamed peer" : peer_;

    auto add_dialback = [&] {
        // XEP-0220 §2.4.2: we handle dialback errors.
        features.add_child("dialback", std::string(kNsDialbackFeature)).add_child("errors");
    };
    auto add_limits = [&] {
        // XEP-0478: what we enforce, we advertise.
        auto& limits = features.add_child("limits", std::string(wire::kNsStreamLimits));
        limits.add_child("max-bytes").add_text(std::to_string(parser_.limits().max_stanza_bytes));
        if (timers_.inactivity_ms > 0)
            limits.add_child("idle-seconds").add_text(std::to_string(timers_.inactivity_ms / 1000));
    };

    if (sasl_done_) {
        // RFC 6120 §6.4.6: the stream after SASL success; the pair is authenticated already.
        add_limits();
    } else if (!tls_) {
        // Before TLS: TLS first when the policy requires it, or when nothing else could
        // authenticate the peer (RFC 6120 §5.3.1 mandatory-to-negotiate).
        const bool dialback = partner.allows_dialback() && !partner.requires_tls();
        if (partner.offers_tls()) {
            auto& starttls = features.add_child("starttls", std::string(kNsTls));
            if (!dialback) starttls.add_child("required");
            starttls_offered_ = true;
        }
        if (dialback) add_dialback();
        if (!starttls_offered_ && !dialback) {
            log::warn("s2s.in.no_auth_method", {{"domain", who}, {"stream", stream_id_}});
            return fail({StreamCondition::NotAuthorized,
                         "no way to authenticate " + who +
                             ": TLS is not supported and dialback is off by policy"});
        }
    } else {
        const auto problem = certificate_problem();
        sasl_offered_ = partner.allows_sasl() && !problem;
        const bool dialback = partner.allows_dialback();
        if (!sasl_offered_ && !dialback) {
            const std::string why = problem ? *problem : "SASL is not allowed by policy";
            log::warn("s2s.in.cert_refused",
                      {{"domain", who}, {"reason", why}, {"stream", stream_id_}});
            return fail({StreamCondition::NotAuthorized,
                         "certificate for " + who + " does not verify: " + why});
        }
        if (sasl_offered_)
            features.add_child("mechanisms", std::string(kNsSasl))
                .add_child("mechanism")
                .add_text("EXTERNAL");
        if (dialback) add_dialback();
        features.add_child("bidi", std::string(wire::kNsBidiFeature));
        add_limits();
    }
    write(serialize(features, stream_scope(kNsServer)));
    arm_stop_after();
    state_ = pairs_.empty() ? State::WaitNegotiation : State::Established;
}

// Elements after which the next byte may belong to something else than this XML stream:
// TLS after <starttls/>, a new stream after a successful <auth/> or <response/>.
void InboundStream::arm_stop_after() {
    std::vector<ElementName> names;
    if (starttls_offered_) names.push_back({"starttls", std::string(kNsTls)});
    if (sasl_offered_ && !sasl_done_) {
        names.push_back({"auth", std::string(kNsSasl)});
        names.push_back({"response", std::string(kNsSasl)});
    }
    parser_.stop_after(std::move(names));
}

void InboundStream::continue_stream() {
    if (parser_.is_stopped()) after_stop_ = AfterStop::Resume;
}

// --- STARTTLS (RFC 6120 §5.4.2) ---------------------------------------------------------------

void InboundStream::on_starttls() {
    std::string refusal;
    if (tls_)
        refusal = "TLS is already in place";
    else if (!starttls_offered_)
        refusal = "TLS is not supported by policy for " + (peer_.empty() ? "this peer" : peer_);
    else if (!pairs_.empty())
        refusal = "STARTTLS after authentication";
    if (!refusal.empty()) {
        // RFC 6120 §5.4.2.2: <failure/>, then the stream and the connection close.
        write(wire::tls_failure());
        write(stream_close());
        log::warn(
            "s2s.in.starttls_refused",
            {{"remote", peer_.empty() ? "-" : peer_}, {"reason", refusal}, {"stream", stream_id_}});
        return finish(std::nullopt, "STARTTLS refused: " + refusal);
    }
    write(wire::tls_proceed());
    // RFC 6120 §5.4.3.3: nothing learnt before TLS survives it.
    pending_.clear();
    rearm_dialback_timer();
    state_ = State::WaitTlsHandshake;
    actions_.push_back(StartTls{peer_});
}

void InboundStream::on_tls_established(const TlsFacts& facts, std::uint64_t now_ms) {
    tick(now_ms);
    if (state_ == State::Closed) return;
    const bool direct = options_.direct_tls && !header_seen_ && state_ == State::WaitStreamHeader;
    if (!direct && state_ != State::WaitTlsHandshake) {
        log::warn("s2s.in.unexpected_tls", {{"state", state_name(state_)}, {"stream", stream_id_}});
        return;
    }
    last_input_ = now_ms;
    facts_ = facts;
    tls_ = true;
    log::info("s2s.in.tls", {{"remote", peer_.empty() ? "-" : peer_},
                             {"protocol", facts.protocol},
                             {"cipher", facts.cipher},
                             {"verified", facts.chain_verified},
                             {"verify_error", facts.verify_error},
                             {"stream", stream_id_}});
    if (direct) return;
    // RFC 6120 §5.4.3.3: the initiating entity opens a new stream over TLS.
    parser_.reset();
    header_sent_ = false;
    starttls_offered_ = false;
    state_ = State::WaitStreamHeader;
}

// --- SASL EXTERNAL (RFC 6120 §6.4, XEP-0178 §3) ---------------------------------------------

void InboundStream::on_auth(const Element& auth) {
    if (!sasl_offered_ || sasl_done_) {
        if (!tls_) return sasl_failure("encryption-required", "SASL EXTERNAL needs TLS first");
        if (sasl_done_) return sasl_failure("not-authorized", "SASL already succeeded");
        const auto problem = certificate_problem();
        return sasl_failure("not-authorized",
                            problem
                                ? "certificate for " + (peer_.empty() ? "an unnamed peer" : peer_) +
                                      " does not verify: " + *problem
                                : "SASL is not allowed by policy for " + peer_);
    }
    if (auth.attr_or("mechanism", "") != "EXTERNAL")
        return sasl_failure("invalid-mechanism", "only EXTERNAL is offered");
    const std::string text = auth.text();
    const std::string_view data = wire::trim(text);
    if (data.empty()) {
        // RFC 6120 §6.4.2: no initial response; an empty challenge asks for it.
        write(wire::sasl_empty_challenge());
        state_ = State::WaitSaslResponse;
        return continue_stream();
    }
    sasl_external(data, true);
}

void InboundStream::on_sasl_response(const Element& response) {
    const std::string text = response.text();
    sasl_external(wire::trim(text), false);
}

void InboundStream::on_sasl_abort() {
    // RFC 6120 §6.4.4.
    sasl_failure("aborted", "");
}

void InboundStream::sasl_external(std::string_view data, bool initial) {
    // RFC 6120 §6.4.2: "=" is an initial response with no data; a <response/> has none when
    // empty. No authorization identity means the one the certificate proves: the 'from'.
    std::string authzid;
    if (!(initial && data == "=") && !data.empty()) {
        auto decoded = wire::base64_decode(wire::strip_space(data));
        if (!decoded) return sasl_failure("incorrect-encoding", "the response is not base64");
        authzid = std::move(*decoded);
    }
    if (!authzid.empty()) {
        const auto domain = wire::parse_domain(authzid);
        if (!domain || domain->name != peer_)
            return sasl_failure("invalid-authzid",
                                "the authorization identity is not the stream's 'from' " + peer_);
    }
    write(wire::sasl_success());
    sasl_done_ = true;
    sasl_offered_ = false;
    authenticate(local_, peer_, AuthMethod::SaslExternal, *peer_partner_);
    // RFC 6120 §6.4.6: the stream restarts on the next byte; nothing of it survives.
    pending_.clear();
    rearm_dialback_timer();
    header_sent_ = false;
    state_ = State::WaitStreamHeader;
    after_stop_ = AfterStop::Restart;
}

void InboundStream::sasl_failure(std::string_view condition, std::string text) {
    // RFC 6120 §6.4.5.
    write(wire::sasl_failure(condition, text));
    log::warn("s2s.in.sasl_failed", {{"domain", peer_.empty() ? "-" : peer_},
                                     {"condition", condition},
                                     {"reason", text},
                                     {"stream", stream_id_}});
    if (state_ == State::WaitSaslResponse)
        state_ = pairs_.empty() ? State::WaitNegotiation : State::Established;
    continue_stream();
    count_auth_failure();
}

// --- XEP-0288 ---------------------------------------------------------------------------------

void InboundStream::on_bidi(const Element& bidi) {
    // XEP-0288 §2.1: offered after TLS only.
    if (!tls_)
        return fail({StreamCondition::UnsupportedStanzaType,
                     "bidirectional streams are offered after TLS only"});
    bidi_ = true;
    // XEP-0478 §2.2: the initiating entity's limits travel inside <bidi/>.
    if (const Element* limits = bidi.find_child("limits", wire::kNsStreamLimits)) {
        const auto text = limits->child_text("max-bytes");
        const std::string_view digits = text ? wire::trim(*text) : std::string_view{};
        if (!digits.empty() && digits.size() <= 12 &&
            digits.find_first_not_of("0123456789") == std::string_view::npos)
            peer_max_bytes_ = std::stoull(std::string(digits));
    }
    log::info("s2s.in.bidi", {{"remote", peer_.empty() ? "-" : peer_},
                              {"max_bytes", peer_max_bytes_.value_or(0)},
                              {"stream", stream_id_}});
}

}  // namespace fedgw::proxy
