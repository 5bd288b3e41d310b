// SipMessage's accessors: request and status line, From/To, Call-ID, CSeq, Via, Contact and
// the headers libosip2 keeps as text; see sip_message.hpp. RFC 3261 §20, RFC 6665 §8.2.
// Pure.
#include <osipparser2/osip_parser.h>

#include "gateway/sip/header_scan.hpp"
#include "gateway/sip/osip_text.hpp"
#include "gateway/sip/sip_message.hpp"

namespace fedgw::gateway::sip {
namespace {

using detail::has_param;
using detail::iequals;
using detail::lower;
using detail::param;
using detail::parse_port;
using detail::parse_u32;
using detail::take;
using detail::trim;
using detail::uri_string;

// "\"A \\\"B\\\"\"" -> A "B"
std::string unquote(std::string_view s) {
    s = trim(s);
    if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] == '\\' && i + 2 < s.size()) ++i;
        out += s[i];
    }
    return out;
}

NameAddr name_addr(const osip_from_t* f) {
    NameAddr out;
    if (f == nullptr) return out;
    if (f->displayname != nullptr) out.display_name = unquote(f->displayname);
    out.uri = f->url != nullptr ? uri_string(f->url) : out.display_name;  // Contact: *
    if (f->url == nullptr) out.display_name.clear();
    out.tag = param(&f->gen_params, "tag");
    return out;
}

// Compact header forms (RFC 3261 §7.3.3 and the event-package RFCs) for generic headers.
std::string_view compact_form(std::string_view name) {
    struct Pair {
        std::string_view full, compact;
    };
    static constexpr Pair kPairs[] = {
        {"event", "o"},          {"allow-events", "u"},   {"supported", "k"},
        {"subject", "s"},        {"refer-to", "r"},       {"referred-by", "b"},
        {"accept-contact", "a"}, {"reject-contact", "j"}, {"session-expires", "x"},
    };
    for (const auto& p : kPairs) {
        if (iequals(name, p.full)) return p.compact;
        if (iequals(name, p.compact)) return p.full;
    }
    return {};
}

}  // namespace

bool SipMessage::is_request() const {
    return MSG_IS_REQUEST(msg_);
}

std::string SipMessage::method() const {
    return msg_->sip_method != nullptr ? std::string(msg_->sip_method) : std::string();
}

std::string SipMessage::request_uri() const {
    return uri_string(msg_->req_uri);
}

int SipMessage::status_code() const {
    return msg_->status_code;
}

std::string SipMessage::reason_phrase() const {
    return msg_->reason_phrase != nullptr ? std::string(msg_->reason_phrase) : std::string();
}

NameAddr SipMessage::from() const {
    return name_addr(msg_->from);
}

NameAddr SipMessage::to() const {
    return name_addr(msg_->to);
}

std::string SipMessage::call_id() const {
    if (msg_->call_id == nullptr || msg_->call_id->number == nullptr) return {};
    std::string out(msg_->call_id->number);
    if (msg_->call_id->host != nullptr) {
        out += '@';
        out += msg_->call_id->host;
    }
    return out;
}

CSeq SipMessage::cseq() const {
    CSeq out;
    if (msg_->cseq == nullptr) return out;
    if (msg_->cseq->number != nullptr) out.number = parse_u32(msg_->cseq->number).value_or(0);
    if (msg_->cseq->method != nullptr) out.method = msg_->cseq->method;
    return out;
}

std::vector<ViaHeader> SipMessage::vias() const {
    std::vector<ViaHeader> out;
    for (int i = 0; !osip_list_eol(&msg_->vias, i); ++i) {
        const auto* v = static_cast<const osip_via_t*>(osip_list_get(&msg_->vias, i));
        ViaHeader h;
        if (v->protocol != nullptr) h.transport = v->protocol;
        if (v->host != nullptr) h.host = v->host;
        h.port = parse_port(v->port);
        h.branch = param(&v->via_params, "branch");
        if (has_param(&v->via_params, "received")) {
            h.received = param(&v->via_params, "received");
        }
        h.rport = has_param(&v->via_params, "rport");
        if (h.rport) {
            const std::string value = param(&v->via_params, "rport");
            h.rport_value = parse_port(value.empty() ? nullptr : value.c_str());
        }
        out.push_back(std::move(h));
    }
    return out;
}

