// Internal to gateway/sip: small text helpers over libosip2's structures, shared by the
// message parser and its accessors.
//
// Pure.
#pragma once

#include <osipparser2/osip_parser.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fedgw::gateway::sip::detail {

// An owned C string from libosip2's *_to_str functions, freed.
std::string take(char* s);
// A URI as text; empty for null.
std::string uri_string(const osip_uri_t* uri);
// ASCII lower case.
std::string lower(std::string_view s);
// The value of a generic parameter; empty when absent or valueless.
std::string param(const osip_list_t* params, const char* name);
bool has_param(const osip_list_t* params, const char* name);
// Digits only (after trimming), at most 2**32-1.
std::optional<std::uint32_t> parse_u32(std::string_view v);
// A port 1-65535 from libosip2's text; nullopt for null or anything else.
std::optional<std::uint16_t> parse_port(const char* s);

}  // namespace fedgw::gateway::sip::detail
