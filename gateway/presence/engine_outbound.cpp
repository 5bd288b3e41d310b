// PresenceEngine, U watches S: presence stanzas from partner users (RFC 7248 §4.2, §6.1), the
// gateway's SUBSCRIBE dialog to S (RFC 6665 §4.1; RFC 3261 §12.1.2 dialog creation from the
// 2xx, §12.2.1 requests inside it, §12.2.2 the NOTIFYs we receive), refreshes, fetches and
// the answers to all of them.
//
// Loop-bound.
#include <algorithm>
#include <cctype>

#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "common/xml/serializer.hpp"
#include "gateway/presence/presence_engine_impl.hpp"
#include "gateway/translate/address_map.hpp"

namespace fedgw::gateway {
namespace {

// A fetch whose NOTIFY has not come after this long is forgotten (Timer F is 32 s).
constexpr std::uint64_t kFetchLifetimeMs = 64'000;
constexpr std::size_t kMaxFetches = 1024;

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool serves(const std::vector<std::string>& domains, const Jid& j) {
    return std::any_of(domains.begin(), domains.end(), [&](const std::string& d) {
        const std::string l = lower_ascii(d);
        return l == j.domainpart() || l == j.domain_ascii();
    });
}

// A partner's status texts go into every NOTIFY to S, so they are bounded (a stanza may be
// 512 KiB; a NOTIFY over UDP should stay well below 64 KiB).
constexpr std::size_t kMaxStatusBytes = 1024;
constexpr std::size_t kMaxStatuses = 8;

void bound_status(PresenceState& st) {
    if (st.status.size() > kMaxStatuses) st.status.resize(kMaxStatuses);
    for (StatusText& s : st.status) {
        if (s.text.size() <= kMaxStatusBytes) continue;
        std::size_t cut = kMaxStatusBytes;
        while (cut > 0 && (static_cast<unsigned char>(s.text[cut]) & 0xC0) == 0x80)
            --cut;  // not inside a UTF-8 sequence
        s.text.resize(cut);
    }
}

// RFC 6665 §4.1.2.2: a refresh answered with one of these means the subscription is over
// (481 among them); subscription_map decides whether to subscribe again, in a new dialog.
bool ends_subscription(int status) {
    return status == 404 || status == 405 || status == 410 || status == 416 ||
           (status >= 480 && status <= 485) || status == 489 || status == 501 || status == 604;
}

}  // namespace

void PresenceEngine::Impl::reply_error(const Element& presence, const StanzaError& error) {
    log::warn("presence.xmpp_refused", {{"from", presence.attr_or("from", "")},
                                        {"to", presence.attr_or("to", "")},
                                        {"type", presence.attr_or("type", "available")},
                                        {"error", error.describe()}});
    if (presence.attr_or("type", "") == "error") return;  // never answer an error with one
    auto e = Element::make("presence", std::string(kNsServer));
    e->set_attr("from", presence.attr_or("to", ""));
    e->set_attr("to", presence.attr_or("from", ""));
    if (auto id = presence.attr("id")) e->set_attr("id", *id);
    e->set_attr("type", "error");
    Element& err = e->add_child("error");
    err.set_attr("type", wire_name(error.type));
    err.add_child(std::string(wire_name(error.condition)), std::string(kNsStanzaErrors));
    if (!error.text.empty()) {
        err.add_child("text", std::string(kNsStanzaErrors))
            .set_attr("xml:lang", "en")
            .add_text(error.text);
    }
    hooks.send_xmpp(std::move(e));
}

void PresenceEngine::Impl::on_xmpp_presence(const Element& presence, registry::PartnerType type) {
    auto from = Jid::parse(presence.attr_or("from", ""));
    auto to = Jid::parse(presence.attr_or("to", ""));
    if (!from || !to || !from->has_localpart()) {
        // The gateway server checked the addresses; without them there is nobody to answer.
        log::warn("presence.xmpp_refused", {{"from", presence.attr_or("from", "")},
                                            {"to", presence.attr_or("to", "")},
                                            {"error", "bad from or to"}});
        return;
    }
    const auto t = presence_type_from_attr(presence.attr_or("type", ""));
    if (!t) {
        reply_error(presence,
                    StanzaError::of(StanzaCondition::BadRequest, "unknown presence type"));
        return;
    }
    if (!to->has_localpart() || !serves(options.sip_domains, *to)) {
        reply_error(presence, StanzaError::of(StanzaCondition::ItemNotFound,
                                              "no such SIP user at this gateway"));
        return;
    }
    auto s_sip = jid_to_sip(to->bare());
    if (!s_sip) {
        reply_error(presence, to_stanza_error(s_sip.error()));
        return;
    }
    const PairKey key{from->bare_string(), s_sip->uri};
    if (find(key) == nullptr && pairs.size() >= options.max_pairs) {
        reply_error(presence, StanzaError::of(StanzaCondition::ResourceConstraint,
                                              "too many presence subscriptions at the gateway"));
        return;
    }
    Pair* p = find_or_create(key, from->bare(), to->bare(), type);
    if (p == nullptr) {
        reply_error(presence, StanzaError::of(StanzaCondition::JidMalformed,
                                              "the sender's address has no SIP form"));
        return;
    }
    p->rec.partner_type = type;
    WatcherAuthorization auth = WatcherAuthorization::Allowed;
    if (*t == PresenceType::Subscribe || *t == PresenceType::Probe)
        auth = hooks.authorize(p->s_user, key.xmpp, type);
    if (*t == PresenceType::Available || *t == PresenceType::Unavailable) {
        // Only what a NOTIFY carries is kept (show, status, priority), not the whole stanza.
        if (auto st = read_presence(presence)) {
            bound_status(*st);
            p->rec.xmpp_presence = serialize(*build_presence_stanza(*st, *from, p->s), kNsServer);
        }
    }
    StepContext ctx;
    ctx.event = "presence.xmpp_in";
    ctx.detail = "type=" + std::string(wire_name(*t).empty() ? "available" : wire_name(*t));
    const auto step = gateway::on_xmpp_presence(*t, p->rec.state, auth, policy);
    apply(key, step, ctx);
}

// --- building SUBSCRIBEs ----------------------------------------------------------------------

void PresenceEngine::Impl::retire_outbound(Pair& p) {
    remember_ended(p.rec.out.call_id);
    p.rec.out = OutboundDialog{};
}

std::optional<OutRequest> PresenceEngine::Impl::build_subscribe(Pair& p, std::uint32_t expires) {
    OutboundDialog& d = p.rec.out;
    // Inside the dialog while it lives (a refresh, RFC 6665 §4.1.2.2); otherwise a new one.
    const bool refresh = d.established() && d.expires_at > unix_now();
    if (!refresh) {
        retire_outbound(p);
        d.call_id = sip::make_call_id(random, {});
        d.local_tag = sip::make_tag(random);
    }
    ++d.local_cseq;
    d.requested = expires;
    sip::RequestSpec spec;
    spec.from = {"", p.u_sip, d.local_tag};
    spec.to = {"", p.rec.sip, refresh ? d.remote_tag : std::string()};
    if (refresh) {
        if (!d.remote_target.empty()) spec.request_uri = d.remote_target;
        spec.route = d.route_set;
    }
    spec.call_id = d.call_id;
    spec.cseq = d.local_cseq;
    spec.contact = contact;
    spec.headers = {{"Accept", std::string(kPidfMediaType)}};
    auto m = sip::build_subscribe(std::move(spec), "presence", expires, random);
    if (!m) {
        log::error("presence.build_failed",
                   {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"error", m.error().describe()}});
        return std::nullopt;
    }
    return OutRequest{std::move(*m),
                      InFlight{RequestKind::Subscribe, PairKey{p.rec.xmpp, p.rec.sip}, d.call_id,
                               d.local_cseq, expires, refresh, 0}};
}

