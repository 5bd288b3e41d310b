// PresenceEngine, S watches U: SUBSCRIBEs from SIP users (RFC 7248 §4.3, §6.2; RFC 6665
// §4.2.1 answering them, §4.2.2 the NOTIFYs we send; RFC 3261 §12.1.1 the UAS side of dialog
// creation, §12.2.1 requests inside it), PIDF bodies of U's presence (RFC 3863, presence_map),
// the end of S's subscription when it is not refreshed, and NOTIFYs after a restart.
//
// Loop-bound.
#include <algorithm>

#include "common/log/log.hpp"
#include "gateway/presence/presence_engine_impl.hpp"
#include "gateway/translate/address_map.hpp"

namespace fedgw::gateway {
namespace {

// RFC 3856 §6.4: a presence SUBSCRIBE without Expires asks for 3600 s.
constexpr std::uint32_t kDefaultPresenceExpires = 3600;

}  // namespace

void PresenceEngine::Impl::on_subscribe(const sip::SipMessage& req,
                                        const sip::ServerTransaction& tx) {
    const std::string call_id = req.call_id();
    auto refuse = [&](int status, std::string_view reason, std::string why) {
        log::warn(
            "presence.sip_refused",
            {{"method", "SUBSCRIBE"}, {"call_id", call_id}, {"status", status}, {"reason", why}});
        respond(tx, status, reason);
    };
    if (req.event() != std::optional<std::string>("presence")) {
        log::warn("presence.sip_refused",
                  {{"method", "SUBSCRIBE"}, {"call_id", call_id}, {"status", 489}});
        respond(tx, 489, {}, with_header("Allow-Events", "presence"));
        return;
    }
    const sip::NameAddr from = req.from();
    const sip::NameAddr to = req.to();
    auto s_jid = sip_to_jid(from.uri);
    if (!s_jid) return refuse(to_sip_status(s_jid.error()), {}, s_jid.error().describe());
    auto u_jid = sip_to_jid(to.uri);
    if (!u_jid) return refuse(to_sip_status(u_jid.error()), {}, u_jid.error().describe());
    if (from.tag.empty()) return refuse(400, "Missing From tag", "no From tag");
    auto s_sip = jid_to_sip(s_jid->bare());
    if (!s_sip) return refuse(to_sip_status(s_sip.error()), {}, s_sip.error().describe());
    const PairKey key{u_jid->bare().bare_string(), s_sip->uri};
    const bool in_dialog = !to.tag.empty();
    const std::uint32_t expires = req.expires().value_or(kDefaultPresenceExpires);
    const std::uint32_t cseq = req.cseq().number;

    Pair* p = nullptr;
    if (in_dialog) {
        auto it = by_in_call_id.find(call_id);
        p = it != by_in_call_id.end() && it->second == key ? find(key) : nullptr;
        if (p == nullptr || to.tag != p->rec.in.local_tag || from.tag != p->rec.in.remote_tag)
            return refuse(481, {}, "no such subscription");
        if (p->rec.in.remote_cseq && cseq <= *p->rec.in.remote_cseq)
            return refuse(500, "CSeq out of order", "CSeq out of order");
    } else {
        if (first_contact(req).empty()) return refuse(400, "Missing Contact", "no Contact");
        if (auto it = by_in_call_id.find(call_id); it != by_in_call_id.end() && it->second != key)
            return refuse(400, "Call-ID in use", "Call-ID of another subscription");
        if (find(key) == nullptr && pairs.size() >= options.max_pairs)
            return refuse(503, "Too many subscriptions", "max_pairs reached");
        p = find_or_create(key, u_jid->bare(), s_jid->bare(),
                           registry::PartnerType::PublicUnverified);
        if (p == nullptr) return refuse(404, {}, "the watched address has no SIP form");
    }

    // S asks U; its right to ask (trust, From domain, per-user access) was checked by the
    // gateway server, and U answers with subscribed / unsubscribed.
    const auto step = gateway::on_sip_subscribe(expires, in_dialog, p->rec.state,
                                                WatcherAuthorization::Allowed, policy);
    const std::uint32_t granted = step.granted.value_or(0);
    if (!in_dialog && expires == 0 && p->rec.in.exists() && p->rec.in.call_id != call_id) {
        fetch_beside_subscription(*p, step, req, tx);
        return;
    }
    InboundDialog& d = p->rec.in;
    if (!in_dialog) {
        if (d.exists() && d.call_id != call_id) {
            log::info("presence.watcher_replaced", {{"xmpp", key.xmpp},
                                                    {"sip", key.sip},
                                                    {"old_call_id", d.call_id},
                                                    {"call_id", call_id}});
        }
        if (d.call_id != call_id) {
            d = InboundDialog{};
            d.call_id = call_id;
            d.local_tag = sip::make_tag(random);
        }
        d.remote_tag = from.tag;
        d.remote_uri = from.uri;
        d.route_set = record_route_uris(req);  // the UAS keeps Record-Route in order
    }
    d.remote_cseq = cseq;
    if (auto c = first_contact(req); !c.empty()) d.remote_target = c;
    d.expires_at = unix_now() + granted;
    if (step.state.inbound_dialog && granted > 0) {
        schedule_at(*p, TimerKind::InboundExpiry, loop_now() + std::uint64_t(granted) * 1000);
    }
    StepContext ctx;
    ctx.event = "presence.sip_subscribe_in";
    ctx.detail = "call_id=" + call_id + (in_dialog ? " in_dialog" : " new_dialog") +
                 " expires=" + std::to_string(expires) + " granted=" + std::to_string(granted);
    sip::ResponseSpec spec;
    spec.to_tag = d.local_tag;
    spec.contact = contact;
    spec.headers = {{"Expires", std::to_string(granted)}};
    apply(key, step, ctx, [this, tx, spec] { respond(tx, 200, {}, spec); });
}

void PresenceEngine::Impl::fetch_beside_subscription(Pair& p, const SubscriptionStep& step,
                                                     const sip::SipMessage& req,
                                                     const sip::ServerTransaction& tx) {
    // A fetch (RFC 6665 §4.4.3, RFC 7248 §6.2) from a watcher that also holds a live
    // subscription: it is answered in its own one-shot dialog, and the live one, with the
    // pair's state, is left as it is. The step's actions are run on a copy carrying the
    // fetch's dialog.
    Pair once = p;
    once.rec.in = InboundDialog{};
    once.rec.in.call_id = req.call_id();
    once.rec.in.local_tag = sip::make_tag(random);
    once.rec.in.remote_tag = req.from().tag;
    once.rec.in.remote_uri = req.from().uri;
    once.rec.in.remote_cseq = req.cseq().number;
    once.rec.in.remote_target = first_contact(req);
    once.rec.in.route_set = record_route_uris(req);
    once.rec.in.expires_at = unix_now();
    Actions acts;
    for (XmppAction a : step.xmpp) {
        if (auto stanza = xmpp_for(once, a, {})) acts.xmpp.push_back(std::move(stanza));
    }
    for (const SipStep& s : step.sip) {
        if (auto n = build_notify(once, s.action, s.reason)) acts.sip.push_back(std::move(*n));
    }
    log::info("presence.sip_fetch_in", {{"xmpp", p.rec.xmpp},
                                        {"sip", p.rec.sip},
                                        {"call_id", once.rec.in.call_id},
                                        {"live_call_id", p.rec.in.call_id}});
    sip::ResponseSpec spec;
    spec.to_tag = once.rec.in.local_tag;
    spec.contact = contact;
    spec.headers = {{"Expires", "0"}};
    respond(tx, 200, {}, spec);
    dispatch(std::move(acts));
}

std::string PresenceEngine::Impl::u_pidf(const Pair& p) const {
    std::string resource;
    const PresenceState st = stored_xmpp_presence(p.rec, &resource).value_or(PresenceState{});
    PidfTarget target;
    target.entity = p.u_sip;
    if (!resource.empty()) target.tuple_id = tuple_id_for(resource);
    return write_pidf(pidf_for_presence(st, target));
}

std::optional<OutRequest> PresenceEngine::Impl::build_notify(Pair& p, SipAction action,
                                                             std::string_view reason) {
    InboundDialog& d = p.rec.in;
    if (!d.exists()) {
        log::warn("presence.notify_skipped",
                  {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"reason", "no inbound dialog"}});
        return std::nullopt;
    }
    ++d.notify_cseq;
    sip::SubscriptionState ss;
    const auto remaining =
        static_cast<std::uint32_t>(std::max<std::int64_t>(0, d.expires_at - unix_now()));
    switch (action) {
        case SipAction::NotifyPending:
            ss.state = "pending";
            ss.expires = remaining;
            break;
        case SipAction::NotifyActive:
            ss.state = "active";
            ss.expires = remaining;
            break;
        default:
            ss.state = "terminated";
            ss.reason = std::string(reason);
            break;
    }
    // U's presence goes only to a watcher U approved (a pending or rejected one sees nothing).
    std::string body;
    if (action != SipAction::NotifyPending && p.rec.state.inbound == Inbound::Approved)
        body = u_pidf(p);
    sip::RequestSpec spec;
    spec.request_uri = d.remote_target.empty() ? d.remote_uri : d.remote_target;
    spec.from = {"", p.u_sip, d.local_tag};
    spec.to = {"", d.remote_uri, d.remote_tag};
    spec.call_id = d.call_id;
    spec.cseq = d.notify_cseq;
    spec.contact = contact;
    spec.route = d.route_set;
    auto m = sip::build_notify(std::move(spec), "presence", ss,
                               body.empty() ? std::string_view() : kPidfMediaType, body, random);
    if (!m) {
        log::error("presence.build_failed",
                   {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"error", m.error().describe()}});
        return std::nullopt;
    }
    return OutRequest{std::move(*m), InFlight{RequestKind::Notify, PairKey{p.rec.xmpp, p.rec.sip},
                                              d.call_id, d.notify_cseq, 0, false, 0}};
}

