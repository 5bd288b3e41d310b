// fedgwctl's registry commands: partner, blocked, settings and access, over RegistryStore.
// Every refusal of a partner's settings comes from the one validator in common/registry
// (registry::validate, called by the store); this file only turns command-line words into
// the model's values and the model back into tables and JSON.
//
// Edge (tool): reads and writes the SQLite registry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/fedgwctl/ctl_common.hpp"

namespace fedgw::ctl {

// The partner settings given on the command line; unset ones keep their value (set) or the
// model's default (add). Enumerated words are checked by the parser already.
struct PartnerOptions {
    std::string domain;
    std::optional<std::string> type;  // federated | public-verified | public-unverified
    std::optional<std::string> tls;   // required | optional | not-supported
    std::optional<std::string> sasl;  // required | optional | not-supported
    std::optional<bool> dialback;
    std::optional<bool> keepalive;
    std::optional<std::uint32_t> connection_limit;  // 0: the global per-partner limit
    std::optional<std::string> route;               // "" clears it (DNS decides)
    std::optional<std::string> description;
    std::optional<bool> enabled;
    std::vector<std::string> add_domains;
    std::vector<std::string> remove_domains;

    bool changes_anything() const;
};

CtlResult<Exit> partner_add(const GlobalOptions& g, const PartnerOptions& o);
CtlResult<Exit> partner_set(const GlobalOptions& g, const PartnerOptions& o);
CtlResult<Exit> partner_remove(const GlobalOptions& g, const std::string& domain);
CtlResult<Exit> partner_show(const GlobalOptions& g, const std::string& domain);
CtlResult<Exit> partner_list(const GlobalOptions& g);

CtlResult<Exit> blocked_add(const GlobalOptions& g, const std::string& domain,
                            const std::string& reason);
CtlResult<Exit> blocked_remove(const GlobalOptions& g, const std::string& domain);
CtlResult<Exit> blocked_list(const GlobalOptions& g);

// key empty: every setting.
CtlResult<Exit> settings_get(const GlobalOptions& g, const std::string& key, bool show_secret);
CtlResult<Exit> settings_set(const GlobalOptions& g, const std::string& key,
                             const std::string& value);
// The keys settings get/set accept, for --help.
std::string settings_help();

// value: "on", "off" or "default" (clears the user's own value).
CtlResult<Exit> access_set(const GlobalOptions& g, const std::string& sip_user,
                           const std::string& value);
// sip_user empty: the default and every user with a value of their own.
CtlResult<Exit> access_show(const GlobalOptions& g, const std::string& sip_user);

// A domain as the registry stores it: RFC 7622 §3.2 prepared (lower case, Unicode form,
// no trailing dot). Refused (exit 1) when it is not a domain.
CtlResult<std::string> prepare_registry_domain(const std::string& raw);

}  // namespace fedgw::ctl