std::optional<OutRequest> PresenceEngine::Impl::build_unsubscribe(Pair& p) {
    OutboundDialog& d = p.rec.out;
    if (!d.exists()) return std::nullopt;  // nothing sent yet: apply() ends it at once
    ++d.local_cseq;
    sip::RequestSpec spec;
    spec.from = {"", p.u_sip, d.local_tag};
    spec.to = {"", p.rec.sip, d.remote_tag};
    if (d.established()) {
        if (!d.remote_target.empty()) spec.request_uri = d.remote_target;
        spec.route = d.route_set;
    }
    spec.call_id = d.call_id;
    spec.cseq = d.local_cseq;
    spec.contact = contact;
    spec.headers = {{"Accept", std::string(kPidfMediaType)}};
    auto m = sip::build_subscribe(std::move(spec), "presence", 0, random);
    // The dialog is being ended: a subscribe from U meanwhile starts a new one (build_subscribe
    // refreshes only a dialog that has time left).
    d.expires_at = 0;
    if (!m) {
        log::error("presence.build_failed",
                   {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"error", m.error().describe()}});
        return std::nullopt;
    }
    return OutRequest{std::move(*m),
                      InFlight{RequestKind::Unsubscribe, PairKey{p.rec.xmpp, p.rec.sip}, d.call_id,
                               d.local_cseq, 0, d.established(), 0}};
}

