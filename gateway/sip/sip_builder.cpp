// Request and response builders; see sip_builder.hpp. RFC 3261 §8.1.1 (request headers),
// §8.2.6 (responses), §19.3 (tags), §20; RFC 3428 §4; RFC 6665 §4.1.2, §4.2.2, §8.2.3. Pure.
#include "gateway/sip/sip_builder.hpp"

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include "gateway/sip/header_scan.hpp"

namespace fedgw::gateway::sip {
namespace {

SipError invalid(std::string text) {
    return SipError{SipErrorCode::InvalidArgument, std::move(text)};
}
SipError internal(std::string text) {
    return SipError{SipErrorCode::Internal, std::move(text)};
}

// A URI we can put between angle brackets: it parses, and has no CR/LF/NUL, spaces or '>'.
Result<void, SipError> check_uri(std::string_view uri, std::string_view what) {
    if (uri.empty()) return Unexpected(invalid(std::string(what) + " URI is empty"));
    if (!is_safe_header_value(uri) || uri.find_first_of(" \t<>\"") != std::string_view::npos) {
        return Unexpected(invalid(std::string(what) + " URI \"" + std::string(uri.substr(0, 64)) +
                                  "\" has forbidden characters"));
    }
    osip_uri_t* parsed = nullptr;
    if (osip_uri_init(&parsed) != 0) return Unexpected(internal("out of memory"));
    const std::string text(uri);
    const int rc = osip_uri_parse(parsed, text.c_str());
    osip_uri_free(parsed);
    if (rc != 0) {
        return Unexpected(
            invalid(std::string(what) + " URI \"" + text.substr(0, 64) + "\" does not parse"));
    }
    return {};
}

// "\"Display\" <uri>;tag=x", the display name quoted with \" and \\ escaped (§25.1).
Result<std::string, SipError> name_addr_text(const NameAddr& a, std::string_view what) {
    if (auto ok = check_uri(a.uri, what); !ok) return Unexpected(std::move(ok.error()));
    if (!is_safe_header_value(a.display_name)) {
        return Unexpected(invalid(std::string(what) + " display name contains CR, LF or NUL"));
    }
    if (!a.tag.empty() && !is_token(a.tag)) {
        return Unexpected(invalid(std::string(what) + " tag is not a token"));
    }
    std::string out;
    if (!a.display_name.empty()) {
        out += '"';
        for (char c : a.display_name) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += "\" ";
    }
    out += '<';
    out += a.uri;
    out += '>';
    if (!a.tag.empty()) {
        out += ";tag=";
        out += a.tag;
    }
    return out;
}

// Call-ID: word ["@" word] (§25.1); we accept any visible ASCII but no spaces.
bool is_call_id(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c <= ' ' || c >= 0x7f) return false;
    }
    return true;
}

std::string_view transport_token(SipTransport t) {
    switch (t) {
        case SipTransport::Udp:
            return "UDP";
        case SipTransport::Tcp:
            return "TCP";
        case SipTransport::Tls:
            return "TLS";
    }
    return "UDP";
}

int clone_via(void* src, void** dst) {
    return osip_via_clone(static_cast<const osip_via_t*>(src), reinterpret_cast<osip_via_t**>(dst));
}

int clone_record_route(void* src, void** dst) {
    return osip_record_route_clone(static_cast<const osip_record_route_t*>(src),
                                   reinterpret_cast<osip_record_route_t**>(dst));
}

// RFC 3261 §12.1.1: a UAS answering a dialog-creating request with a 101-299 response copies
// every Record-Route value of the request into it, in order, so the UAC learns the route set
// (RFC 6665 §4.2.1.1 for SUBSCRIBE). Copying them into an in-dialog answer is harmless: the
// UAC fixed its route set when the dialog was created.
bool creates_dialog(std::string_view method) {
    return method == "SUBSCRIBE" || method == "INVITE" || method == "REFER";
}