void PresenceEngine::Impl::drop_inbound_dialog(Pair& p) {
    const PairKey key{p.rec.xmpp, p.rec.sip};
    p.rec.state.inbound_dialog = false;
    p.rec.in = InboundDialog{};
    cancel(p, TimerKind::InboundExpiry);
    commit(key);
}

void PresenceEngine::Impl::on_notify_result(const InFlight& what,
                                            const Result<sip::SipMessage, sip::RequestError>& r) {
    if (!r && r.error().failure == sip::RequestFailure::Shutdown) return;
    const int status = r ? r->status_code() : sip::equivalent_status(r.error().failure);
    if (status >= 200 && status <= 299) return;
    log::warn("presence.notify_failed", {{"xmpp", what.key.xmpp},
                                         {"sip", what.key.sip},
                                         {"status", status},
                                         {"error", r ? r->reason_phrase() : r.error().describe()}});
    Pair* p = find(what.key);
    if (p == nullptr || p->rec.in.call_id != what.call_id) return;
    // RFC 6665 §4.2.2: a NOTIFY that fails (timeout, 481, or an error without Retry-After)
    // removes the subscription; U's approval stays for S's next SUBSCRIBE.
    if (r && r->retry_after()) return;
    log::info("presence.watcher_gone", {{"xmpp", what.key.xmpp}, {"sip", what.key.sip}});
    drop_inbound_dialog(*p);
}

