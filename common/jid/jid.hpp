// fedgw::Jid: an XMPP address, [localpart@]domainpart[/resourcepart] (RFC 7622).
//
// Pure: no I/O. Splitting follows RFC 7622 §3.1; each part is prepared as jid_prep.hpp
// describes (IDNA2008 for the domainpart, RFC 6122 stringprep instead of PRECIS for the
// localpart and resourcepart: a documented deviation, see there). A Jid only ever holds
// prepared parts, so comparison is plain string equality (§3.1: compare after preparation).
//
//   auto j = Jid::parse("Juliet@Example.COM/Balcony");   // juliet@example.com/Balcony
//   if (!j) return to_stanza_error(j.error());            // modify/jid-malformed
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/base/result.hpp"
#include "common/jid/jid_error.hpp"
#include "common/jid/jid_prep.hpp"

namespace fedgw {

class Jid {
  public:
    // Splits and prepares an address as received (RFC 7622 §3.1):
    //   resourcepart = everything after the first '/';
    //   localpart    = before the first '@' that precedes that '/';
    //   domainpart   = what remains. "@d" and "d/" (a separator with an empty part) fail.
    static Result<Jid, JidFailure> parse(std::string_view s);

    // Builds from separate parts; an empty localpart or resourcepart means "absent".
    static Result<Jid, JidFailure> make(std::string_view localpart, std::string_view domainpart,
                                        std::string_view resourcepart = {});

    const std::string& localpart() const { return local_; }        // "" when absent
    const std::string& domainpart() const { return domain_; }      // Unicode (U-label) form
    const std::string& domain_ascii() const { return ascii_; }     // A-label form, for DNS
    const std::string& resourcepart() const { return resource_; }  // "" when absent

    bool has_localpart() const { return !local_.empty(); }
    bool has_resource() const { return !resource_.empty(); }
    bool is_bare() const { return resource_.empty(); }
    bool is_full() const { return !resource_.empty(); }
    // Only a domainpart: a server or service address.
    bool is_domain() const { return local_.empty() && resource_.empty(); }
    // The domainpart is an IP literal ("[::1]", "192.0.2.1"), not a host name.
    bool is_ip_literal() const { return ip_literal_; }

    // Without the resourcepart.
    Jid bare() const;
    // Only the domainpart.
    Jid domain() const;
    // The same bare JID with another resourcepart (prepared); empty means none.
    Result<Jid, JidFailure> with_resource(std::string_view resourcepart) const;

    // localpart@domainpart/resourcepart with the Unicode domainpart.
    std::string to_string() const;
    // localpart@domainpart.
    std::string bare_string() const;

    // Same localpart and domainpart; resourceparts ignored.
    bool same_bare(const Jid& other) const {
        return local_ == other.local_ && domain_ == other.domain_;
    }
    bool same_domain(const Jid& other) const { return domain_ == other.domain_; }

    // Equality and order on the prepared forms.
    friend bool operator==(const Jid&, const Jid&) = default;
    friend std::strong_ordering operator<=>(const Jid&, const Jid&) = default;

    std::size_t hash() const;

  private:
    Jid(std::string local, PreparedDomain domain, std::string resource);

    // Order matters for operator<=>: by domain, then localpart, then resourcepart.
    std::string domain_;
    std::string local_;
    std::string resource_;
    std::string ascii_;        // derived from domain_
    bool ip_literal_ = false;  // derived from domain_
};

}  // namespace fedgw

template <>
struct std::hash<fedgw::Jid> {
    std::size_t operator()(const fedgw::Jid& j) const noexcept { return j.hash(); }
};
