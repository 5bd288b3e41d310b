// Via handling; see routing.hpp. RFC 3261 §18.1.1, §18.2.1, §18.2.2, RFC 3581 §4. Pure.
#include "gateway/sip/routing.hpp"

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "gateway/sip/trust.hpp"

namespace fedgw::gateway::sip {
namespace {

constexpr std::string_view kMagicCookie = "z9hG4bK";

osip_via_t* top_via_of(SipMessage& m) {
    return static_cast<osip_via_t*>(osip_list_get(&m.native()->vias, 0));
}

// Sets (or replaces) a Via parameter; the strings are copied.
void set_param(osip_via_t* via, const char* name, const std::string& value) {
    osip_generic_param_t* p = nullptr;
    osip_via_param_get_byname(via, const_cast<char*>(name), &p);
    if (p != nullptr) {
        osip_free(p->gvalue);
        p->gvalue = osip_strdup(value.c_str());
        return;
    }
    osip_via_param_add(via, osip_strdup(name), osip_strdup(value.c_str()));
}

}  // namespace

std::uint16_t default_port(SipTransport t) {
    return t == SipTransport::Tls ? 5061 : 5060;
}

Result<std::string, SipError> set_top_via(SipMessage& request, const ViaSpec& spec,
                                          const RandomSource& random) {
    if (!request.is_request()) {
        return Unexpected(SipError{SipErrorCode::InvalidArgument, "only requests get our Via"});
    }
    std::string branch = spec.branch;
    if (osip_via_t* old = top_via_of(request)) {
        osip_generic_param_t* b = nullptr;
        osip_via_param_get_byname(old, const_cast<char*>("branch"), &b);
        if (branch.empty() && b != nullptr && b->gvalue != nullptr &&
            std::string_view(b->gvalue).substr(0, kMagicCookie.size()) == kMagicCookie &&
            is_token(b->gvalue)) {
            branch = b->gvalue;
        }
        osip_list_remove(&request.native()->vias, 0);
        osip_via_free(old);
    }
    if (branch.empty()) branch = make_branch(random);
    if (!is_token(branch) || spec.host.empty() || !is_safe_header_value(spec.host) ||
        spec.host.find_first_of(" \t;,") != std::string::npos) {
        return Unexpected(SipError{SipErrorCode::InvalidArgument, "bad Via host or branch"});
    }
    std::string text = "SIP/2.0/" +
                       std::string(spec.transport == SipTransport::Udp   ? "UDP"
                                   : spec.transport == SipTransport::Tcp ? "TCP"
                                                                         : "TLS") +
                       " " + host_port_text(spec.host, spec.port) + ";branch=" + branch;
    if (spec.rport && spec.transport == SipTransport::Udp) text += ";rport";
    osip_via_t* via = nullptr;
    if (osip_via_init(&via) != 0) {
        return Unexpected(SipError{SipErrorCode::Internal, "out of memory"});
    }
    if (osip_via_parse(via, text.c_str()) != 0) {
        osip_via_free(via);
        return Unexpected(SipError{SipErrorCode::InvalidArgument, "bad Via \"" + text + "\""});
    }
    osip_list_add(&request.native()->vias, via, 0);
    osip_message_force_update(request.native());
    return branch;
}

Result<void, SipError> stamp_received(SipMessage& request, const IpAddress& source,
                                      std::uint16_t source_port) {
    if (!request.is_request()) return {};
    osip_via_t* via = top_via_of(request);
    if (via == nullptr || via->host == nullptr) {
        return Unexpected(SipError{SipErrorCode::MissingHeader, "missing header: Via"});
    }
    const IpAddress src = canonical_address(source);
    const auto sent_by = parse_ip_address(via->host);
    if (!sent_by || !(canonical_address(*sent_by) == src)) {
        set_param(via, "received", src.to_string());
    }
    osip_generic_param_t* rport = nullptr;
    osip_via_param_get_byname(via, const_cast<char*>("rport"), &rport);
    if (rport != nullptr) set_param(via, "rport", std::to_string(source_port));
    osip_message_force_update(request.native());
    return {};
}

ResponseTarget response_target(const ViaHeader& top, SipTransport transport) {
    ResponseTarget t;
    t.host = top.received && !top.received->empty() ? *top.received : top.host;
    if (top.rport_value) {
        t.port = *top.rport_value;
    } else if (top.port) {
        t.port = *top.port;
    } else {
        t.port = default_port(transport);
    }
    return t;
}

}  // namespace fedgw::gateway::sip
