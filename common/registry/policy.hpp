// The federation policy as the services enforce it: partners, blocked domains and global
// settings, with the admission decision for a remote domain, and its JSON form — the
// registry snapshot the gateway sends the proxy over the link (docs/ARCHITECTURE.md).
//
// Pure: an in-memory value; the SQLite store fills it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.hpp"
#include "common/registry/partner.hpp"

namespace fedgw::registry {

struct BlockedDomain {
    std::string domain;
    std::string reason;
    bool operator==(const BlockedDomain&) const = default;
};

// Why a domain was refused: the rule, for the log line and the stream error text.
enum class RefusalRule {
    Blocked,          // the domain is on the blocked list
    NotAllowListed,   // federation mode allow-list and the domain is no partner
    PartnerDisabled,  // the partner exists but is disabled
};
std::string_view name(RefusalRule r);

struct Admission {
    std::optional<Partner> partner;     // set when admitted (a registry or discovered partner)
    bool discovered = false;            // admitted by federation mode "discover"
    std::optional<RefusalRule> refusal; // set when refused
    std::string detail;                 // e.g. the block reason

    bool admitted() const { return partner.has_value(); }
};

struct Policy {
    std::vector<Partner> partners;
    std::vector<BlockedDomain> blocked;
    Settings settings;
    std::uint64_t version = 0;  // the registry's change counter when the snapshot was taken

    // The partner whose domain or additional domain is d, if any (enabled or not).
    const Partner* find_partner(std::string_view d) const;
    const BlockedDomain* find_blocked(std::string_view d) const;
    // Decides whether a remote domain may federate with us, and on which terms.
    Admission admit(std::string_view domain) const;

    bool operator==(const Policy&) const = default;
};

// The settings a discovered partner gets (DESIGN: public-unverified, TLS required, SASL
// optional, dialback on).
Partner discovered_partner(std::string_view domain);

std::string to_json(const Policy& p);
Result<Policy, std::string> policy_from_json(std::string_view json);

}  // namespace fedgw::registry