std::optional<OutRequest> PresenceEngine::Impl::build_fetch(Pair& p) {
    const std::uint64_t now = loop_now();
    std::erase_if(fetches,
                  [&](const auto& f) { return now - f.second.started_ms > kFetchLifetimeMs; });
    if (fetches.size() >= kMaxFetches) {
        log::warn(
            "presence.fetch_refused",
            {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"reason", "too many fetches in progress"}});
        return std::nullopt;
    }
    sip::RequestSpec spec;
    spec.from = {"", p.u_sip, sip::make_tag(random)};
    spec.to = {"", p.rec.sip, ""};
    spec.call_id = sip::make_call_id(random, {});
    spec.contact = contact;
    spec.headers = {{"Accept", std::string(kPidfMediaType)}};
    const std::string call_id = spec.call_id;
    auto m = sip::build_subscribe(std::move(spec), "presence", 0, random);
    if (!m) {
        log::error("presence.build_failed",
                   {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"error", m.error().describe()}});
        return std::nullopt;
    }
    const PairKey key{p.rec.xmpp, p.rec.sip};
    fetches.emplace(call_id, Fetch{key, p.u, p.s, p.rec.partner_type, now});
    return OutRequest{std::move(*m), InFlight{RequestKind::Fetch, key, call_id, 1, 0, false, 0}};
}

void PresenceEngine::Impl::refresh_due(const PairKey& key) {
    Pair* p = find(key);
    if (p == nullptr) return;
    const Outbound o = p->rec.state.outbound;
    if (o != Outbound::Subscribing && o != Outbound::Pending && o != Outbound::Active) return;
    SubscriptionStep step;
    step.state = p->rec.state;
    const std::uint32_t expires =
        p->rec.out.requested != 0 ? p->rec.out.requested : policy.requested_expires;
    step.sip.push_back(SipStep{SipAction::Subscribe, expires, 0, {}});
    step.note = p->rec.out.established() ? "refresh" : "subscribing again";
    StepContext ctx;
    ctx.event = "presence.refresh";
    ctx.detail = std::string(p->rec.out.established() ? "in_dialog" : "new_dialog") +
                 " expires=" + std::to_string(expires);
    apply(key, step, ctx);
}

// --- responses to our SUBSCRIBEs --------------------------------------------------------------

