// SipMessage: parsing, validation, changes and serialisation over osipparser2; see
// sip_message.hpp (the accessors are in sip_message_headers.cpp).
// RFC 3261 §7 (message format), §8.1.1 (mandatory headers), §18.3 (framing), §20 (headers).
// Pure.
#include "gateway/sip/sip_message.hpp"

#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "common/log/log.hpp"
#include "gateway/sip/header_scan.hpp"
#include "gateway/sip/osip_text.hpp"

namespace fedgw::gateway::sip {
namespace {

using detail::iequals;
using detail::parse_u32;
using detail::take;
using detail::trim;

void trace_to_log(const char* file, int line, osip_trace_level_t, const char* format,
                  va_list args) {
    if (!log::enabled(log::Level::Debug)) return;
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    std::string_view t(text);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
        t.remove_suffix(1);
    log::debug("sip.osip_trace", {{"file", file ? file : ""}, {"line", line}, {"text", t}});
}

// Header names the builders and libosip2 handle as structured fields.
bool is_structural(std::string_view name) {
    static constexpr std::string_view kNames[] = {
        "via", "v",     "from",           "f",           "to",           "t", "call-id",
        "i",   "cseq",  "content-length", "l",           "content-type", "c", "contact",
        "m",   "route", "record-route",   "mime-version"};
    for (auto n : kNames) {
        if (iequals(name, n)) return true;
    }
    return false;
}

SipError err(SipErrorCode c, std::string text) {
    return SipError{c, std::move(text)};
}

Result<void, SipError> set_content_length(osip_message_t* m, std::size_t n) {
    if (m->content_length != nullptr) {
        osip_content_length_free(m->content_length);
        m->content_length = nullptr;
    }
    if (osip_message_set_content_length(m, std::to_string(n).c_str()) != 0) {
        return Unexpected(err(SipErrorCode::Internal, "cannot set Content-Length"));
    }
    return {};
}

// §8.1.1 and friends: what every message must carry before we use it.
Result<void, SipError> validate(const osip_message_t* m) {
    if (m->sip_version == nullptr || !iequals(m->sip_version, "SIP/2.0")) {
        return Unexpected(err(
            SipErrorCode::Inconsistent,
            std::string("unsupported version ") + (m->sip_version ? m->sip_version : "(none)")));
    }
    const bool request = MSG_IS_REQUEST(m);
    if (request) {
        if (m->sip_method == nullptr || !is_token(m->sip_method)) {
            return Unexpected(err(SipErrorCode::Unparsable, "bad method in the request line"));
        }
        if (m->req_uri == nullptr) {
            return Unexpected(err(SipErrorCode::Unparsable, "bad Request-URI"));
        }
    } else if (m->status_code < 100 || m->status_code > 699) {
        return Unexpected(
            err(SipErrorCode::Inconsistent,
                "status code " + std::to_string(m->status_code) + " is outside 100-699"));
    }
    const osip_via_t* via = static_cast<const osip_via_t*>(osip_list_get(&m->vias, 0));
    if (via == nullptr || via->host == nullptr || via->protocol == nullptr) {
        return Unexpected(err(SipErrorCode::MissingHeader, "missing header: Via"));
    }
    if (m->from == nullptr || m->from->url == nullptr) {
        return Unexpected(err(SipErrorCode::MissingHeader, "missing header: From"));
    }
    if (m->to == nullptr || m->to->url == nullptr) {
        return Unexpected(err(SipErrorCode::MissingHeader, "missing header: To"));
    }
    if (m->call_id == nullptr || m->call_id->number == nullptr || m->call_id->number[0] == 0) {
        return Unexpected(err(SipErrorCode::MissingHeader, "missing header: Call-ID"));
    }
    if (m->cseq == nullptr || m->cseq->number == nullptr || m->cseq->method == nullptr) {
        return Unexpected(err(SipErrorCode::MissingHeader, "missing header: CSeq"));
    }
    const auto number = parse_u32(m->cseq->number);
    if (!number || *number > 0x7fffffffU) {  // §8.1.1.5: less than 2**31
        return Unexpected(
            err(SipErrorCode::Inconsistent, std::string("bad CSeq number ") + m->cseq->number));
    }
    if (request && std::string_view(m->cseq->method) != m->sip_method) {
        return Unexpected(err(SipErrorCode::Inconsistent,
                              std::string("CSeq method ") + m->cseq->method +
                                  " does not match the request method " + m->sip_method));
    }
    return {};
}

}  // namespace

void ensure_osip_initialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        parser_init();
        // Fatal, bug and error traces only, and only into our debug log: a hostile peer must
        // not be able to fill stderr.
        osip_trace_initialize_func(TRACE_LEVEL3, &trace_to_log);
    });
}

