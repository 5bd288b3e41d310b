// Text helpers over libosip2's structures; see osip_text.hpp. Pure.
#include "gateway/sip/osip_text.hpp"

#include <osipparser2/osip_port.h>

#include "gateway/sip/header_scan.hpp"

namespace fedgw::gateway::sip::detail {

// Owned C string from libosip2's *_to_str functions.
std::string take(char* s) {
    if (s == nullptr) return {};
    std::string out(s);
    osip_free(s);
    return out;
}

std::string uri_string(const osip_uri_t* uri) {
    if (uri == nullptr) return {};
    char* s = nullptr;
    if (osip_uri_to_str(uri, &s) != 0) return {};
    return take(s);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string param(const osip_list_t* params, const char* name) {
    osip_generic_param_t* p = nullptr;
    osip_generic_param_get_byname(const_cast<osip_list_t*>(params), const_cast<char*>(name), &p);
    return (p != nullptr && p->gvalue != nullptr) ? std::string(p->gvalue) : std::string();
}

bool has_param(const osip_list_t* params, const char* name) {
    osip_generic_param_t* p = nullptr;
    osip_generic_param_get_byname(const_cast<osip_list_t*>(params), const_cast<char*>(name), &p);
    return p != nullptr;
}

std::optional<std::uint32_t> parse_u32(std::string_view v) {
    v = trim(v);
    if (v.empty() || v.size() > 10) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > 0xffffffffULL) return std::nullopt;
    return static_cast<std::uint32_t>(n);
}

std::optional<std::uint16_t> parse_port(const char* s) {
    if (s == nullptr) return std::nullopt;
    const auto n = parse_u32(s);
    if (!n || *n == 0 || *n > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*n);
}

}  // namespace fedgw::gateway::sip::detail