std::optional<ViaHeader> SipMessage::top_via() const {
    auto all = vias();
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
}

std::vector<NameAddr> SipMessage::contacts() const {
    std::vector<NameAddr> out;
    for (int i = 0; !osip_list_eol(&msg_->contacts, i); ++i) {
        out.push_back(
            name_addr(static_cast<const osip_from_t*>(osip_list_get(&msg_->contacts, i))));
    }
    return out;
}

std::vector<std::string> SipMessage::headers(std::string_view name) const {
    std::vector<std::string> out;
    const std::string_view alias = compact_form(name);
    for (int i = 0; !osip_list_eol(&msg_->headers, i); ++i) {
        const auto* h = static_cast<const osip_header_t*>(osip_list_get(&msg_->headers, i));
        if (h->hname == nullptr) continue;
        if (iequals(h->hname, name) || (!alias.empty() && iequals(h->hname, alias))) {
            out.emplace_back(h->hvalue != nullptr ? h->hvalue : "");
        }
    }
    return out;
}

std::optional<std::string> SipMessage::header(std::string_view name) const {
    auto all = headers(name);
    if (all.empty()) return std::nullopt;
    return std::move(all.front());
}

std::optional<std::uint32_t> SipMessage::expires() const {
    const auto v = header("expires");
    return v ? parse_u32(*v) : std::nullopt;
}

std::optional<std::uint32_t> SipMessage::min_expires() const {
    const auto v = header("min-expires");
    return v ? parse_u32(*v) : std::nullopt;
}

std::optional<std::uint32_t> SipMessage::retry_after() const {
    const auto v = header("retry-after");
    if (!v) return std::nullopt;
    const std::string_view s(*v);
    return parse_u32(s.substr(0, s.find_first_of("(; \t")));
}

std::optional<std::uint32_t> SipMessage::max_forwards() const {
    const auto v = header("max-forwards");
    return v ? parse_u32(*v) : std::nullopt;
}

std::optional<std::string> SipMessage::event() const {
    const auto v = header("event");
    if (!v) return std::nullopt;
    const std::string_view s(*v);
    const std::string_view package = trim(s.substr(0, s.find(';')));
    if (package.empty()) return std::nullopt;
    return lower(package);
}

std::optional<SubscriptionState> SipMessage::subscription_state() const {
    const auto v = header("subscription-state");
    if (!v) return std::nullopt;
    std::string_view rest(*v);
    SubscriptionState out;
    std::size_t semi = rest.find(';');
    out.state = lower(trim(rest.substr(0, semi)));
    if (out.state.empty()) return std::nullopt;
    while (semi != std::string_view::npos) {
        rest.remove_prefix(semi + 1);
        semi = rest.find(';');
        const std::string_view p = rest.substr(0, semi);
        const std::size_t eq = p.find('=');
        const std::string name = lower(trim(p.substr(0, eq)));
        const std::string_view value = eq == std::string_view::npos ? "" : trim(p.substr(eq + 1));
        if (name == "expires") out.expires = parse_u32(value);
        if (name == "retry-after") out.retry_after = parse_u32(value);
        if (name == "reason") out.reason = lower(value);
    }
    return out;
}

std::string SipMessage::content_type() const {
    if (msg_->content_type == nullptr) return {};
    char* s = nullptr;
    if (osip_content_type_to_str(msg_->content_type, &s) != 0) return {};
    return take(s);
}

std::string SipMessage::media_type() const {
    const osip_content_type_t* ct = msg_->content_type;
    if (ct == nullptr || ct->type == nullptr || ct->subtype == nullptr) return {};
    return lower(std::string(ct->type) + "/" + ct->subtype);
}

std::string SipMessage::body() const {
    std::string out;
    for (int i = 0; !osip_list_eol(&msg_->bodies, i); ++i) {
        const auto* b = static_cast<const osip_body_t*>(osip_list_get(&msg_->bodies, i));
        if (b->body != nullptr) out.append(b->body, b->length);
    }
    return out;
}

}  // namespace fedgw::gateway::sip
