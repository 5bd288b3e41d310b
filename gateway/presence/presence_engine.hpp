// PresenceEngine: fedgw-gateway's presence subscriptions between XMPP users on partner domains
// and SIP users of the domains the gateway fronts (RFC 7248 §4-§6, RFC 6665, RFC 3856), with
// their state kept in SQLite so a gateway restart keeps them.
//
// The engine owns, per pair (XMPP bare JID U, SIP address-of-record S):
//   - the outbound SIP subscription (U watches S): SUBSCRIBE dialog to S through the SIP
//     platform, refreshed at a fraction of what the server granted, re-established on 481;
//   - the inbound SIP subscription (S watches U): S's SUBSCRIBE dialog to the gateway, NOTIFYs
//     carrying U's last presence as PIDF;
//   - the PairState of gateway/translate/subscription_map.hpp and the last presence each way.
// The decisions are subscription_map's and presence_map's (pure); the engine applies them:
// builds and sends SIP requests through the SipStack, answers SIP requests, sends XMPP
// stanzas through the callback, arms timers, and writes every state change to the store
// before acting on it.
//
// The GatewayServer does the checks common to every stanza and request before calling in:
// link facts (authenticated partner domain), per-user XMPP access, SIP source trust and the
// From-domain rule, address mapping validity. The engine sees only presence stanzas and
// SUBSCRIBE / NOTIFY requests (Event: presence) it is meant to handle.
//
// Loop-bound (libuv timers, SipStack, SQLite).
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/result.hpp"
#include "common/registry/partner.hpp"
#include "common/xml/element.hpp"
#include "gateway/sip/sip_message.hpp"
#include "gateway/sip/sip_stack.hpp"
#include "gateway/sip/transport.hpp"
#include "gateway/translate/subscription_map.hpp"

namespace fedgw::gateway {

struct PresenceOptions {
    std::string registry_path;               // SQLite file holding the subscriptions table
    std::vector<std::string> sip_domains;    // the domains the gateway fronts
    SipTransportAddr next_hop;               // where SUBSCRIBE and NOTIFY go (the SIP platform)
    std::uint32_t requested_expires = 28800; // registry setting sip_subscription_refresh_s
    double refresh_fraction = 0.5;           // [gateway.timers] refresh_fraction
    std::uint32_t max_watcher_expires = 3600;
    std::uint32_t retry_base_s = 30;         // back-off after a transient SIP failure
    std::uint32_t retry_max_s = 1800;
    std::size_t max_pairs = 100000;          // pairs kept; beyond it new ones are refused
};

// What the engine needs from the rest of the gateway.
struct PresenceHooks {
    // Sends one stanza (from and to set; from is a SIP user's JID) toward the proxy. The
    // gateway bounces or queues as it does for every stanza; the engine does not retry.
    std::function<void(std::unique_ptr<Element> stanza)> send_xmpp;
    // Whether XMPP user `bare_jid` may watch SIP user `sip_aor` ("user@domain") without the
    // SIP user's approval, per the partner type and the contact list (DESIGN.md).
    std::function<WatcherAuthorization(const std::string& sip_aor, const std::string& bare_jid,
                                       registry::PartnerType type)>
        authorize;
};

struct PresenceError {
    std::string text;  // "cannot open registry /var/lib/fedgw/registry.sqlite: ..."
};

// One row of `fedgwctl diag`.
struct SubscriptionSummary {
    std::string xmpp;           // U, bare JID
    std::string sip;            // S, "sip:user@domain"
    std::string outbound;       // "none" | "subscribing" | "pending" | "active" | "ending"
    std::string inbound;        // "none" | "pending" | "approved"
    bool inbound_dialog = false;
    std::int64_t outbound_expires_in_s = -1;  // -1: no live outbound dialog
};

class PresenceEngine {
  public:
    // Opens (creating/migrating) the store and restores every pair: live outbound dialogs are
    // refreshed when their refresh time has passed (or at once after a restart, so the SIP
    // platform sees a refreshing SUBSCRIBE), live inbound dialogs get a NOTIFY with the
    // current state.
    static Result<std::unique_ptr<PresenceEngine>, PresenceError> create(uv_loop_t* loop,
                                                                         sip::SipStack& sip,
                                                                         PresenceOptions options,
                                                                         PresenceHooks hooks);
    ~PresenceEngine();  // close()
    PresenceEngine(const PresenceEngine&) = delete;
    PresenceEngine& operator=(const PresenceEngine&) = delete;

    // A <presence/> from a partner user U (any type: subscribe, unsubscribe, subscribed,
    // unsubscribed, probe, available, unavailable, error) addressed to a SIP user's JID.
    void on_xmpp_presence(const Element& presence, registry::PartnerType partner_type);

    // A SUBSCRIBE or NOTIFY (Event: presence) from the SIP platform. The engine answers the
    // transaction (200, 202, 481, 489, ...).
    void on_sip_request(const sip::SipMessage& request, const sip::ServerTransaction& tx);

    // The proxy link went down and came back: nothing to do for SIP; kept for symmetry.
    void on_link_up();

    std::vector<SubscriptionSummary> summary() const;

    // Stops timers; dialogs stay in the store (a restart resumes them). Idempotent.
    void close();

    struct Impl;

  private:
    explicit PresenceEngine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace fedgw::gateway