void PresenceEngine::Impl::on_subscribe_result(const InFlight& what,
                                               Result<sip::SipMessage, sip::RequestError> r) {
    Pair* p = find(what.key);
    if (p == nullptr || p->rec.out.call_id != what.call_id || p->rec.out.local_cseq != what.cseq) {
        log::debug("presence.stale_response", {{"call_id", what.call_id}, {"cseq", what.cseq}});
        return;
    }
    if (!r) {
        if (r.error().failure == sip::RequestFailure::Shutdown) return;  // restart resumes it
        // A dialog that never got going, or one being ended, is given up; a live one stays
        // valid until it runs out (RFC 6665 §4.1.2.2), so a retry may still refresh it.
        if (what.kind == RequestKind::Unsubscribe || !p->rec.out.established()) retire_outbound(*p);
        StepContext ctx;
        ctx.event = "presence.subscribe_failed";
        ctx.detail = r.error().describe();
        ctx.level = log::Level::Warn;
        apply(what.key, gateway::on_request_failure(r.error().failure, p->rec.state, policy), ctx);
        return;
    }
    const sip::SipMessage& resp = *r;
    SubscribeResponse sr;
    sr.status = resp.status_code();
    sr.expires = resp.expires();
    sr.min_expires = resp.min_expires();
    sr.retry_after = resp.retry_after();
    sr.requested = what.requested;
    sr.refresh = what.refresh;
    StepContext ctx;
    OutboundDialog& d = p->rec.out;
    if (sr.status >= 200 && sr.status <= 299 && what.kind == RequestKind::Subscribe) {
        if (d.remote_tag.empty()) {
            // RFC 3261 §12.1.2: the UAC's route set is the Record-Route in reverse order.
            d.remote_tag = resp.to().tag;
            d.route_set = record_route_uris(resp);
            std::reverse(d.route_set.begin(), d.route_set.end());
        }
        if (auto c = first_contact(resp); !c.empty()) d.remote_target = c;
        d.granted = granted_expires(sr.expires, what.requested);
        d.expires_at = unix_now() + d.granted;
        ctx.refresh_basis = d.granted;
    } else if (ends_subscription(sr.status) || what.kind == RequestKind::Unsubscribe ||
               !d.established()) {
        // The notifier has no such subscription any more (RFC 6665 §4.1.2.2). A refused
        // initial SUBSCRIBE made no dialog: whatever follows (423 retry, back-off) starts anew.
        retire_outbound(*p);
    }
    ctx.event = "presence.subscribe_response";
    ctx.detail =
        "status=" + std::to_string(sr.status) + " requested=" + std::to_string(sr.requested) +
        (sr.expires ? " expires=" + std::to_string(*sr.expires) : std::string()) +
        (sr.min_expires ? " min_expires=" + std::to_string(*sr.min_expires) : std::string()) +
        (sr.refresh ? " refresh" : "");
    apply(what.key, gateway::on_subscribe_response(sr, p->rec.state, policy), ctx);
}

void PresenceEngine::Impl::on_fetch_result(const InFlight& what,
                                           const Result<sip::SipMessage, sip::RequestError>& r) {
    const int status = r ? r->status_code() : sip::equivalent_status(r.error().failure);
    if (status >= 200 && status <= 299) return;  // the NOTIFY follows
    fetches.erase(what.call_id);
    log::info("presence.fetch_failed", {{"xmpp", what.key.xmpp},
                                        {"sip", what.key.sip},
                                        {"status", status},
                                        {"error", r ? std::string() : r.error().describe()}});
}

// --- NOTIFYs in our dialogs -------------------------------------------------------------------

void PresenceEngine::Impl::on_fetch_notify(const Fetch& fetch, const sip::SipMessage& req,
                                           const sip::ServerTransaction& tx) {
    const auto ss = req.subscription_state();
    auto presence = presence_from_notify_body(req.content_type(), req.body(),
                                              note_policy_for(fetch.partner_type));
    respond(tx, 200);
    if (!presence) {
        log::warn("presence.notify_body_refused", {{"xmpp", fetch.key.xmpp},
                                                   {"sip", fetch.key.sip},
                                                   {"error", presence.error().describe()}});
    } else if (ss && ss->state != "pending") {
        log::info("presence.fetched", {{"xmpp", fetch.key.xmpp}, {"sip", fetch.key.sip}});
        hooks.send_xmpp(build_presence_stanza(*presence, fetch.s, fetch.u));
    }
    if (!ss || ss->state == "terminated") fetches.erase(req.call_id());
}

