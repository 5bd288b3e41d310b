// GatewayServer, XMPP -> SIP: each STANZA frame from a proxy is checked (a stanza, a valid
// 'from' to answer, a 'to' at one of our domains, the addressed SIP user's XMPP access) and
// then translated: message -> SIP MESSAGE (RFC 7572 §4 via message_map) with the SIP outcome
// mapped back to an error message on failure (RFC 7247 §7.2), chat states -> RFC 3994
// isComposing, iq -> disco#info / version / ping (disco.hpp), presence -> the PresenceEngine.
// Every stanza is answered or its fate logged, and its link credit is returned once handled.
//
// Loop-bound.
#include "common/log/log.hpp"
#include "common/xml/fragment.hpp"
#include "common/xml/namespaces.hpp"
#include "gateway/server/gateway_server.hpp"
#include "gateway/translate/address_map.hpp"
#include "gateway/translate/error_map.hpp"
#include "gateway/translate/message_map.hpp"

namespace fedgw::gateway {

struct GatewayServer::Target {
    Jid from;
    Jid to;
    std::string sip_user;  // "user@domain" of the addressed SIP user; "" for our domain itself
    registry::PartnerType partner_type = registry::PartnerType::PublicUnverified;
    std::string partner;
};

namespace {

// "sip:alice@example.com" -> "alice@example.com": the key of per-user access and contacts.
std::string user_of(std::string_view uri) {
    if (uri.rfind("sip:", 0) == 0) uri.remove_prefix(4);
    return std::string(uri);
}

constexpr std::size_t kMaxComposingPairs = 4096;

}  // namespace

void GatewayServer::on_link_stanza(link::ConnId id, link::StanzaFrame frame) {
    handle_stanza(frame);
    link_->stanza_done(id, 1);
}

void GatewayServer::handle_stanza(const link::StanzaFrame& frame) {
    auto parsed = parse_fragment(frame.xml, kNsServer);
    if (!parsed) {
        log::warn("gateway.bad_stanza",
                  {{"partner", frame.partner}, {"reason", parsed.error().describe()}});
        return;  // nothing addressable to answer
    }
    std::unique_ptr<Element> stanza = std::move(*parsed);
    const std::string kind = stanza->name();
    if (stanza->ns() != kNsServer || (kind != "message" && kind != "presence" && kind != "iq")) {
        log::warn("gateway.bad_stanza", {{"partner", frame.partner},
                                         {"element", stanza->qualified_name()},
                                         {"reason", "not a stanza"}});
        return;
    }
    auto from = Jid::parse(stanza->attr_or("from", ""));
    if (!from) {
        log::warn("gateway.bad_stanza", {{"partner", frame.partner},
                                         {"kind", kind},
                                         {"reason", "no valid 'from': nobody to answer"}});
        return;
    }
    auto to = Jid::parse(stanza->attr_or("to", ""));
    if (!to) {
        bounce(*stanza, StanzaError::of(StanzaCondition::JidMalformed, "'to' is not a valid JID"),
               "bad to");
        return;
    }
    if (!is_our_domain(to->domain_ascii())) {
        bounce(*stanza,
               StanzaError::of(StanzaCondition::ServiceUnavailable,
                               to->domainpart() + " is not a domain of this gateway"),
               "not our domain");
        return;
    }
    if (stopping_) {
        bounce(*stanza,
               StanzaError::of(StanzaCondition::ServiceUnavailable, "the gateway is shutting down"),
               "stopping");
        return;
    }
    Target t{*from, *to, "",
             registry::partner_type_from_name(frame.partner_type)
                 .value_or(registry::PartnerType::PublicUnverified),
             frame.partner};

    if (kind == "iq") {
        // Our domain answers disco#info, version and ping; a SIP user takes no IQs
        // (service-unavailable, RFC 6121 §8.5.3.1); results and errors are never answered.
        if (auto reply = answer_iq(*stanza, info_)) {
            send_to_xmpp(std::move(reply), "iq");
        } else {
            log::debug("gateway.iq_not_answered", {{"from", from->to_string()},
                                                   {"to", to->to_string()},
                                                   {"type", stanza->attr_or("type", "")}});
        }
        return;
    }
    if (!to->has_localpart()) {
        bounce(*stanza,
               StanzaError::of(StanzaCondition::ServiceUnavailable,
                               "the gateway's domain takes no " + kind + " stanzas"),
               "domain");
        return;
    }
    auto sip = jid_to_sip(to->bare());
    if (!sip) {
        bounce(*stanza, to_stanza_error(sip.error()), "address");
        return;
    }
    t.sip_user = user_of(sip->uri);
    if (!has_xmpp_access(t.sip_user)) {
        // RFC 7247 §7.1 maps forbidden to 403 and back: the partner learns plainly that this
        // SIP user is not open to XMPP federation.
        bounce(*stanza,
               StanzaError::of(StanzaCondition::Forbidden,
                               to->bare_string() + " is not enabled for XMPP federation"),
               "no xmpp access");
        return;
    }
    if (kind == "message") {
        xmpp_message(std::move(stanza), t);
        return;
    }
    engine_->on_xmpp_presence(*stanza, t.partner_type);
}

void GatewayServer::xmpp_message(std::unique_ptr<Element> message, const Target& t) {
    const std::string pair = t.from.bare_string() + "|" + t.to.bare_string();
    OutboundDecision d = plan_sip_message(*message);
    if (auto* e = std::get_if<StanzaError>(&d)) {
        bounce(*message, *e, "message");
        return;
    }
    if (auto* n = std::get_if<NothingToSend>(&d)) {
        if (n->reason == NothingToSendReason::ChatStateOnly) {
            xmpp_composing(*message, t);
            return;
        }
        if (n->reason == NothingToSendReason::ErrorStanza) {
            // An error about a message a SIP user sent: its MESSAGE was answered 200 when a
            // proxy took it, so there is no SIP transaction left to carry the error.
            const Element* cond = nullptr;
            if (const Element* e = message->find_child("error"))
                for (const Element* c : e->child_elements())
                    if (c->ns() == kNsStanzaErrors && c->name() != "text") cond = c;
            log::info("gateway.xmpp_error_not_relayed",
                      {{"from", t.from.to_string()},
                       {"to", t.to.to_string()},
                       {"id", message->attr_or("id", "")},
                       {"condition", cond ? cond->name() : std::string("(none)")}});
            return;
        }
        // Receipts, markers, empty bodies: never an empty MESSAGE (RFC 7572 §4).
        log::debug("gateway.message_not_sent", {{"from", t.from.to_string()},
                                                {"to", t.to.to_string()},
                                                {"reason", describe(n->reason)},
                                                {"detail", n->detail}});
        return;
    }
    OutboundMessage& om = std::get<OutboundMessage>(d);
    sip::RequestSpec spec = to_request_spec(om);
    spec.cseq = next_cseq();
    auto request = sip::build_message(std::move(spec), om.content_type, om.body, random_);
    if (!request) {
        bounce(
            *message,
            StanzaError::of(StanzaCondition::BadRequest,
                            "the message cannot be carried in SIP: " + request.error().describe()),
            "sip build");
        return;
    }
    composing_.erase(pair);  // a message ends the typing on the SIP side (RFC 3994 §4)
    const std::string call_id = request->call_id();
    log::info("gateway.message_to_sip", {{"from", t.from.to_string()},
                                         {"to", om.request_uri},
                                         {"id", om.id},
                                         {"call_id", call_id},
                                         {"body", log::body(om.body)}});
    for (const auto& note : om.notes)
        log::debug("gateway.message_note", {{"call_id", call_id}, {"note", note}});
    std::shared_ptr<Element> original(std::move(message));
    sip_->send_request(
        std::move(*request), config_.gateway->sip.next_hops.front(),
        [this, original, call_id](Result<sip::SipMessage, sip::RequestError> r) {
            if (r && r->status_code() < 300) {
                log::info("gateway.message_delivered",
                          {{"call_id", call_id}, {"status", r->status_code()}});
                return;
            }
            StanzaError e = r ? stanza_error_for_sip_status(r->status_code(), r->reason_phrase())
                              : stanza_error_for_request_failure(r.error().failure);
            log::info("gateway.message_failed",
                      {{"call_id", call_id},
                       {"sip", r ? std::to_string(r->status_code()) + " " + r->reason_phrase()
                                 : r.error().describe()},
                       {"error", e.describe()}});
            bounce(*original, std::move(e), "sip failure");
        });
}

void GatewayServer::xmpp_composing(const Element& message, const Target& t) {
    auto plan = plan_is_composing(message);
    if (!plan) {
        log::debug("gateway.message_not_sent", {{"from", t.from.to_string()},
                                                {"to", t.to.to_string()},
                                                {"reason", "chat state without a SIP form"}});
        return;
    }
    const std::string pair = t.from.bare_string() + "|" + t.to.bare_string();
    auto it = composing_.find(pair);
    const bool was_active = it != composing_.end() && it->second == ComposingState::Active;
    if (plan->state == ComposingState::Idle && !was_active) {
        // RFC 3994 §3: idle follows active; a lone "paused" or "inactive" says nothing.
        log::debug("gateway.composing_skipped", {{"from", t.from.to_string()},
                                                 {"to", t.to.to_string()},
                                                 {"reason", "idle without active"}});
        return;
    }
    if (it == composing_.end() && composing_.size() >= kMaxComposingPairs) composing_.clear();
    composing_[pair] = plan->state;
    sip::RequestSpec spec = to_request_spec(plan->message);
    spec.cseq = next_cseq();
    auto request = sip::build_message(std::move(spec), plan->message.content_type,
                                      plan->message.body, random_);
    if (!request) {
        log::debug("gateway.composing_not_sent",
                   {{"from", t.from.to_string()}, {"reason", request.error().describe()}});
        return;
    }
    std::string to = plan->message.request_uri;
    sip_->send_request(
        std::move(*request), config_.gateway->sip.next_hops.front(),
        [to](Result<sip::SipMessage, sip::RequestError> r) {
            // Typing notifications are best effort: nothing is bounced.
            if (!r || r->status_code() >= 300)
                log::debug("gateway.composing_failed",
                           {{"to", to},
                            {"sip", r ? std::to_string(r->status_code()) : r.error().describe()}});
        });
}

void GatewayServer::bounce(const Element& stanza, StanzaError error, std::string_view why) {
    auto reply = error_reply(stanza, error);
    log::info("gateway.bounce", {{"kind", stanza.name()},
                                 {"from", stanza.attr_or("from", "")},
                                 {"to", stanza.attr_or("to", "")},
                                 {"error", error.describe()},
                                 {"why", why},
                                 {"sent", reply != nullptr}});
    if (!reply) return;  // an error stanza is never answered (RFC 6120 §8.3.1)
    send_to_xmpp(std::move(reply), "bounce");
}

std::uint32_t GatewayServer::next_cseq() {
    if (cseq_ >= 0x7fffffffu) cseq_ = 1;
    return cseq_++;
}

}  // namespace fedgw::gateway