Result<void, SipError> add_headers(SipMessage& m, const std::vector<Header>& headers) {
    for (const auto& h : headers) {
        if (auto ok = m.add_header(h.name, h.value); !ok) return ok;
    }
    return {};
}

Result<SipMessage, SipError> new_message() {
    ensure_osip_initialised();
    osip_message_t* raw = nullptr;
    if (osip_message_init(&raw) != 0) return Unexpected(internal("out of memory"));
    return SipMessage::adopt(raw);
}

}  // namespace

std::string random_hex(const RandomSource& random, std::size_t chars) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    while (out.size() < chars && out.size() < 32) {
        std::uint64_t v = random();
        for (int i = 0; i < 16 && out.size() < chars; ++i) {
            out += kHex[v & 0xf];
            v >>= 4;
        }
    }
    return out;
}

std::string make_branch(const RandomSource& random) {
    return "z9hG4bK" + random_hex(random, 16);
}

std::string make_tag(const RandomSource& random) {
    return random_hex(random, 16);
}

std::string make_call_id(const RandomSource& random, std::string_view host) {
    std::string out = random_hex(random, 32);
    if (!host.empty()) {
        out += '@';
        out += host;
    }
    return out;
}

std::string host_port_text(std::string_view host, std::uint16_t port) {
    std::string out;
    if (host.find(':') != std::string_view::npos) {
        out = "[" + std::string(host) + "]";
    } else {
        out = std::string(host);
    }
    if (port != 0) out += ":" + std::to_string(port);
    return out;
}

Result<SipMessage, SipError> build_request(const RequestSpec& spec, const RandomSource& random) {
    if (!is_token(spec.method)) return Unexpected(invalid("method is not a token"));
    if (spec.cseq > 0x7fffffffU) return Unexpected(invalid("CSeq must be below 2**31"));
    auto made = new_message();
    if (!made) return made;
    SipMessage m = std::move(*made);
    osip_message_t* raw = m.native();

    const std::string& ruri = spec.request_uri.empty() ? spec.to.uri : spec.request_uri;
    if (auto ok = check_uri(ruri, "Request-URI"); !ok) return Unexpected(std::move(ok.error()));
    osip_uri_t* uri = nullptr;
    if (osip_uri_init(&uri) != 0) return Unexpected(internal("out of memory"));
    if (osip_uri_parse(uri, ruri.c_str()) != 0) {
        osip_uri_free(uri);
        return Unexpected(invalid("Request-URI does not parse"));
    }
    osip_message_set_uri(raw, uri);
    osip_message_set_method(raw, osip_strdup(spec.method.c_str()));
    osip_message_set_version(raw, osip_strdup("SIP/2.0"));

    if (spec.via) {
        const ViaSpec& v = *spec.via;
        if (v.host.empty() || !is_safe_header_value(v.host) ||
            v.host.find_first_of(" \t;,") != std::string::npos) {
            return Unexpected(invalid("bad Via host"));
        }
        std::string via = "SIP/2.0/" + std::string(transport_token(v.transport)) + " " +
                          host_port_text(v.host, v.port) +
                          ";branch=" + (v.branch.empty() ? make_branch(random) : v.branch);
        if (v.rport && v.transport == SipTransport::Udp) via += ";rport";
        if (osip_message_set_via(raw, via.c_str()) != 0) {
            return Unexpected(invalid("bad Via \"" + via + "\""));
        }
    }

    NameAddr from = spec.from;
    if (from.tag.empty()) from.tag = make_tag(random);
    auto from_text = name_addr_text(from, "From");
    if (!from_text) return Unexpected(std::move(from_text.error()));
    if (osip_message_set_from(raw, from_text->c_str()) != 0) {
        return Unexpected(invalid("From does not parse"));
    }
    auto to_text = name_addr_text(spec.to, "To");
    if (!to_text) return Unexpected(std::move(to_text.error()));
    if (osip_message_set_to(raw, to_text->c_str()) != 0) {
        return Unexpected(invalid("To does not parse"));
    }

    const std::string call_id =
        spec.call_id.empty() ? make_call_id(random, spec.call_id_host) : spec.call_id;
    if (!is_call_id(call_id) || osip_message_set_call_id(raw, call_id.c_str()) != 0) {
        return Unexpected(invalid("bad Call-ID \"" + call_id.substr(0, 64) + "\""));
    }
    const std::string cseq = std::to_string(spec.cseq) + " " + spec.method;
    if (osip_message_set_cseq(raw, cseq.c_str()) != 0) return Unexpected(invalid("bad CSeq"));

    for (const auto& r : spec.route) {
        if (auto ok = check_uri(r, "Route"); !ok) return Unexpected(std::move(ok.error()));
        const std::string text = "<" + r + ">";
        if (osip_message_set_route(raw, text.c_str()) != 0) {
            return Unexpected(invalid("Route does not parse"));
        }
    }
    if (!spec.contact.empty()) {
        if (auto ok = check_uri(spec.contact, "Contact"); !ok) {
            return Unexpected(std::move(ok.error()));
        }
        const std::string text = "<" + spec.contact + ">";
        if (osip_message_set_contact(raw, text.c_str()) != 0) {
            return Unexpected(invalid("Contact does not parse"));
        }
    }
    if (auto ok = m.add_header("Max-Forwards", std::to_string(spec.max_forwards)); !ok) {
        return Unexpected(std::move(ok.error()));
    }
    if (auto ok = add_headers(m, spec.headers); !ok) return Unexpected(std::move(ok.error()));
    if (auto ok = m.set_body(spec.content_type, spec.body); !ok) {
        return Unexpected(std::move(ok.error()));
    }
    return m;
}