void PresenceEngine::Impl::on_notify(const sip::SipMessage& req, const sip::ServerTransaction& tx) {
    const std::string call_id = req.call_id();
    if (req.event() != std::optional<std::string>("presence")) {
        log::warn("presence.sip_refused",
                  {{"method", "NOTIFY"}, {"call_id", call_id}, {"status", 489}});
        respond(tx, 489, {}, with_header("Allow-Events", "presence"));
        return;
    }
    auto it = by_out_call_id.find(call_id);
    if (it == by_out_call_id.end()) {
        if (auto f = fetches.find(call_id); f != fetches.end()) {
            const Fetch fetch = f->second;
            on_fetch_notify(fetch, req, tx);
            return;
        }
        if (ended.count(call_id) != 0) {
            log::debug("presence.notify_after_end", {{"call_id", call_id}});
            respond(tx, 200);
            return;
        }
        log::info("presence.notify_unknown", {{"call_id", call_id}, {"status", 481}});
        respond(tx, 481);
        return;
    }
    const PairKey key = it->second;
    Pair& p = pairs.at(key);
    OutboundDialog& d = p.rec.out;
    const sip::NameAddr from = req.from();
    if (req.to().tag != d.local_tag || (!d.remote_tag.empty() && from.tag != d.remote_tag)) {
        log::info(
            "presence.notify_unknown",
            {{"call_id", call_id}, {"status", 481}, {"reason", "tags do not match the dialog"}});
        respond(tx, 481);
        return;
    }
    const auto ss = req.subscription_state();
    if (!ss) {
        respond(tx, 400, "Missing Subscription-State");
        return;
    }
    const std::uint32_t cseq = req.cseq().number;
    if (d.remote_cseq && cseq <= *d.remote_cseq) {
        // RFC 3261 §12.2.2: a request out of order inside the dialog.
        respond(tx, 500, "CSeq out of order");
        return;
    }
    if (d.remote_tag.empty()) {
        // The NOTIFY came before the 2xx: it creates the dialog (RFC 6665 §4.1.2.4), the
        // route set being its Record-Route in order (RFC 3261 §12.1.1).
        d.remote_tag = from.tag;
        d.route_set = record_route_uris(req);
    }
    if (auto c = first_contact(req); !c.empty()) d.remote_target = c;
    d.remote_cseq = cseq;
    StepContext ctx;
    if ((ss->state == "active" || ss->state == "pending") && ss->expires) {
        d.expires_at = unix_now() + *ss->expires;
        if (d.granted == 0) d.granted = *ss->expires;
        ctx.refresh_basis = *ss->expires;
        ctx.refresh_only_earlier = true;
    }
    if (ss->state == "active") {
        auto presence = presence_from_notify_body(req.content_type(), req.body(),
                                                  note_policy_for(p.rec.partner_type));
        if (presence) {
            ctx.notify_presence = *presence;
            p.rec.sip_presence = req.body();
        } else {
            // COMPAT: answered 200 all the same; an error would end the subscription at
            // notifiers (Kamailio) that treat any NOTIFY failure as the watcher going away.
            log::warn(
                "presence.notify_body_refused",
                {{"xmpp", key.xmpp}, {"sip", key.sip}, {"error", presence.error().describe()}});
        }
    }
    if (ss->state == "terminated") retire_outbound(p);
    ctx.event = "presence.notify_in";
    ctx.detail = "state=" + ss->state + (ss->reason.empty() ? "" : " reason=" + ss->reason) +
                 (ss->expires ? " expires=" + std::to_string(*ss->expires) : std::string()) +
                 " body_bytes=" + std::to_string(req.body().size());
    apply(key, gateway::on_notify(*ss, p.rec.state, policy), ctx, [this, tx] { respond(tx, 200); });
}

}  // namespace fedgw::gateway
