// PresenceEngine: applying one subscription_map step (gateway/translate/subscription_map.hpp)
// to a pair. The step decides; this file turns its SipSteps into SUBSCRIBE / NOTIFY requests,
// its XmppActions into <presence/> stanzas (RFC 6121 §4.7, presence_map for the content),
// writes the new state and then sends.
//
// Loop-bound.
#include <algorithm>

#include "common/log/log.hpp"
#include "common/xml/namespaces.hpp"
#include "gateway/presence/presence_engine_impl.hpp"

namespace fedgw::gateway {

void PresenceEngine::Impl::apply(const PairKey& key, const SubscriptionStep& step,
                                 const StepContext& ctx,
                                 const std::function<void()>& before_dispatch) {
    Pair* found = find(key);
    if (found == nullptr) return;
    Pair& p = *found;
    Actions acts;
    for (XmppAction a : step.xmpp) {
        if (auto stanza = xmpp_for(p, a, ctx)) acts.xmpp.push_back(std::move(stanza));
    }
    p.rec.state = step.state;
    for (const SipStep& s : step.sip)
        build_sip_step(p, s, acts);

    // The outbound subscription is over: its dialog goes, and with it what S looked like.
    if (p.rec.state.outbound == Outbound::None) {
        if (p.rec.out.exists()) retire_outbound(p);
        p.rec.sip_presence.reset();
        cancel(p, TimerKind::OutboundSubscribe);
    }
    // An un-SUBSCRIBE with nothing to end (no SUBSCRIBE sent yet, e.g. a retry was waiting).
    if (p.rec.state.outbound == Outbound::Ending && !p.rec.out.exists()) {
        p.rec.state.outbound = Outbound::None;
        cancel(p, TimerKind::OutboundSubscribe);
    }
    // S's subscription is over: its dialog goes (after the NOTIFYs above were built from it).
    if (!p.rec.state.inbound_dialog && p.rec.in.exists()) {
        p.rec.in = InboundDialog{};
        cancel(p, TimerKind::InboundExpiry);
    }
    if (step.refresh_in && p.rec.state.outbound != Outbound::None &&
        p.rec.state.outbound != Outbound::Ending) {
        const std::uint32_t delay = refresh_after(ctx.refresh_basis.value_or(*step.refresh_in));
        const std::uint64_t due = loop_now() + std::uint64_t(delay) * 1000;
        if (!ctx.refresh_only_earlier || !p.out_timer || (*p.out_timer)->first > due) {
            p.rec.out.refresh_at = unix_now() + delay;
            schedule_at(p, TimerKind::OutboundSubscribe, due);
        }
    }

    if (log::enabled(ctx.level)) {
        log::write(ctx.level, ctx.event,
                   {{"xmpp", key.xmpp},
                    {"sip", key.sip},
                    {"detail", ctx.detail},
                    {"outbound", name(p.rec.state.outbound)},
                    {"inbound", name(p.rec.state.inbound)},
                    {"inbound_dialog", p.rec.state.inbound_dialog},
                    {"sip_requests", acts.sip.size()},
                    {"xmpp_stanzas", acts.xmpp.size()},
                    {"note", step.note}});
    }
    commit(key);  // `p` may be gone from here on
    if (before_dispatch) before_dispatch();
    dispatch(std::move(acts));
}

void PresenceEngine::Impl::build_sip_step(Pair& p, const SipStep& s, Actions& acts) {
    std::optional<OutRequest> req;
    switch (s.action) {
        case SipAction::Subscribe:
            if (s.delay_s > 0) {
                // A retry: the SUBSCRIBE goes when the timer fires (refresh_due).
                p.rec.out.requested = s.expires;
                p.rec.out.refresh_at = unix_now() + s.delay_s;
                schedule_at(p, TimerKind::OutboundSubscribe,
                            loop_now() + std::uint64_t(s.delay_s) * 1000);
                log::debug("presence.retry_scheduled",
                           {{"xmpp", p.rec.xmpp}, {"sip", p.rec.sip}, {"delay_s", s.delay_s}});
                return;
            }
            cancel(p, TimerKind::OutboundSubscribe);
            p.rec.out.refresh_at = 0;
            req = build_subscribe(p, s.expires);
            break;
        case SipAction::Unsubscribe:
            cancel(p, TimerKind::OutboundSubscribe);
            p.rec.out.refresh_at = 0;
            req = build_unsubscribe(p);
            break;
        case SipAction::Fetch:
            req = build_fetch(p);
            break;
        case SipAction::NotifyPending:
        case SipAction::NotifyActive:
        case SipAction::NotifyTerminated:
            req = build_notify(p, s.action, s.reason);
            break;
    }
    if (req) acts.sip.push_back(std::move(*req));
}

std::unique_ptr<Element> PresenceEngine::Impl::simple_presence(const Pair& p,
                                                               std::string_view type) const {
    auto e = Element::make("presence", std::string(kNsServer));
    e->set_attr("from", p.s.to_string());
    e->set_attr("to", p.u.to_string());
    if (!type.empty()) e->set_attr("type", type);
    return e;
}

PresenceState PresenceEngine::Impl::last_sip_presence(const Pair& p) const {
    if (!p.rec.sip_presence) return PresenceState{};
    auto st = presence_from_notify_body(kPidfMediaType, *p.rec.sip_presence,
                                        note_policy_for(p.rec.partner_type));
    return st ? *st : PresenceState{};
}

std::unique_ptr<Element> PresenceEngine::Impl::xmpp_for(const Pair& p, XmppAction a,
                                                        const StepContext& ctx) const {
    switch (a) {
        case XmppAction::Subscribe:
            return simple_presence(p, "subscribe");
        case XmppAction::Subscribed:
            return simple_presence(p, "subscribed");
        case XmppAction::Unsubscribed:
            return simple_presence(p, "unsubscribed");
        case XmppAction::Unsubscribe:
            return simple_presence(p, "unsubscribe");
        case XmppAction::Unavailable:
            return simple_presence(p, "unavailable");
        case XmppAction::Probe:
            return simple_presence(p, "probe");
        case XmppAction::LastPresence:
            return build_presence_stanza(last_sip_presence(p), p.s, p.u);
        case XmppAction::NotifyBody:
            if (!ctx.notify_presence) return nullptr;  // the body was refused (logged)
            return build_presence_stanza(*ctx.notify_presence, p.s, p.u);
    }
    return nullptr;
}

void PresenceEngine::Impl::dispatch(Actions acts) {
    for (auto& stanza : acts.xmpp) {
        log::debug("presence.xmpp_out", {{"from", stanza->attr_or("from", "")},
                                         {"to", stanza->attr_or("to", "")},
                                         {"type", stanza->attr_or("type", "available")}});
        hooks.send_xmpp(std::move(stanza));
    }
    for (auto& req : acts.sip) {
        log::debug("presence.sip_out",
                   {{"method", req.message.method()},
                    {"call_id", req.what.call_id},
                    {"cseq", req.what.cseq},
                    {"expires", req.message.header("Expires").value_or("")},
                    {"state", req.message.header("Subscription-State").value_or("")}});
        send(std::move(req));
    }
}

}  // namespace fedgw::gateway
