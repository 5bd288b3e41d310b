// fedgw::Jid: splitting (RFC 7622 §3.1), assembly and comparison of XMPP addresses.
//
// Pure: no I/O.
#include "common/jid/jid.hpp"

#include <utility>

namespace fedgw {

Jid::Jid(std::string local, PreparedDomain domain, std::string resource)
    : domain_(std::move(domain.unicode)),
      local_(std::move(local)),
      resource_(std::move(resource)),
      ascii_(std::move(domain.ascii)),
      ip_literal_(domain.ip_literal) {}

Result<Jid, JidFailure> Jid::parse(std::string_view s) {
    if (s.empty()) return Unexpected(JidFailure{JidError::Empty, {}});
    std::string_view head = s;
    std::string_view resource;
    bool has_resource = false;
    if (const auto slash = s.find('/'); slash != std::string_view::npos) {
        head = s.substr(0, slash);
        resource = s.substr(slash + 1);
        has_resource = true;
    }
    std::string_view local;
    bool has_local = false;
    std::string_view domain = head;
    if (const auto at = head.find('@'); at != std::string_view::npos) {
        local = head.substr(0, at);
        domain = head.substr(at + 1);
        has_local = true;
    }
    // An empty part after its separator is refused, never read as "absent" (§3.3, §3.4).
    if (has_local && local.empty())
        return Unexpected(JidFailure{JidError::EmptyLocalpart, "nothing before '@'"});
    if (has_resource && resource.empty())
        return Unexpected(JidFailure{JidError::EmptyResource, "nothing after '/'"});
    return make(local, domain, resource);
}

Result<Jid, JidFailure> Jid::make(std::string_view localpart, std::string_view domainpart,
                                  std::string_view resourcepart) {
    std::string local;
    if (!localpart.empty()) {
        auto l = prepare_localpart(localpart);
        if (!l) return Unexpected(std::move(l).error());
        local = std::move(*l);
    }
    auto d = prepare_domain_forms(domainpart);
    if (!d) return Unexpected(std::move(d).error());
    std::string resource;
    if (!resourcepart.empty()) {
        auto r = prepare_resourcepart(resourcepart);
        if (!r) return Unexpected(std::move(r).error());
        resource = std::move(*r);
    }
    return Jid(std::move(local), std::move(*d), std::move(resource));
}

Jid Jid::bare() const {
    Jid j = *this;
    j.resource_.clear();
    return j;
}

Jid Jid::domain() const {
    Jid j = *this;
    j.local_.clear();
    j.resource_.clear();
    return j;
}

Result<Jid, JidFailure> Jid::with_resource(std::string_view resourcepart) const {
    Jid j = bare();
    if (resourcepart.empty()) return j;
    auto r = prepare_resourcepart(resourcepart);
    if (!r) return Unexpected(std::move(r).error());
    j.resource_ = std::move(*r);
    return j;
}

std::string Jid::bare_string() const {
    std::string out;
    out.reserve(local_.size() + 1 + domain_.size());
    if (!local_.empty()) {
        out += local_;
        out += '@';
    }
    out += domain_;
    return out;
}

std::string Jid::to_string() const {
    std::string out = bare_string();
    if (!resource_.empty()) {
        out += '/';
        out += resource_;
    }
    return out;
}

std::size_t Jid::hash() const {
    // The derived members follow from domain_, so equal Jids hash equal.
    std::size_t h = std::hash<std::string>{}(domain_);
    auto mix = [&h](const std::string& s) {
        h ^= std::hash<std::string>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    };
    mix(local_);
    mix(resource_);
    return h;
}

}  // namespace fedgw
