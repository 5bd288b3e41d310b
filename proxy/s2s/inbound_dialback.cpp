// InboundStream, Server Dialback (XEP-0220): db:result as the Receiving Server (§2.2.1: ask the
// owner to verify the key, answer valid / invalid / error), db:verify as the Authoritative
// Server (§2.2.2: check a key we issued), dialback errors (§2.5), several domain pairs on one
// stream (§2.6), and the authentication of a domain pair.
//
// Pure: sans-I/O (DialbackKeys does HMAC, nothing else).
#include <algorithm>
#include <string>

#include "common/log/log.hpp"
#include "proxy/s2s/inbound_stream.hpp"
#include "proxy/s2s/inbound_wire.hpp"

namespace fedgw::proxy {

namespace wire = inbound_wire;

void InboundStream::authenticate(const std::string& local, const std::string& remote,
                                 AuthMethod method, const registry::Partner& partner) {
    pairs_.push_back(Pair{local, remote, method, partner.domain, partner.type});
    actions_.push_back(DomainAuthenticated{local, remote, method});
    log::info("s2s.in.authenticated", {{"local", local},
                                       {"remote", remote},
                                       {"method", link::auth_method_name(method)},
                                       {"partner", partner.domain},
                                       {"stream", stream_id_}});
    if (pairs_.size() == 1) {
        actions_.push_back(CancelTimer{TimerKind::Establishment});
        keepalive_ = partner.keepalive && timers_.keepalive_ms > 0;
        if (keepalive_) arm(TimerKind::Keepalive, timers_.keepalive_ms);
    }
    if (state_ == State::WaitNegotiation) state_ = State::Established;
}

void InboundStream::count_auth_failure() {
    if (state_ == State::Closed) return;
    if (++auth_failures_ > options_.max_auth_failures)
        fail({StreamCondition::PolicyViolation,
              "too many failed authentication attempts (" + std::to_string(auth_failures_) + ")"});
}

void InboundStream::dialback_error(std::string_view local, std::string_view remote,
                                   StanzaError error) {
    write(wire::db_result_error(local, remote, error));
    log::warn("s2s.in.dialback_error", {{"local", local},
                                        {"remote", remote},
                                        {"condition", wire_name(error.condition)},
                                        {"text", error.text},
                                        {"stream", stream_id_}});
}

// --- db:result: the Receiving Server (XEP-0220 §2.2.1) ----------------------------------------

void InboundStream::on_db_result(const Element& result) {
    if (result.has_attr("type")) {
        // XEP-0220 §2.2, §3.1: an answer we never asked for on this stream.
        log::warn("s2s.in.unsolicited_dialback", {{"element", "db:result"},
                                                  {"type", result.attr_or("type", "")},
                                                  {"stream", stream_id_}});
        return;
    }
    const auto from = wire::parse_domain(result.attr_or("from", ""));
    const auto to = wire::parse_domain(result.attr_or("to", ""));
    if (!from || !to)
        return fail({StreamCondition::ImproperAddressing,
                     "db:result needs 'from' and 'to' domains (XEP-0220 §2.1.1)"});
    const std::string& remote = from->name;
    const std::string& local = to->name;
    if (!tls_ && tls_required()) {
        const std::string who = peer_.empty() ? remote : peer_;
        log::warn("s2s.in.tls_required", {{"domain", who}, {"stream", stream_id_}});
        return fail({StreamCondition::PolicyViolation, "TLS required by policy for " + who});
    }
    if (!policy_.is_local_domain(local)) {
        dialback_error(
            local, remote,
            StanzaError::of(StanzaCondition::ItemNotFound, "this server does not serve " + local));
        return count_auth_failure();
    }
    auto admission = policy_.admit(remote);
    if (!admission.admitted()) {
        const auto rule =
            registry::name(admission.refusal.value_or(registry::RefusalRule::Blocked));
        log_refused(remote, rule, admission.detail);
        dialback_error(local, remote,
                       StanzaError::of(StanzaCondition::Forbidden,
                                       "federation with " + remote +
                                           " is refused by policy: " + std::string(rule)));
        return count_auth_failure();
    }
    const registry::Partner& partner = *admission.partner;
    if (!partner.allows_dialback()) {
        dialback_error(local, remote,
                       StanzaError::of(StanzaCondition::NotAuthorized,
                                       "dialback is not allowed by policy for " + remote));
        return count_auth_failure();
    }
    if (!tls_ && partner.requires_tls()) {
        dialback_error(local, remote,
                       StanzaError::of(StanzaCondition::PolicyViolation,
                                       "TLS required by policy for " + remote));
        return count_auth_failure();
    }
    if (is_authenticated(local, remote)) {
        // Already proven on this stream: say so again rather than leave the request hanging.
        write(wire::db_result(local, remote, "valid"));
        return;
    }
    const bool waiting = std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) {
        return p.local == local && p.remote == remote;
    });
    if (waiting) {
        // One verification per pair; its answer answers this request too.
        log::info("s2s.in.dialback_duplicate",
                  {{"local", local}, {"remote", remote}, {"stream", stream_id_}});
        return;
    }
    if (pending_.size() >= options_.max_pending_dialback) {
        dialback_error(local, remote,
                       StanzaError::of(StanzaCondition::ResourceConstraint,
                                       "too many dialback verifications in progress"));
        return count_auth_failure();
    }
    pending_.push_back(Pending{local, remote, partner, now_ + timers_.dialback_ms});
    actions_.push_back(
        VerifyDialbackKey{local, remote, stream_id_, wire::strip_space(result.text())});
    log::info("s2s.in.dialback_request",
              {{"local", local}, {"remote", remote}, {"stream", stream_id_}});
    rearm_dialback_timer();
}

