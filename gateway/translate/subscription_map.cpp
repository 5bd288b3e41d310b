// Subscription decisions and lifetimes (RFC 7248 §4, §6; RFC 6665 §4; RFC 6121 §3; RFC 3261
// §21.4.17).
//
// Pure.
#include "gateway/translate/subscription_map.hpp"

#include <algorithm>

namespace fedgw::gateway {
namespace {

SipStep subscribe(std::uint32_t expires, std::uint32_t delay = 0) {
    return SipStep{SipAction::Subscribe, expires, delay, {}};
}

SipStep terminated(std::string reason) {
    return SipStep{SipAction::NotifyTerminated, 0, 0, std::move(reason)};
}

SipStep notify(SipAction a) {
    return SipStep{a, 0, 0, {}};
}

// The outbound subscription failed for good: U is refused (and sees S go offline).
void give_up(SubscriptionStep& s, const PairState& before, std::string note) {
    if (before.outbound == Outbound::Active) s.xmpp.push_back(XmppAction::Unavailable);
    s.xmpp.push_back(XmppAction::Unsubscribed);
    s.state.outbound = Outbound::None;
    s.state.outbound_failures = 0;
    s.note = std::move(note);
}

// A transient failure: try again later; U sees S as unavailable meanwhile.
void retry_later(SubscriptionStep& s, const PairState& before, std::optional<std::uint32_t> ra,
                 const SubscriptionPolicy& policy, std::string note) {
    s.state.outbound_failures = before.outbound_failures + 1;
    s.sip.push_back(
        subscribe(policy.requested_expires, retry_delay(s.state.outbound_failures, ra, policy)));
    if (before.outbound == Outbound::Active) s.xmpp.push_back(XmppAction::Unavailable);
    s.state.outbound = Outbound::Subscribing;
    s.note = std::move(note);
}

bool is_transient(int status) {
    return status == 408 || status == 480 || (status >= 500 && status <= 599);
}

}  // namespace

std::optional<PresenceType> presence_type_from_attr(std::string_view t) {
    if (t.empty()) return PresenceType::Available;
    if (t == "unavailable") return PresenceType::Unavailable;
    if (t == "subscribe") return PresenceType::Subscribe;
    if (t == "subscribed") return PresenceType::Subscribed;
    if (t == "unsubscribe") return PresenceType::Unsubscribe;
    if (t == "unsubscribed") return PresenceType::Unsubscribed;
    if (t == "probe") return PresenceType::Probe;
    if (t == "error") return PresenceType::Error;
    return std::nullopt;
}

std::string_view wire_name(PresenceType t) {
    switch (t) {
        case PresenceType::Available:
            return "";
        case PresenceType::Unavailable:
            return "unavailable";
        case PresenceType::Subscribe:
            return "subscribe";
        case PresenceType::Subscribed:
            return "subscribed";
        case PresenceType::Unsubscribe:
            return "unsubscribe";
        case PresenceType::Unsubscribed:
            return "unsubscribed";
        case PresenceType::Probe:
            return "probe";
        case PresenceType::Error:
            return "error";
    }
    return "";
}

std::string_view describe(SipAction a) {
    switch (a) {
        case SipAction::Subscribe:
            return "SUBSCRIBE";
        case SipAction::Unsubscribe:
            return "SUBSCRIBE Expires: 0";
        case SipAction::Fetch:
            return "fetch SUBSCRIBE";
        case SipAction::NotifyPending:
            return "NOTIFY pending";
        case SipAction::NotifyActive:
            return "NOTIFY active";
        case SipAction::NotifyTerminated:
            return "NOTIFY terminated";
    }
    return "?";
}

std::string_view describe(XmppAction a) {
    switch (a) {
        case XmppAction::Subscribe:
            return "subscribe";
        case XmppAction::Subscribed:
            return "subscribed";
        case XmppAction::Unsubscribed:
            return "unsubscribed";
        case XmppAction::Unsubscribe:
            return "unsubscribe";
        case XmppAction::Unavailable:
            return "unavailable";
        case XmppAction::LastPresence:
            return "last presence";
        case XmppAction::NotifyBody:
            return "presence from the NOTIFY body";
        case XmppAction::Probe:
            return "probe";
    }
    return "?";
}

SubscriptionStep on_xmpp_presence(PresenceType type, const PairState& st, WatcherAuthorization auth,
                                  const SubscriptionPolicy& policy) {
    SubscriptionStep s;
    s.state = st;
    switch (type) {
        case PresenceType::Subscribe:
            if (auth == WatcherAuthorization::Denied) {
                s.xmpp.push_back(XmppAction::Unsubscribed);
                s.note = "watcher not authorised";
            } else if (auth == WatcherAuthorization::Pending) {
                s.note = "waiting for the SIP user to add the contact";
            } else if (st.outbound == Outbound::Active) {
                s.xmpp = {XmppAction::Subscribed, XmppAction::LastPresence};
                s.note = "already subscribed";
            } else if (st.outbound == Outbound::None || st.outbound == Outbound::Ending) {
                s.sip.push_back(subscribe(policy.requested_expires));
                s.state.outbound = Outbound::Subscribing;
                s.state.outbound_failures = 0;
            } else {
                s.note = "subscription already in progress";
            }
            break;
        case PresenceType::Unsubscribe:
            if (st.outbound == Outbound::Subscribing || st.outbound == Outbound::Pending ||
                st.outbound == Outbound::Active) {
                s.sip.push_back(SipStep{SipAction::Unsubscribe, 0, 0, {}});
                if (st.outbound == Outbound::Active) s.xmpp.push_back(XmppAction::Unavailable);
                s.state.outbound = Outbound::Ending;
            } else {
                s.note = "no subscription to end";
            }
            break;
        case PresenceType::Subscribed:
            if (st.inbound == Inbound::Pending) {
                s.state.inbound = Inbound::Approved;
                if (st.inbound_dialog) s.sip.push_back(notify(SipAction::NotifyActive));
            } else {
                s.note = "no pending SIP watcher";
            }
            break;
        case PresenceType::Unsubscribed:
            if (st.inbound != Inbound::None) {
                if (st.inbound_dialog) s.sip.push_back(terminated("rejected"));
                s.state.inbound = Inbound::None;
                s.state.inbound_dialog = false;
            } else {
                s.note = "no SIP watcher";
            }
            break;
        case PresenceType::Probe:
            if (auth == WatcherAuthorization::Denied) {
                s.xmpp.push_back(XmppAction::Unsubscribed);
            } else if (st.outbound == Outbound::Active) {
                s.xmpp.push_back(XmppAction::LastPresence);
            } else if (auth == WatcherAuthorization::Allowed) {
                s.sip.push_back(SipStep{SipAction::Fetch, 0, 0, {}});
            }
            break;
        case PresenceType::Available:
        case PresenceType::Unavailable:
            if (st.inbound == Inbound::Approved && st.inbound_dialog)
                s.sip.push_back(notify(SipAction::NotifyActive));
            else
                s.note = "no active SIP watcher: presence not forwarded";
            break;
        case PresenceType::Error:
            if (st.inbound == Inbound::Pending && st.inbound_dialog) {
                s.sip.push_back(terminated("noresource"));
                s.state.inbound = Inbound::None;
                s.state.inbound_dialog = false;
            } else if (st.inbound == Inbound::Approved && st.inbound_dialog) {
                s.sip.push_back(terminated("noresource"));
                s.state.inbound_dialog = false;
            }
            break;
    }
    return s;
}

SubscriptionStep on_subscribe_response(const SubscribeResponse& r, const PairState& st,
                                       const SubscriptionPolicy& policy) {
    SubscriptionStep s;
    s.state = st;
    if (st.outbound == Outbound::Ending || st.outbound == Outbound::None) {
        if (st.outbound == Outbound::Ending) s.state.outbound = Outbound::None;
        s.note = "response to an un-SUBSCRIBE or a fetch";
        return s;
    }
    if (r.status >= 200 && r.status <= 299) {
        s.state.outbound_failures = 0;
        s.refresh_in = refresh_delay(granted_expires(r.expires, r.requested));
        if (!s.refresh_in) give_up(s, st, "the subscription was granted for 0 seconds");
        return s;
    }
    if (r.status == 423) {
        if (auto e = expires_after_423(r.requested, r.min_expires, policy.max_expires)) {
            s.sip.push_back(subscribe(*e));
            s.note = "423: retrying with Min-Expires";
        } else {
            give_up(s, st, "423 without a usable Min-Expires");
        }
        return s;
    }
    if (r.status == 481 && r.refresh) {
        s.sip.push_back(subscribe(policy.requested_expires));
        s.state.outbound = Outbound::Subscribing;
        s.note = "481 on a refresh: a new subscription";
        return s;
    }
    if (is_transient(r.status)) {
        retry_later(s, st, r.retry_after, policy,
                    "transient SIP failure " + std::to_string(r.status));
        return s;
    }
    give_up(s, st, "SIP " + std::to_string(r.status));
    return s;
}

SubscriptionStep on_request_failure(sip::RequestFailure f, const PairState& st,
                                    const SubscriptionPolicy& policy) {
    SubscriptionStep s;
    s.state = st;
    if (st.outbound == Outbound::Ending || st.outbound == Outbound::None) {
        s.state.outbound = Outbound::None;
        return s;
    }
    retry_later(s, st, std::nullopt, policy, std::string(sip::describe(f)));
    return s;
}

SubscriptionStep on_notify(const sip::SubscriptionState& n, const PairState& st,
                           const SubscriptionPolicy& policy) {
    SubscriptionStep s;
    s.state = st;
    if (st.outbound == Outbound::Ending || st.outbound == Outbound::None) {
        if (n.state == "terminated") s.state.outbound = Outbound::None;
        s.note = "NOTIFY for a subscription being ended";
        return s;
    }
    if (n.state == "active") {
        if (st.outbound != Outbound::Active) s.xmpp.push_back(XmppAction::Subscribed);
        s.xmpp.push_back(XmppAction::NotifyBody);
        s.state.outbound = Outbound::Active;
        if (n.expires) s.refresh_in = refresh_delay(*n.expires);
        return s;
    }
    if (n.state == "pending") {
        s.state.outbound = Outbound::Pending;
        if (n.expires) s.refresh_in = refresh_delay(*n.expires);
        return s;
    }
    if (n.state != "terminated") {
        s.note = "unknown Subscription-State '" + n.state + "'";
        return s;
    }
    const std::string& reason = n.reason;
    if (reason == "timeout" || reason == "deactivated") {
        s.sip.push_back(subscribe(policy.requested_expires));
        s.state.outbound = Outbound::Subscribing;
        s.note = "terminated;reason=" + reason + ": subscribing again";
    } else if (reason == "rejected" || reason == "noresource" || reason == "invariant") {
        give_up(s, st, "terminated;reason=" + reason);
    } else {
        retry_later(s, st, n.retry_after, policy,
                    "terminated;reason=" + (reason.empty() ? std::string("(none)") : reason));
    }
    return s;
}

SubscriptionStep on_sip_subscribe(std::uint32_t expires, bool in_dialog, const PairState& st,
                                  WatcherAuthorization auth, const SubscriptionPolicy& policy) {
    SubscriptionStep s;
    s.state = st;
    s.granted = std::min(expires, policy.max_watcher_expires);
    if (expires == 0) {
        s.sip.push_back(terminated("timeout"));
        s.state.inbound_dialog = false;
        if (!in_dialog) {
            // A fetch (RFC 7248 §6.2): ask U's server, answer with what is known.
            if (st.inbound == Inbound::Approved) s.xmpp.push_back(XmppAction::Probe);
            s.note = "fetch";
        } else if (policy.unsubscribe_ends_xmpp_subscription && st.inbound != Inbound::None) {
            s.xmpp.push_back(XmppAction::Unsubscribe);
            s.state.inbound = Inbound::None;
        }
        return s;
    }
    if (auth == WatcherAuthorization::Denied && st.inbound != Inbound::Approved) {
        s.sip.push_back(terminated("rejected"));
        s.state.inbound_dialog = false;
        s.note = "watcher not authorised";
        return s;
    }
    s.state.inbound_dialog = true;
    switch (st.inbound) {
        case Inbound::Approved:
            s.sip.push_back(notify(SipAction::NotifyActive));
            break;
        case Inbound::Pending:
            s.sip.push_back(notify(SipAction::NotifyPending));
            break;
        case Inbound::None:
            s.sip.push_back(notify(SipAction::NotifyPending));
            s.xmpp.push_back(XmppAction::Subscribe);
            s.state.inbound = Inbound::Pending;
            break;
    }
    return s;
}

std::uint32_t granted_expires(std::optional<std::uint32_t> response_expires,
                              std::uint32_t requested) {
    return response_expires.value_or(requested);
}

std::optional<std::uint32_t> refresh_delay(std::uint32_t granted) {
    if (granted == 0) return std::nullopt;
    if (granted <= 64) return std::max<std::uint32_t>(1, granted / 2);
    return std::min<std::uint32_t>(granted / 4 * 3 + (granted % 4) * 3 / 4, granted - 32);
}

std::optional<std::uint32_t> expires_after_423(std::uint32_t requested,
                                               std::optional<std::uint32_t> min_expires,
                                               std::uint32_t max_expires) {
    if (!min_expires || *min_expires <= requested || *min_expires > max_expires)
        return std::nullopt;
    return *min_expires;
}

std::uint32_t retry_delay(unsigned failures, std::optional<std::uint32_t> retry_after,
                          const SubscriptionPolicy& policy) {
    if (retry_after) return std::min(std::max<std::uint32_t>(*retry_after, 1), policy.retry_max_s);
    std::uint64_t d = std::max<std::uint32_t>(policy.retry_base_s, 1);
    for (unsigned i = 1; i < failures && d < policy.retry_max_s; ++i)
        d *= 2;
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(d, policy.retry_max_s));
}

}  // namespace fedgw::gateway