bool is_safe_header_value(std::string_view v) {
    return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::string_view("-.!%*_+`'~").find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

Result<SipMessage, SipError> SipMessage::parse(std::string_view bytes, const SipLimits& limits) {
    ensure_osip_initialised();
    if (bytes.size() > limits.max_message_bytes) {
        return Unexpected(
            err(SipErrorCode::TooLarge, std::to_string(bytes.size()) + " bytes, the limit is " +
                                            std::to_string(limits.max_message_bytes)));
    }
    std::string block;
    auto scan = detail::scan_headers(bytes, limits.max_header_lines, &block);
    if (!scan) return Unexpected(std::move(scan.error()));
    const std::size_t available = bytes.size() - scan->header_end;
    std::size_t body_len = available;  // a datagram without Content-Length: the rest (§18.3)
    if (scan->content_length) {
        if (*scan->content_length > available) {
            return Unexpected(err(SipErrorCode::TruncatedBody,
                                  "Content-Length is " + std::to_string(*scan->content_length) +
                                      " but only " + std::to_string(available) +
                                      " body bytes arrived"));
        }
        body_len = *scan->content_length;  // extra bytes after the body are discarded
    }

    osip_message_t* raw = nullptr;
    if (osip_message_init(&raw) != 0) {
        return Unexpected(err(SipErrorCode::Internal, "out of memory"));
    }
    SipMessage msg(raw);
    if (osip_message_parse(raw, block.data(), block.size()) != 0) {
        return Unexpected(
            err(SipErrorCode::Unparsable, raw->sip_version == nullptr
                                              ? "libosip2 could not parse the start line"
                                              : "libosip2 could not parse a header"));
    }
    if (auto v = validate(raw); !v) return Unexpected(std::move(v.error()));
    if (body_len > 0) {
        if (osip_message_set_body(raw, bytes.data() + scan->header_end, body_len) != 0) {
            return Unexpected(err(SipErrorCode::Internal, "cannot store the body"));
        }
    }
    if (auto v = set_content_length(raw, body_len); !v) return Unexpected(std::move(v.error()));
    return msg;
}

SipMessage SipMessage::adopt(osip_message* m) {
    return SipMessage(m);
}

Result<SipMessage, SipError> SipMessage::copy_of(const osip_message* m) {
    osip_message_t* copy = nullptr;
    if (m == nullptr || osip_message_clone(m, &copy) != 0 || copy == nullptr) {
        return Unexpected(err(SipErrorCode::Internal, "cannot copy the message"));
    }
    return SipMessage(copy);
}

SipMessage::SipMessage(SipMessage&& other) noexcept : msg_(other.msg_) {
    other.msg_ = nullptr;
}

SipMessage& SipMessage::operator=(SipMessage&& other) noexcept {
    if (this != &other) {
        if (msg_ != nullptr) osip_message_free(msg_);
        msg_ = other.msg_;
        other.msg_ = nullptr;
    }
    return *this;
}

SipMessage::~SipMessage() {
    if (msg_ != nullptr) osip_message_free(msg_);
}

Result<SipMessage, SipError> SipMessage::clone() const {
    return copy_of(msg_);
}

osip_message* SipMessage::release() {
    osip_message* m = msg_;
    msg_ = nullptr;
    return m;
}

Result<void, SipError> SipMessage::add_header(std::string_view name, std::string_view value) {
    if (!is_token(name)) {
        return Unexpected(err(SipErrorCode::InvalidArgument,
                              "\"" + std::string(name.substr(0, 64)) + "\" is not a header name"));
    }
    if (is_structural(name)) {
        return Unexpected(err(SipErrorCode::InvalidArgument,
                              std::string(name) + " is set by the builder, not as a header"));
    }
    if (!is_safe_header_value(value)) {
        return Unexpected(err(SipErrorCode::InvalidArgument,
                              "the value of " + std::string(name) + " contains CR, LF or NUL"));
    }
    const std::string n(name), v(trim(value));
    if (osip_message_set_header(msg_, n.c_str(), v.c_str()) != 0) {
        return Unexpected(err(SipErrorCode::Internal, "cannot add " + n));
    }
    return {};
}

Result<void, SipError> SipMessage::set_body(std::string_view content_type, std::string_view body) {
    if (!body.empty() && (content_type.empty() || !is_safe_header_value(content_type))) {
        return Unexpected(err(SipErrorCode::InvalidArgument,
                              "a body needs a Content-Type without CR, LF or NUL"));
    }
    osip_list_special_free(&msg_->bodies,
                           [](void* b) { osip_body_free(static_cast<osip_body_t*>(b)); });
    if (msg_->content_type != nullptr) {
        osip_content_type_free(msg_->content_type);
        msg_->content_type = nullptr;
    }
    if (!body.empty()) {
        const std::string ct(content_type);
        if (osip_message_set_content_type(msg_, ct.c_str()) != 0) {
            return Unexpected(err(SipErrorCode::InvalidArgument,
                                  "bad Content-Type \"" + ct.substr(0, 64) + "\""));
        }
        if (osip_message_set_body(msg_, body.data(), body.size()) != 0) {
            return Unexpected(err(SipErrorCode::Internal, "cannot store the body"));
        }
    }
    osip_message_force_update(msg_);
    return set_content_length(msg_, body.size());
}

Result<std::string, SipError> SipMessage::to_string() const {
    return serialize(msg_);
}

Result<std::string, SipError> SipMessage::serialize(osip_message* m) {
    osip_message_force_update(m);
    char* s = nullptr;
    std::size_t len = 0;
    if (osip_message_to_str(m, &s, &len) != 0 || s == nullptr) {
        return Unexpected(err(SipErrorCode::Internal, "libosip2 could not serialise the message"));
    }
    std::string out(s, len);
    osip_free(s);
    return out;
}

}  // namespace fedgw::gateway::sip
