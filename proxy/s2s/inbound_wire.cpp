// Wire forms and helpers of InboundStream (see inbound_wire.hpp). XEP-0220 §2.2, §2.5;
// RFC 6120 §5.4.2, §6.4, §6.5; RFC 4648 §4.
//
// Pure: strings only.
#include "proxy/s2s/inbound_wire.hpp"

#include <array>
#include <cstdint>

#include "common/base/xml_escape.hpp"
#include "common/jid/jid.hpp"
#include "common/xml/namespaces.hpp"

namespace fedgw::proxy::inbound_wire {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of a base64 character, or -1.
int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

void attr(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "='";
    append_escaped_attr(out, value);
    out += '\'';
}

std::string db_open(std::string_view element, std::string_view from, std::string_view to,
                    std::string_view id, std::string_view type) {
    std::string out = "<db:";
    out += element;
    attr(out, "from", from);
    attr(out, "to", to);
    if (!id.empty()) attr(out, "id", id);
    attr(out, "type", type);
    return out;
}

}  // namespace

std::optional<Domain> parse_domain(std::string_view s) {
    if (s.empty()) return std::nullopt;
    auto jid = Jid::parse(s);
    if (!jid || !jid->is_domain()) return std::nullopt;
    return Domain{jid->domainpart(), jid->domain_ascii()};
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string strip_space(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (!is_space(c)) out += c;
    return out;
}

std::optional<std::string> base64_decode(std::string_view s) {
    if (s.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(s.size() / 4 * 3);
    for (std::size_t i = 0; i < s.size(); i += 4) {
        const bool last = i + 4 == s.size();
        std::array<int, 4> v{};
        int pad = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = s[i + k];
            if (c == '=') {
                // Padding only in the last quantum, only in its last two places, and only
                // followed by more padding.
                if (!last || k < 2) return std::nullopt;
                ++pad;
                v[k] = 0;
                continue;
            }
            if (pad > 0) return std::nullopt;
            v[k] = sextet(c);
            if (v[k] < 0) return std::nullopt;
        }
        const std::uint32_t n =
            (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out += static_cast<char>((n >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(n & 0xff);
    }
    return out;
}

std::string base64_encode(std::string_view s) {
    std::string out;
    out.reserve((s.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < s.size(); i += 3) {
        const std::size_t left = s.size() - i;
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << 16;
        if (left > 1) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 1])) << 8;
        if (left > 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + 2]));
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += left > 1 ? kAlphabet[(n >> 6) & 63] : '=';
        out += left > 2 ? kAlphabet[n & 63] : '=';
    }
    return out;
}

std::string db_result(std::string_view from, std::string_view to, std::string_view type) {
    return db_open("result", from, to, {}, type) + "/>";
}

std::string db_result_error(std::string_view from, std::string_view to, const StanzaError& e) {
    return db_open("result", from, to, {}, "error") + ">" + to_wire(e) + "</db:result>";
}

std::string db_verify(std::string_view from, std::string_view to, std::string_view id,
                      std::string_view type) {
    return db_open("verify", from, to, id, type) + "/>";
}

std::string db_verify_error(std::string_view from, std::string_view to, std::string_view id,
                            const StanzaError& e) {
    return db_open("verify", from, to, id, "error") + ">" + to_wire(e) + "</db:verify>";
}

std::string tls_proceed() {
    return "<proceed xmlns='" + std::string(kNsTls) + "'/>";
}

std::string tls_failure() {
    return "<failure xmlns='" + std::string(kNsTls) + "'/>";
}

std::string sasl_success() {
    return "<success xmlns='" + std::string(kNsSasl) + "'/>";
}

std::string sasl_empty_challenge() {
    return "<challenge xmlns='" + std::string(kNsSasl) + "'/>";
}

std::string sasl_failure(std::string_view condition, std::string_view text) {
    std::string out = "<failure xmlns='" + std::string(kNsSasl) + "'><";
    out += condition;
    out += "/>";
    if (!text.empty()) {
        out += "<text xml:lang='en'>";
        append_escaped_text(out, text);
        out += "</text>";
    }
    out += "</failure>";
    return out;
}

}  // namespace fedgw::proxy::inbound_wire
