// The partner registry's model (Lync's XMPP allowed partner, ../shared/DESIGN.md "The partner
// registry"), the one validator of the TLS/SASL/dialback matrix that the CLI and both services
// use, and the admission decision for a remote domain.
//
// Pure: values in, decisions out. Reading and writing the SQLite registry lives in the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"

namespace fedgw::registry {

enum class PartnerType {
    Federated,         // may subscribe without approval, sees status notes
    PublicVerified,    // may subscribe without approval, no status notes
    PublicUnverified,  // the SIP user must have added the contact first, no status notes
};

// A TLS or SASL negotiation setting, as Lync spells it.
enum class Negotiation { Required, Optional, NotSupported };

enum class FederationMode {
    AllowList,  // only partners in the registry are admitted
    Discover,   // any domain not blocked is admitted as a discovered partner
};

std::string_view name(PartnerType t);
std::string_view name(Negotiation n);
std::string_view name(FederationMode m);
std::optional<PartnerType> partner_type_from_name(std::string_view s);
std::optional<Negotiation> negotiation_from_name(std::string_view s);
std::optional<FederationMode> federation_mode_from_name(std::string_view s);

struct Partner {
    std::string domain;
    std::vector<std::string> additional_domains;
    PartnerType type = PartnerType::PublicUnverified;
    Negotiation tls = Negotiation::Required;
    Negotiation sasl = Negotiation::Optional;
    bool dialback = true;
    bool keepalive = true;
    std::uint32_t connection_limit = 0;  // 0: the global per-partner limit applies
    std::string static_route;            // "" (use DNS), "host" or "host:port"
    std::string description;
    bool enabled = true;

    // What the s2s negotiation may do with this partner.
    bool offers_tls() const { return tls != Negotiation::NotSupported; }
    bool requires_tls() const { return tls == Negotiation::Required; }
    bool allows_sasl() const { return sasl != Negotiation::NotSupported && offers_tls(); }
    // SASL "required" means SASL, else nothing: dialback is then never used.
    bool allows_dialback() const { return dialback && sasl != Negotiation::Required; }
    bool covers(std::string_view d) const;

    bool operator==(const Partner&) const = default;
};

// The closed set of reasons a partner's settings are refused.
enum class PolicyErrorKind {
    BadDomain,          // empty, too long, or not a domain name
    SaslWithoutTls,     // SASL required/optional with TLS not-supported: SASL needs TLS
    NoAuthentication,   // no way left to authenticate the partner
    BadStaticRoute,     // static route is not host or host:port with a valid port
    DuplicateDomain,    // an additional domain repeats the primary or another one
};

struct PolicyError {
    PolicyErrorKind kind;
    std::string text;  // names the setting and the fix
    std::string describe() const { return text; }
};

// Checks one partner's settings against the Lync negotiation matrix. On success returns the
// warnings an operator should see (e.g. dialback on but unused because SASL is required).
Result<std::vector<std::string>, PolicyError> validate(const Partner& p);

// Domain names in the registry are stored lower-case without a trailing dot; this checks the
// shape (labels of [a-z0-9-] or UTF-8, 1..63 bytes, total ≤ 253). IDNA preparation of
// user input is the caller's, through common/jid.
bool is_plausible_domain(std::string_view d);

// Global federation settings (Lync's Set-CsXmppGatewayConfiguration), with the defaults.
struct Settings {
    // Field names are the keys of the registry's settings table (schema/001_registry.sql).
    std::uint32_t total_connection_limit = 1000;          // all s2s connections together
    std::uint32_t partner_connection_limit = 20;          // per partner unless it says
    std::uint32_t keepalive_interval_s = 300;             // whitespace keepalive when idle
    std::uint32_t stream_establishment_timeout_s = 60;    // authenticate within this
    std::uint32_t stream_inactivity_timeout_s = 600;      // idle streams close after this
    std::uint32_t stanza_rate_per_s = 50;                 // per partner; a flood ends the stream
    std::uint32_t sip_subscription_refresh_s = 28800;     // SUBSCRIBE lifetime asked for (8 h)
    std::string dialback_secret;                          // generated on first use
    bool log_message_bodies = false;
    FederationMode federation_mode = FederationMode::AllowList;
    bool xmpp_access_default = false;  // per-SIP-user access when unset (Lync: off)

    bool operator==(const Settings&) const = default;
};

}  // namespace fedgw::registry
