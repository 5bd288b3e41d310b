// Presence subscriptions between XMPP (RFC 6121 §3) and SIP (RFC 6665, RFC 3856), as RFC
// 7248 §4 (subscriptions) and §6 (polling) map them, as pure decision functions: the state of
// one pair (XMPP user U, SIP user S) and an event in, the SIP and XMPP actions and the new
// state out. Also the lifetime rules: what Expires was granted, when to refresh, how to
// answer 423 Interval Too Brief, and the retry delay after a transient failure.
//
// Pure: no clock (delays are returned in seconds, the caller arms timers), no storage (the
// caller keeps PairState and the last presence per pair, and survives restarts with them).
//
// Provenance: the RFC 7248 rows and section numbers here are as recalled; its text could not
// be fetched with the tools available when they were checked (issue 4). The unit tests tag
// every expected value [RFC text], [recalled] or [ours] (tests/unit/translate/
// translate_test_support.hpp).
//
// Two directions per pair, kept apart:
//   outbound: U watches S. The gateway is the SIP subscriber: SUBSCRIBE to S (Event: presence,
//     Accept: application/pidf+xml) for the configured lifetime (8 h by default), refreshed
//     before what was granted runs out, for as long as U's XMPP subscription lives.
//   inbound: S watches U. The gateway is the SIP notifier for S's SUBSCRIBE, and asks U with
//     an XMPP subscribe.
//
// XMPP -> SIP (on_xmpp_presence), RFC 7248 §4.2 and §6:
//   subscribe   -> SUBSCRIBE (Expires: lifetime); nothing goes back to U yet: a 2xx is not an
//                  authorisation (RFC 7248 §4.2.1), the first NOTIFY with
//                  Subscription-State: active is. Already active: U gets subscribed and the
//                  last presence at once (RFC 6121 §3.1.3 auto-reply).
//   unsubscribe -> SUBSCRIBE Expires: 0 in the dialog (RFC 6665 §4.1.2.3); U gets unavailable
//                  if the subscription was active (RFC 6121 §3.3.3).
//   subscribed  -> S's pending SUBSCRIBE becomes active: NOTIFY active.
//   unsubscribed-> S's subscription ends: NOTIFY terminated;reason=rejected (RFC 6665 §4.2.2:
//                  rejected = do not retry).
//   probe       -> the last presence if the outbound subscription is active, else a fetch:
//                  SUBSCRIBE Expires: 0 outside a dialog (RFC 7248 §6.1, RFC 6665 §4.4.3).
//   available / unavailable -> NOTIFY with the state if S's subscription is active; otherwise
//                  nothing (directed presence has no SIP mapping).
//   error       -> S's subscription (pending or active) ends with reason=noresource.
// SIP -> XMPP:
//   NOTIFY (on_notify): active -> U gets subscribed the first time, then presence from each
//     body; pending -> nothing (XMPP has no pending from the contact's side); terminated:
//       our own un-SUBSCRIBE's last NOTIFY -> nothing more (Kamailio sends
//         reason=timeout: not a presentity going away, not a reason to re-subscribe);
//       timeout (lifetime ran out), deactivated -> SUBSCRIBE again at once (RFC 6665 §4.1.3);
//       probation, giveup, no reason or an unknown one -> SUBSCRIBE again after Retry-After
//         or the back-off (§4.1.3: MAY retry);
//       rejected, noresource, invariant -> U gets unsubscribed (and unavailable if it was
//         active): §4.1.3 says not to retry.
//   SUBSCRIBE response (on_subscribe_response): 2xx -> schedule the refresh; 423 -> again with
//     Min-Expires (RFC 3261 §21.4.17); 481 on a refresh -> a new subscription (RFC 6665
//     §4.1.2.2); 408, 480, 5xx, and a timeout or transport failure (on_request_failure) ->
//     again after Retry-After or the back-off, U sees unavailable meanwhile: a transient SIP
//     failure must not cost U the roster subscription; other 3xx-6xx -> U gets unsubscribed
//     (RFC 7248 §4.2.1).
//   SIP SUBSCRIBE from S (on_sip_subscribe), RFC 7248 §4.3: answered 200 (RFC 6665 §4.2.1.1)
//     with the granted Expires, then a NOTIFY: initial -> U gets subscribe and S a pending
//     NOTIFY, or an active one if U approved S before; refresh -> NOTIFY with the current
//     state; Expires: 0 -> NOTIFY terminated;reason=timeout; a fetch (initial with Expires: 0)
//     -> probe to U and NOTIFY terminated;reason=timeout with the last state (RFC 7248 §6.2).
//     An un-SUBSCRIBE ends the SIP dialog only, unless `unsubscribe_ends_xmpp_subscription`:
//     SIP clients un-SUBSCRIBE whenever they log off, and mapping that to an XMPP unsubscribe
//     (RFC 7248 §4.3.3 read literally) would erase U's approval every evening. U's approval is
//     kept (inbound stays Approved) so the next SUBSCRIBE is active at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/sip/sip_error.hpp"
#include "gateway/sip/sip_message.hpp"