void InboundStream::on_key_verified(std::string_view local, std::string_view remote, bool valid) {
    if (state_ == State::Closed) return;
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
        return p.local == local && p.remote == remote;
    });
    if (it == pending_.end()) {
        log::warn("s2s.in.unsolicited_verify_answer",
                  {{"local", local}, {"remote", remote}, {"stream", stream_id_}});
        return;
    }
    const Pending done = std::move(*it);
    pending_.erase(it);
    rearm_dialback_timer();
    if (valid) {
        write(wire::db_result(done.local, done.remote, "valid"));
        return authenticate(done.local, done.remote, AuthMethod::Dialback, done.partner);
    }
    // XEP-0220 §2.2.1: an invalid key is an attempt to spoof the domain; the stream closes.
    write(wire::db_result(done.local, done.remote, "invalid"));
    log::warn("s2s.in.dialback_invalid",
              {{"local", done.local}, {"remote", done.remote}, {"stream", stream_id_}});
    fail({StreamCondition::NotAuthorized,
          "the dialback key for " + done.remote + " -> " + done.local + " is invalid"});
}

void InboundStream::on_key_unverifiable(std::string_view local, std::string_view remote,
                                        StanzaCondition condition) {
    if (state_ == State::Closed) return;
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
        return p.local == local && p.remote == remote;
    });
    if (it == pending_.end()) {
        log::warn("s2s.in.unsolicited_verify_answer",
                  {{"local", local}, {"remote", remote}, {"stream", stream_id_}});
        return;
    }
    const Pending done = std::move(*it);
    pending_.erase(it);
    rearm_dialback_timer();
    // XEP-0220 §2.5: the Receiving Server could not reach the Authoritative Server.
    dialback_error(done.local, done.remote,
                   StanzaError::of(condition,
                                   "could not verify the dialback key with the "
                                   "authoritative server of " +
                                       done.remote));
}

void InboundStream::expire_dialback(std::uint64_t now_ms) {
    dialback_due_.reset();  // the timer that brought us here is spent
    auto expired = std::stable_partition(pending_.begin(), pending_.end(),
                                         [&](const Pending& p) { return p.deadline_ms > now_ms; });
    for (auto it = expired; it != pending_.end(); ++it)
        dialback_error(it->local, it->remote,
                       StanzaError::of(StanzaCondition::RemoteServerTimeout,
                                       "no answer from the authoritative server of " + it->remote));
    pending_.erase(expired, pending_.end());
    rearm_dialback_timer();
}

// One Dialback timer per stream, armed for the earliest deadline.
void InboundStream::rearm_dialback_timer() {
    if (pending_.empty()) {
        if (dialback_due_) actions_.push_back(CancelTimer{TimerKind::Dialback});
        dialback_due_.reset();
        return;
    }
    std::uint64_t earliest = pending_.front().deadline_ms;
    for (const auto& p : pending_)
        earliest = std::min(earliest, p.deadline_ms);
    if (dialback_due_ && *dialback_due_ <= earliest) return;
    arm(TimerKind::Dialback, earliest > now_ ? earliest - now_ : 0);
    dialback_due_ = earliest;
}

// --- db:verify: the Authoritative Server (XEP-0220 §2.2.2) ------------------------------------

void InboundStream::on_db_verify(const Element& verify) {
    if (verify.has_attr("type")) {
        log::warn("s2s.in.unsolicited_dialback", {{"element", "db:verify"},
                                                  {"type", verify.attr_or("type", "")},
                                                  {"stream", stream_id_}});
        return;
    }
    const auto from = wire::parse_domain(verify.attr_or("from", ""));
    const auto to = wire::parse_domain(verify.attr_or("to", ""));
    const std::string id(verify.attr_or("id", ""));
    if (!from || !to || id.empty())
        return fail({StreamCondition::ImproperAddressing,
                     "db:verify needs 'from' and 'to' domains and an 'id' (XEP-0220 §2.1.2)"});
    // The asking server is the Receiving Server of our outbound stream: from = it, to = us.
    const std::string& receiving = from->name;
    const std::string& originating = to->name;
    if (!policy_.is_local_domain(originating)) {
        write(wire::db_verify_error(originating, receiving, id,
                                    StanzaError::of(StanzaCondition::ItemNotFound,
                                                    "this server does not serve " + originating)));
        log::warn("s2s.in.verify_refused",
                  {{"local", originating}, {"remote", receiving}, {"reason", "host-unknown"}});
        return;
    }
    auto admission = policy_.admit(receiving);
    if (!admission.admitted()) {
        const auto rule =
            registry::name(admission.refusal.value_or(registry::RefusalRule::Blocked));
        log_refused(receiving, rule, admission.detail);
        write(wire::db_verify_error(
            originating, receiving, id,
            StanzaError::of(
                StanzaCondition::Forbidden,
                "federation with " + receiving + " is refused by policy: " + std::string(rule))));
        return;
    }
    const bool valid = keys_.verify(receiving, originating, id, wire::strip_space(verify.text()));
    write(wire::db_verify(originating, receiving, id, valid ? "valid" : "invalid"));
    log::info("s2s.in.dialback_verify", {{"local", originating},
                                         {"remote", receiving},
                                         {"id", id},
                                         {"valid", valid},
                                         {"stream", stream_id_}});
}

}  // namespace fedgw::proxy