Result<SipMessage, SipError> build_message(RequestSpec spec, std::string_view content_type,
                                           std::string_view body, const RandomSource& random) {
    if (body.empty()) return Unexpected(invalid("a MESSAGE needs a body (RFC 3428)"));
    spec.method = "MESSAGE";
    spec.content_type = std::string(content_type);
    spec.body = std::string(body);
    return build_request(spec, random);
}

Result<SipMessage, SipError> build_subscribe(RequestSpec spec, std::string_view event,
                                             std::uint32_t expires, const RandomSource& random) {
    if (!is_token(event)) return Unexpected(invalid("the event package is not a token"));
    if (spec.contact.empty()) return Unexpected(invalid("a SUBSCRIBE needs a Contact"));
    spec.method = "SUBSCRIBE";
    spec.headers.insert(spec.headers.begin(), {Header{"Event", std::string(event)},
                                               Header{"Expires", std::to_string(expires)}});
    return build_request(spec, random);
}

Result<SipMessage, SipError> build_notify(RequestSpec spec, std::string_view event,
                                          const SubscriptionState& state,
                                          std::string_view content_type, std::string_view body,
                                          const RandomSource& random) {
    if (!is_token(event)) return Unexpected(invalid("the event package is not a token"));
    if (!is_token(state.state)) return Unexpected(invalid("the subscription state is not a token"));
    if (!state.reason.empty() && !is_token(state.reason)) {
        return Unexpected(invalid("the subscription reason is not a token"));
    }
    if (spec.from.tag.empty() || spec.to.tag.empty()) {
        return Unexpected(invalid("a NOTIFY is sent inside a dialog: both tags are needed"));
    }
    if (spec.contact.empty()) return Unexpected(invalid("a NOTIFY needs a Contact"));
    spec.method = "NOTIFY";
    spec.headers.insert(spec.headers.begin(),
                        {Header{"Event", std::string(event)},
                         Header{"Subscription-State", format_subscription_state(state)}});
    spec.content_type = std::string(content_type);
    spec.body = std::string(body);
    return build_request(spec, random);
}