namespace fedgw::gateway {

// RFC 6121 §4.7.1 presence types, and "no type" (available).
enum class PresenceType {
    Available,
    Unavailable,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Probe,
    Error,
};
// "" -> Available; nullopt for a value RFC 6121 does not define (answer bad-request).
std::optional<PresenceType> presence_type_from_attr(std::string_view type);
std::string_view wire_name(PresenceType t);  // "" for Available

// U watches S through the gateway's SIP subscription.
enum class Outbound {
    None,         // no SIP subscription
    Subscribing,  // SUBSCRIBE sent (or to be retried), no NOTIFY active yet
    Pending,      // NOTIFY said pending
    Active,       // NOTIFY said active: U has been sent subscribed
    Ending,       // SUBSCRIBE Expires: 0 sent
};

// S watches U through S's SIP subscription to the gateway.
enum class Inbound {
    None,      // U has not approved S, and nothing is asked
    Pending,   // U has been sent subscribe; waiting for subscribed/unsubscribed
    Approved,  // U approved S (kept across S's SIP dialogs)
};

struct PairState {
    Outbound outbound = Outbound::None;
    Inbound inbound = Inbound::None;
    bool inbound_dialog = false;     // S has a live SIP subscription (dialog) with the gateway
    unsigned outbound_failures = 0;  // consecutive transient failures, for the back-off
    bool operator==(const PairState&) const = default;
};

// Whether a watcher from this partner may subscribe (DESIGN.md: federated and public-verified
// without approval; public-unverified only once the SIP user added the contact).
enum class WatcherAuthorization { Allowed, Pending, Denied };

struct SubscriptionPolicy {
    std::uint32_t requested_expires = 28800;   // registry sip_subscription_refresh_s
    std::uint32_t max_expires = 86400;         // a 423 asking for more than this: give up
    std::uint32_t max_watcher_expires = 3600;  // the longest a SIP watcher is granted
    std::uint32_t retry_base_s = 30;           // back-off: 30, 60, 120, ... s
    std::uint32_t retry_max_s = 1800;
    bool unsubscribe_ends_xmpp_subscription = false;
};

enum class SipAction {
    Subscribe,         // SUBSCRIBE to S: new dialog or refresh (expires, after delay_s)
    Unsubscribe,       // SUBSCRIBE Expires: 0 in the outbound dialog
    Fetch,             // SUBSCRIBE Expires: 0 outside a dialog (one-shot)
    NotifyPending,     // NOTIFY to S: Subscription-State: pending
    NotifyActive,      // NOTIFY to S: active, body = U's last presence (or closed)
    NotifyTerminated,  // NOTIFY to S: terminated;reason=<reason>, body = last presence if any
};
std::string_view describe(SipAction a);

struct SipStep {
    SipAction action = SipAction::Subscribe;
    std::uint32_t expires = 0;  // Subscribe, Unsubscribe, Fetch
    std::uint32_t delay_s = 0;  // Subscribe: wait this long first (retries)
    std::string reason;         // NotifyTerminated: RFC 6665 §4.2.2 reason
    bool operator==(const SipStep&) const = default;
};

// Presence stanzas from S's JID to U.
enum class XmppAction {
    Subscribe,     // type=subscribe: S asks U
    Subscribed,    // type=subscribed: U's subscription to S is approved
    Unsubscribed,  // type=unsubscribed: U's subscription to S is refused or ended
    Unsubscribe,   // type=unsubscribe: S no longer watches U
    Unavailable,   // type=unavailable
    LastPresence,  // S's last known presence (or unavailable if none)
    NotifyBody,    // the presence read from this NOTIFY's body (presence_map)
    Probe,         // type=probe: ask U's server for U's presence
};
std::string_view describe(XmppAction a);

struct SubscriptionStep {
    std::vector<SipStep> sip;
    std::vector<XmppAction> xmpp;
    PairState state;                          // the pair afterwards
    std::optional<std::uint32_t> refresh_in;  // arm (or re-arm) the outbound refresh timer
    std::optional<std::uint32_t> granted;     // a SIP watcher's SUBSCRIBE: the Expires to answer
    std::string note;                         // why, for debug logs
};

SubscriptionStep on_xmpp_presence(PresenceType type, const PairState& state,
                                  WatcherAuthorization auth, const SubscriptionPolicy& policy = {});

// A final response to the gateway's SUBSCRIBE (initial, refresh, un-SUBSCRIBE or fetch).
struct SubscribeResponse {
    int status = 200;
    std::optional<std::uint32_t> expires;      // Expires of a 2xx
    std::optional<std::uint32_t> min_expires;  // Min-Expires of a 423
    std::optional<std::uint32_t> retry_after;  // Retry-After
    std::uint32_t requested = 0;               // the Expires the SUBSCRIBE asked for
    bool refresh = false;                      // it was a refresh inside the dialog
};
SubscriptionStep on_subscribe_response(const SubscribeResponse& r, const PairState& state,
                                       const SubscriptionPolicy& policy = {});

// The gateway's SUBSCRIBE got no final response (timeout, transport, overload, shutdown).
SubscriptionStep on_request_failure(sip::RequestFailure f, const PairState& state,
                                    const SubscriptionPolicy& policy = {});

// A NOTIFY in the outbound dialog.
SubscriptionStep on_notify(const sip::SubscriptionState& s, const PairState& state,
                           const SubscriptionPolicy& policy = {});

// A SUBSCRIBE from S. `in_dialog`: a refresh or un-SUBSCRIBE of S's existing subscription.
SubscriptionStep on_sip_subscribe(std::uint32_t expires, bool in_dialog, const PairState& state,
                                  WatcherAuthorization auth, const SubscriptionPolicy& policy = {});

// --- lifetime ---------------------------------------------------------------------------------

// The lifetime a 2xx granted: its Expires (RFC 6665 §4.1.2.1: a 2xx MUST carry one), or what
// was asked if a peer left it out.
std::uint32_t granted_expires(std::optional<std::uint32_t> response_expires,
                              std::uint32_t requested);

// When to refresh a subscription granted for `granted` seconds: at three quarters of it, but
// at least 32 s before the end (Timer F, RFC 3261 §17.1.2.2: time for one whole transaction to
// fail) when the lifetime is long enough; at half of it for lifetimes up to 64 s; nullopt for
// 0 (nothing to refresh). Never less than 1 s.
std::optional<std::uint32_t> refresh_delay(std::uint32_t granted);

// The Expires to retry with after 423 Interval Too Brief (RFC 3261 §21.4.17, RFC 6665
// §4.1.2.1): Min-Expires, if present, larger than what was asked and within max_expires;
// otherwise nullopt (give up).
std::optional<std::uint32_t> expires_after_423(std::uint32_t requested,
                                               std::optional<std::uint32_t> min_expires,
                                               std::uint32_t max_expires);

// The wait before retry number `failures` (1 = first): Retry-After when given (capped at
// retry_max_s), else retry_base_s doubled per failure, capped at retry_max_s.
std::uint32_t retry_delay(unsigned failures, std::optional<std::uint32_t> retry_after,
                          const SubscriptionPolicy& policy = {});

}  // namespace fedgw::gateway