void PresenceEngine::Impl::inbound_expired(const PairKey& key) {
    Pair* p = find(key);
    if (p == nullptr || !p->rec.state.inbound_dialog || !p->rec.in.exists()) return;
    const std::int64_t left = p->rec.in.expires_at - unix_now();
    if (left > 0) {  // the wall clock and the loop clock disagree: wait for the rest
        schedule_at(*p, TimerKind::InboundExpiry, loop_now() + std::uint64_t(left) * 1000);
        return;
    }
    // RFC 6665 §4.2.2: the notifier ends a subscription that ran out with reason=timeout.
    SubscriptionStep step;
    step.state = p->rec.state;
    step.state.inbound_dialog = false;
    step.sip.push_back(SipStep{SipAction::NotifyTerminated, 0, 0, "timeout"});
    step.note = "S's subscription was not refreshed";
    StepContext ctx;
    ctx.event = "presence.watcher_expired";
    apply(key, step, ctx);
}

void PresenceEngine::Impl::restore_notify(const PairKey& key) {
    Pair* p = find(key);
    if (p == nullptr || !p->rec.state.inbound_dialog || !p->rec.in.exists()) return;
    SubscriptionStep step;
    step.state = p->rec.state;
    step.sip.push_back(SipStep{p->rec.state.inbound == Inbound::Approved ? SipAction::NotifyActive
                                                                         : SipAction::NotifyPending,
                               0,
                               0,
                               {}});
    step.note = "restored after a restart";
    StepContext ctx;
    ctx.event = "presence.restore_notify";
    apply(key, step, ctx);
}

}  // namespace fedgw::gateway
