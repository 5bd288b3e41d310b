#include "common/link/link_codec.hpp"

#include <charconv>
#include <limits>

namespace fedgw::link {
namespace {

bool valid_key(std::string_view k) {
    if (k.empty()) return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

bool valid_value(std::string_view v) {
    return v.find('\n') == std::string_view::npos && v.find('\r') == std::string_view::npos;
}

Unexpected<LinkError> fail(LinkErrorKind k, std::string text) {
    return Unexpected(LinkError{k, std::move(text)});
}

template <class N>
std::optional<N> to_number(std::string_view s) {
    N n{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return n;
}

template <class N>
Result<N, LinkError> number_field(const Frame& f, std::string_view key) {
    auto v = f.headers.get(key);
    if (!v)
        return fail(LinkErrorKind::MissingField,
                    std::string(frame_type_name(f.type)) + " frame lacks '" + std::string(key) + "'");
    auto n = to_number<N>(*v);
    if (!n)
        return fail(LinkErrorKind::BadValue, "'" + std::string(key) + "' is not a number: " +
                                                 std::string(*v));
    return *n;
}

void put_u32(std::string& out, std::uint32_t v) {
    out += static_cast<char>((v >> 24) & 0xff);
    out += static_cast<char>((v >> 16) & 0xff);
    out += static_cast<char>((v >> 8) & 0xff);
    out += static_cast<char>(v & 0xff);
}

}  // namespace

std::string_view frame_type_name(FrameType t) {
    switch (t) {
        case FrameType::Hello: return "HELLO";
        case FrameType::Stanza: return "STANZA";
        case FrameType::Credit: return "CREDIT";
        case FrameType::Registry: return "REGISTRY";
        case FrameType::Ping: return "PING";
        case FrameType::Pong: return "PONG";
        case FrameType::Goodbye: return "GOODBYE";
    }
    return "UNKNOWN";
}

void Headers::set(std::string_view key, std::string_view value) {
    for (auto& [k, v] : fields_) {
        if (k == key) {
            v = std::string(value);
            return;
        }
    }
    fields_.emplace_back(std::string(key), std::string(value));
}

std::optional<std::string_view> Headers::get(std::string_view key) const {
    for (const auto& [k, v] : fields_)
        if (k == key) return std::string_view(v);
    return std::nullopt;
}

std::string LinkError::describe() const {
    std::string_view k;
    switch (kind) {
        case LinkErrorKind::FrameTooLarge: k = "frame-too-large"; break;
        case LinkErrorKind::EmptyFrame: k = "empty-frame"; break;
        case LinkErrorKind::UnknownType: k = "unknown-type"; break;
        case LinkErrorKind::BadHeader: k = "bad-header"; break;
        case LinkErrorKind::BadValue: k = "bad-value"; break;
        case LinkErrorKind::MissingField: k = "missing-field"; break;
        case LinkErrorKind::VersionMismatch: k = "version-mismatch"; break;
    }
    std::string s(k);
    if (!text.empty()) s += ": " + text;
    return s;
}

Result<std::string, LinkError> encode(const Frame& f) {
    std::string payload;
    payload += static_cast<char>(f.type);
    for (const auto& [k, v] : f.headers.fields()) {
        if (!valid_key(k)) return fail(LinkErrorKind::BadValue, "header key '" + k + "'");
        if (!valid_value(v)) return fail(LinkErrorKind::BadValue, "header '" + k + "' holds CR or LF");
        payload += k;
        payload += ": ";
        payload += v;
        payload += '\n';
    }
    payload += '\n';
    payload += f.body;
    if (payload.size() > std::numeric_limits<std::uint32_t>::max())
        return fail(LinkErrorKind::FrameTooLarge, "frame exceeds 4 GiB");
    std::string out;
    out.reserve(4 + payload.size());
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    out += payload;
    return out;
}

Result<void, LinkError> LinkDecoder::feed(std::string_view bytes) {
    if (failed_) return Unexpected(*failed_);
    buf_.append(bytes);
    while (buffered() >= 4) {
        const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
        std::size_t len = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                          (std::size_t{p[2]} << 8) | std::size_t{p[3]};
        if (len == 0) {
            failed_ = LinkError{LinkErrorKind::EmptyFrame, "frame length 0"};
            return Unexpected(*failed_);
        }
        if (len > limits_.max_frame_bytes) {
            failed_ = LinkError{LinkErrorKind::FrameTooLarge,
                                std::to_string(len) + " bytes, limit " +
                                    std::to_string(limits_.max_frame_bytes)};
            return Unexpected(*failed_);
        }
        if (buffered() < 4 + len) break;
        auto r = decode_one(std::string_view(buf_).substr(pos_ + 4, len));
        if (!r) {
            failed_ = r.error();
            return r;
        }
        pos_ += 4 + len;
    }
    // Compact once the consumed prefix dominates, so a long-lived link does not grow its buffer.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    return {};
}

Result<void, LinkError> LinkDecoder::decode_one(std::string_view frame) {
    auto type = static_cast<std::uint8_t>(frame[0]);
    if (type < 1 || type > 7)
        return fail(LinkErrorKind::UnknownType, "frame type " + std::to_string(type));
    Frame f;
    f.type = static_cast<FrameType>(type);
    std::string_view rest = frame.substr(1);
    for (;;) {
        auto nl = rest.find('\n');
        if (nl == std::string_view::npos)
            return fail(LinkErrorKind::BadHeader, "header block not terminated");
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
        if (line.empty()) break;
        auto sep = line.find(": ");
        if (sep == std::string_view::npos)
            return fail(LinkErrorKind::BadHeader, "line without ': '");
        auto key = line.substr(0, sep);
        auto value = line.substr(sep + 2);
        if (!valid_key(key) || value.find('\r') != std::string_view::npos)
            return fail(LinkErrorKind::BadHeader, "bad header key or value");
        f.headers.set(key, value);
    }
    f.body = std::string(rest);
    out_.push_back(std::move(f));
    return {};
}

std::optional<Frame> LinkDecoder::next() {
    if (out_.empty()) return std::nullopt;
    Frame f = std::move(out_.front());
    out_.pop_front();
    return f;
}

std::string_view role_name(Role r) { return r == Role::Proxy ? "proxy" : "gateway"; }

Frame make_frame(const Hello& h) {
    Frame f{FrameType::Hello, {}, {}};
    f.headers.set("version", std::to_string(kVersion));
    f.headers.set("role", role_name(h.role));
    f.headers.set("node", h.node);
    f.headers.set("window", std::to_string(h.window));
    return f;
}

Result<Hello, LinkError> parse_hello(const Frame& f) {
    if (f.type != FrameType::Hello) return fail(LinkErrorKind::BadValue, "not a HELLO frame");
    auto version = number_field<int>(f, "version");
    if (!version) return Unexpected(version.error());
    if (*version != kVersion)
        return fail(LinkErrorKind::VersionMismatch, "peer speaks link version " +
                                                        std::to_string(*version) + ", we speak " +
                                                        std::to_string(kVersion));
    Hello h;
    auto role = f.headers.get("role");
    if (!role) return fail(LinkErrorKind::MissingField, "HELLO frame lacks 'role'");
    if (*role == "proxy") h.role = Role::Proxy;
    else if (*role == "gateway") h.role = Role::Gateway;
    else return fail(LinkErrorKind::BadValue, "unknown role '" + std::string(*role) + "'");
    h.node = std::string(f.headers.get("node").value_or(""));
    auto window = number_field<std::uint32_t>(f, "window");
    if (!window) return Unexpected(window.error());
    h.window = *window;
    return h;
}

std::string_view auth_method_name(AuthMethod m) {
    switch (m) {
        case AuthMethod::None: return "none";
        case AuthMethod::SaslExternal: return "sasl-external";
        case AuthMethod::Dialback: return "dialback";
    }
    return "none";
}

std::optional<AuthMethod> auth_method_from_name(std::string_view s) {
    if (s == "none") return AuthMethod::None;
    if (s == "sasl-external") return AuthMethod::SaslExternal;
    if (s == "dialback") return AuthMethod::Dialback;
    return std::nullopt;
}

Frame make_frame(const StanzaFrame& s) {
    Frame f{FrameType::Stanza, {}, s.xml};
    f.headers.set("seq", std::to_string(s.seq));
    if (!s.partner.empty()) f.headers.set("partner", s.partner);
    if (!s.partner_type.empty()) f.headers.set("partner-type", s.partner_type);
    if (s.auth != AuthMethod::None) f.headers.set("auth", auth_method_name(s.auth));
    if (!s.local.empty()) f.headers.set("local", s.local);
    return f;
}

Result<StanzaFrame, LinkError> parse_stanza(const Frame& f) {
    if (f.type != FrameType::Stanza) return fail(LinkErrorKind::BadValue, "not a STANZA frame");
    auto seq = number_field<std::uint64_t>(f, "seq");
    if (!seq) return Unexpected(seq.error());
    StanzaFrame s;
    s.seq = *seq;
    s.partner = std::string(f.headers.get("partner").value_or(""));
    s.partner_type = std::string(f.headers.get("partner-type").value_or(""));
    auto auth = auth_method_from_name(f.headers.get("auth").value_or("none"));
    if (!auth) return fail(LinkErrorKind::BadValue, "unknown auth method");
    s.auth = *auth;
    s.local = std::string(f.headers.get("local").value_or(""));
    if (f.body.empty()) return fail(LinkErrorKind::MissingField, "STANZA frame without a stanza");
    s.xml = f.body;
    return s;
}

Frame make_credit(std::uint32_t stanzas) {
    Frame f{FrameType::Credit, {}, {}};
    f.headers.set("stanzas", std::to_string(stanzas));
    return f;
}

Result<std::uint32_t, LinkError> parse_credit(const Frame& f) {
    return number_field<std::uint32_t>(f, "stanzas");
}

Frame make_ping(std::uint64_t nonce) {
    Frame f{FrameType::Ping, {}, {}};
    f.headers.set("nonce", std::to_string(nonce));
    return f;
}

Frame make_pong(std::uint64_t nonce) {
    Frame f{FrameType::Pong, {}, {}};
    f.headers.set("nonce", std::to_string(nonce));
    return f;
}

Result<std::uint64_t, LinkError> parse_nonce(const Frame& f) {
    return number_field<std::uint64_t>(f, "nonce");
}

Frame make_goodbye(std::string_view reason) {
    Frame f{FrameType::Goodbye, {}, {}};
    std::string r(reason);
    for (char& c : r)
        if (c == '\n' || c == '\r') c = ' ';
    f.headers.set("reason", r);
    return f;
}

Frame make_registry(std::uint64_t version, std::string json) {
    Frame f{FrameType::Registry, {}, std::move(json)};
    f.headers.set("version", std::to_string(version));
    return f;
}

}  // namespace fedgw::link
