// Fuzz target for the per-host configuration (common/config): the whole input as a TOML file
// through parse_config and validate, and as one value through each value parser, checking that
// whatever a parser accepts prints back to text it reads again as the same value.
//
// Pure: no files; load_config and check_files only add file reading around parse_config.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config/address.hpp"
#include "common/config/config.hpp"
#include "common/config/duration.hpp"

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

void values(std::string_view text) {
    if (auto d = fedgw::parse_duration(text)) {
        require(d->ms >= 0 && *d <= fedgw::kMaxDuration);
        auto back = fedgw::parse_duration(fedgw::format_duration(*d));
        require(back && *back == *d);
    }
    if (auto ip = fedgw::parse_ip_address(text)) {
        auto back = fedgw::parse_ip_address(ip->to_string());
        require(back && *back == *ip);
    }
    if (auto hp = fedgw::parse_host_port(text)) {
        require(hp->port != 0);
        auto back = fedgw::parse_host_port(hp->to_string());
        require(back && *back == *hp);
    }
    if (auto sip = fedgw::parse_sip_transport_addr(text)) {
        auto back = fedgw::parse_sip_transport_addr(sip->to_string());
        require(back && *back == *sip);
    }
    if (auto net = fedgw::parse_cidr(text)) {
        require(net->contains(net->network));
        auto back = fedgw::parse_cidr(net->to_string());
        require(back && *back == *net);
    }
    (void)fedgw::parse_domain_name(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (size <= 512) values(text);
    auto config = fedgw::parse_config(text, "fuzz.toml");
    if (!config) {
        require(!config.error().describe().empty());
        return 0;
    }
    for (fedgw::Role role : {fedgw::Role::Proxy, fedgw::Role::Gateway}) {
        auto v = fedgw::validate(*config, role);
        if (!v) require(!v.error().describe().empty());
    }
    return 0;
}