Result<SipMessage, SipError> build_options(RequestSpec spec, const RandomSource& random) {
    spec.method = "OPTIONS";
    return build_request(spec, random);
}

std::string format_subscription_state(const SubscriptionState& state) {
    std::string out = state.state;
    if (!state.reason.empty()) out += ";reason=" + state.reason;
    if (state.expires) out += ";expires=" + std::to_string(*state.expires);
    if (state.retry_after) out += ";retry-after=" + std::to_string(*state.retry_after);
    return out;
}

std::string_view reason_phrase(int status) {
    const char* r = osip_message_get_reason(status);
    if (r == nullptr || r[0] == '\0') return "Unknown";
    return r;
}

Result<SipMessage, SipError> build_response(const SipMessage& request, int status,
                                            std::string_view reason, const ResponseSpec& spec,
                                            const RandomSource& random) {
    if (!request.is_request()) return Unexpected(invalid("only a request can be answered"));
    if (request.method() == "ACK") return Unexpected(invalid("an ACK is never answered"));
    if (status < 100 || status > 699) {
        return Unexpected(invalid("status " + std::to_string(status) + " is outside 100-699"));
    }
    if (!is_safe_header_value(reason)) return Unexpected(invalid("reason contains CR, LF or NUL"));
    const osip_message_t* req = request.native();
    if (req->from == nullptr || req->to == nullptr || req->call_id == nullptr ||
        req->cseq == nullptr || osip_list_eol(&req->vias, 0)) {
        return Unexpected(SipError{SipErrorCode::MissingHeader,
                                   "the request lacks Via, From, To, Call-ID or CSeq"});
    }
    auto made = new_message();
    if (!made) return made;
    SipMessage m = std::move(*made);
    osip_message_t* raw = m.native();

    osip_message_set_version(raw, osip_strdup("SIP/2.0"));
    osip_message_set_status_code(raw, status);
    const std::string phrase(reason.empty() ? reason_phrase(status) : reason);
    osip_message_set_reason_phrase(raw, osip_strdup(phrase.c_str()));

    if (osip_list_clone(&req->vias, &raw->vias, &clone_via) != 0 ||
        osip_from_clone(req->from, &raw->from) != 0 || osip_to_clone(req->to, &raw->to) != 0 ||
        osip_call_id_clone(req->call_id, &raw->call_id) != 0 ||
        osip_cseq_clone(req->cseq, &raw->cseq) != 0) {
        return Unexpected(internal("cannot copy the request's headers"));
    }
    if (status > 100 && status < 300 && creates_dialog(request.method()) &&
        osip_list_clone(&req->record_routes, &raw->record_routes, &clone_record_route) != 0) {
        return Unexpected(internal("cannot copy the request's Record-Route"));
    }
    osip_generic_param_t* tag = nullptr;
    osip_to_get_tag(raw->to, &tag);
    if (tag == nullptr && status != 100) {
        const std::string t = spec.to_tag.empty() ? make_tag(random) : spec.to_tag;
        if (!is_token(t)) return Unexpected(invalid("To tag is not a token"));
        osip_to_set_tag(raw->to, osip_strdup(t.c_str()));
    }
    if (!spec.contact.empty()) {
        if (auto ok = check_uri(spec.contact, "Contact"); !ok) {
            return Unexpected(std::move(ok.error()));
        }
        const std::string text = "<" + spec.contact + ">";
        if (osip_message_set_contact(raw, text.c_str()) != 0) {
            return Unexpected(invalid("Contact does not parse"));
        }
    }
    if (auto ok = add_headers(m, spec.headers); !ok) return Unexpected(std::move(ok.error()));
    if (auto ok = m.set_body(spec.content_type, spec.body); !ok) {
        return Unexpected(std::move(ok.error()));
    }
    return m;
}

}  // namespace fedgw::gateway::sip
