#include "common/registry/partner.hpp"

#include <algorithm>
#include <charconv>

namespace fedgw::registry {

std::string_view name(PartnerType t) {
    switch (t) {
        case PartnerType::Federated: return "federated";
        case PartnerType::PublicVerified: return "public-verified";
        case PartnerType::PublicUnverified: return "public-unverified";
    }
    return "public-unverified";
}

std::string_view name(Negotiation n) {
    switch (n) {
        case Negotiation::Required: return "required";
        case Negotiation::Optional: return "optional";
        case Negotiation::NotSupported: return "not-supported";
    }
    return "required";
}

std::string_view name(FederationMode m) {
    return m == FederationMode::AllowList ? "allow-list" : "discover";
}

std::optional<PartnerType> partner_type_from_name(std::string_view s) {
    for (auto t : {PartnerType::Federated, PartnerType::PublicVerified, PartnerType::PublicUnverified})
        if (name(t) == s) return t;
    return std::nullopt;
}

std::optional<Negotiation> negotiation_from_name(std::string_view s) {
    for (auto n : {Negotiation::Required, Negotiation::Optional, Negotiation::NotSupported})
        if (name(n) == s) return n;
    return std::nullopt;
}

std::optional<FederationMode> federation_mode_from_name(std::string_view s) {
    for (auto m : {FederationMode::AllowList, FederationMode::Discover})
        if (name(m) == s) return m;
    return std::nullopt;
}

bool Partner::covers(std::string_view d) const {
    if (d == domain) return true;
    return std::find(additional_domains.begin(), additional_domains.end(), d) !=
           additional_domains.end();
}

bool is_plausible_domain(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    size_t label = 0;
    for (size_t i = 0; i <= d.size(); ++i) {
        if (i == d.size() || d[i] == '.') {
            if (label == 0 || label > 63) return false;
            label = 0;
            continue;
        }
        auto c = static_cast<unsigned char>(d[i]);
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c >= 0x80;  // UTF-8 of an internationalised label
        if (!ok) return false;
        ++label;
    }
    return true;
}

namespace {

Unexpected<PolicyError> refuse(PolicyErrorKind k, std::string text) {
    return Unexpected(PolicyError{k, std::move(text)});
}

bool valid_route(std::string_view r) {
    std::string_view host = r;
    if (!r.empty() && r.front() == '[') {  // [v6]:port or [v6]
        auto close = r.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        std::string_view rest = r.substr(close + 1);
        if (rest.empty()) return true;
        if (rest.front() != ':') return false;
        host = {};
        r = rest;
    } else if (auto colon = r.rfind(':'); colon != std::string_view::npos) {
        host = r.substr(0, colon);
        r = r.substr(colon);
    } else {
        return is_plausible_domain(r) || r.find_first_not_of("0123456789.") == std::string_view::npos;
    }
    if (!host.empty() && !is_plausible_domain(host) &&
        host.find_first_not_of("0123456789.") != std::string_view::npos)
        return false;
    std::string_view port = r.substr(1);
    unsigned n = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    return ec == std::errc() && p == port.data() + port.size() && n >= 1 && n <= 65535;
}

}  // namespace

Result<std::vector<std::string>, PolicyError> validate(const Partner& p) {
    if (!is_plausible_domain(p.domain))
        return refuse(PolicyErrorKind::BadDomain,
                      "'" + p.domain + "' is not a domain name (lower-case labels, no trailing dot)");
    for (size_t i = 0; i < p.additional_domains.size(); ++i) {
        const auto& d = p.additional_domains[i];
        if (!is_plausible_domain(d))
            return refuse(PolicyErrorKind::BadDomain,
                          "additional domain '" + d + "' is not a domain name");
        if (d == p.domain ||
            std::find(p.additional_domains.begin(), p.additional_domains.begin() + i, d) !=
                p.additional_domains.begin() + i)
            return refuse(PolicyErrorKind::DuplicateDomain,
                          "additional domain '" + d + "' is listed twice");
    }
    if (p.tls == Negotiation::NotSupported && p.sasl != Negotiation::NotSupported)
        return refuse(PolicyErrorKind::SaslWithoutTls,
                      "SASL " + std::string(name(p.sasl)) +
                          " needs TLS, but TLS is not-supported: set --sasl not-supported or "
                          "allow TLS");
    if (p.tls == Negotiation::NotSupported && !p.dialback)
        return refuse(PolicyErrorKind::NoAuthentication,
                      "TLS not-supported with dialback off leaves no way to authenticate the "
                      "partner: turn dialback on or allow TLS with SASL");
    if (p.sasl == Negotiation::NotSupported && !p.dialback)
        return refuse(PolicyErrorKind::NoAuthentication,
                      "SASL not-supported with dialback off leaves nothing to authenticate "
                      "with: turn dialback on or allow SASL");
    if (!p.static_route.empty() && !valid_route(p.static_route))
        return refuse(PolicyErrorKind::BadStaticRoute,
                      "static route '" + p.static_route + "' is not host or host:port (1-65535)");

    std::vector<std::string> warnings;
    if (p.sasl == Negotiation::Required && p.dialback)
        warnings.push_back(
            "SASL required means SASL, else nothing: dialback stays unused for this partner");
    if (p.sasl == Negotiation::Required && p.tls == Negotiation::Optional)
        warnings.push_back("SASL required makes TLS effectively required for this partner");
    if (p.tls != Negotiation::Required)
        warnings.push_back("TLS is not required: stanzas with this partner may travel in clear");
    return warnings;
}

}  // namespace fedgw::registry
