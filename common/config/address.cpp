// Network address values for the configuration; see address.hpp. Pure.
#include "common/config/address.hpp"

#include <algorithm>
#include <vector>

namespace fedgw {
namespace {

std::string quoted(std::string_view s) {
    std::string out = "\"";
    out.append(s);
    out += '"';
    return out;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Splits on sep; "a::b" with sep ':' gives {"a", "", "b"}.
std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t at = s.find(sep, start);
        if (at == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, at - start));
        start = at + 1;
    }
}

// Decimal octets without leading zeros, exactly four of them.
std::optional<std::array<std::uint8_t, 4>> parse_v4(std::string_view s) {
    const auto parts = split(s, '.');
    if (parts.size() != 4) return std::nullopt;
    std::array<std::uint8_t, 4> out{};
    for (std::size_t i = 0; i < 4; ++i) {
        const std::string_view p = parts[i];
        if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return std::nullopt;
        int v = 0;
        for (char c : p) {
            if (!is_digit(c)) return std::nullopt;
            v = v * 10 + (c - '0');
        }
        if (v > 255) return std::nullopt;
        out[i] = static_cast<std::uint8_t>(v);
    }
    return out;
}

// The colon-separated groups on one side of "::". An IPv4 tail counts as two groups and is
// allowed only where the address ends.
bool parse_v6_groups(std::string_view s, bool may_end_in_v4, std::vector<std::uint16_t>& out) {
    if (s.empty()) return true;
    const auto parts = split(s, ':');
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string_view p = parts[i];
        if (i + 1 == parts.size() && may_end_in_v4 && p.find('.') != std::string_view::npos) {
            const auto v4 = parse_v4(p);
            if (!v4) return false;
            out.push_back(static_cast<std::uint16_t>(((*v4)[0] << 8) | (*v4)[1]));
            out.push_back(static_cast<std::uint16_t>(((*v4)[2] << 8) | (*v4)[3]));
            continue;
        }
        if (p.empty() || p.size() > 4) return false;
        unsigned v = 0;
        for (char c : p) {
            const int h = hex_value(c);
            if (h < 0) return false;
            v = (v << 4) | static_cast<unsigned>(h);
        }
        out.push_back(static_cast<std::uint16_t>(v));
    }
    return true;
}

std::optional<std::array<std::uint8_t, 16>> parse_v6(std::string_view s) {
    std::vector<std::uint16_t> head, tail;
    const std::size_t gap = s.find("::");
    if (gap == std::string_view::npos) {
        if (!parse_v6_groups(s, true, head) || head.size() != 8) return std::nullopt;
    } else {
        const std::string_view after = s.substr(gap + 2);
        if (after.find("::") != std::string_view::npos) return std::nullopt;
        if (!parse_v6_groups(s.substr(0, gap), false, head)) return std::nullopt;
        if (!parse_v6_groups(after, true, tail)) return std::nullopt;
        if (head.size() + tail.size() > 7) return std::nullopt;
    }
    std::array<std::uint8_t, 16> out{};
    auto put = [&out](std::size_t group, std::uint16_t v) {
        out[group * 2] = static_cast<std::uint8_t>(v >> 8);
        out[group * 2 + 1] = static_cast<std::uint8_t>(v & 0xff);
    };
    for (std::size_t i = 0; i < head.size(); ++i)
        put(i, head[i]);
    for (std::size_t i = 0; i < tail.size(); ++i)
        put(8 - tail.size() + i, tail[i]);
    return out;
}

// What a host:port should look like, for messages; SIP addresses carry a transport too.
constexpr std::string_view kHostPortForm = "host:port, like \"example.com:5269\"";
constexpr std::string_view kSipAddrForm = "transport:host:port, like \"udp:127.0.0.1:5060\"";

// Digits only, 1-65535; `whole` is the full input for the message.
Result<std::uint16_t, std::string> parse_port(std::string_view digits, std::string_view whole,
                                              std::string_view form) {
    if (digits.empty()) {
        return Unexpected("missing port in " + quoted(whole) + "; expected " + std::string(form));
    }
    if (!std::all_of(digits.begin(), digits.end(), is_digit)) {
        return Unexpected("invalid port " + quoted(digits) + " in " + quoted(whole));
    }
    unsigned long v = 0;
    for (char c : digits) {
        v = v * 10 + static_cast<unsigned>(c - '0');
        if (v > 65535) break;
    }
    if (v == 0 || v > 65535) {
        return Unexpected("port " + std::string(digits) + " in " + quoted(whole) +
                          " is out of range (1-65535)");
    }
    return static_cast<std::uint16_t>(v);
}

}  // namespace

bool IpAddress::is_v4_mapped() const {
    if (!is_v6()) return false;
    for (std::size_t i = 0; i < 10; ++i) {
        if (bytes[i] != 0) return false;
    }
    return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::string IpAddress::to_string() const {
    if (is_v4()) {
        return std::to_string(bytes[0]) + "." + std::to_string(bytes[1]) + "." +
               std::to_string(bytes[2]) + "." + std::to_string(bytes[3]);
    }
    if (is_v4_mapped()) {  // RFC 5952 §5
        IpAddress v4{Family::V4, {bytes[12], bytes[13], bytes[14], bytes[15]}};
        return "::ffff:" + v4.to_string();
    }
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i)
        g[i] = (bytes[2 * i] << 8) | bytes[2 * i + 1];
    // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first on a tie.
    std::size_t best_at = 8, best_len = 0;
    for (std::size_t i = 0; i < 8;) {
        if (g[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && g[j] == 0)
            ++j;
        if (j - i > best_len && j - i >= 2) {
            best_at = i;
            best_len = j - i;
        }
        i = j;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == best_at) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned nibble = (g[i] >> shift) & 0xf;
            if (nibble != 0 || started || shift == 0) {
                out += kHex[nibble];
                started = true;
            }
        }
    }
    return out;
}

Result<IpAddress, std::string> parse_ip_address(std::string_view text) {
    if (text.find('%') != std::string_view::npos) {
        return Unexpected(quoted(text) + " is not an IP address (zone ids are not supported)");
    }
    if (!text.empty() && text.front() == '[') {
        return Unexpected(quoted(text) + " is not an IP address (leave out the brackets)");
    }
    if (text.find(':') != std::string_view::npos) {
        if (auto v6 = parse_v6(text)) return IpAddress{IpAddress::Family::V6, *v6};
    } else if (auto v4 = parse_v4(text)) {
        IpAddress a{IpAddress::Family::V4, {}};
        std::copy(v4->begin(), v4->end(), a.bytes.begin());
        return a;
    }
    return Unexpected(quoted(text) + " is not an IP address");
}

Result<std::string, std::string> parse_domain_name(std::string_view text) {
    const std::string q = quoted(text);
    if (text.empty()) return Unexpected(std::string("empty host name"));
    if (text.size() > 253) {
        return Unexpected("host name " + q + " is longer than 253 characters");
    }
    for (char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            return Unexpected(q + " is not ASCII; write an internationalised name in its " +
                              "A-label form (\"xn--...\")");
        }
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.') {
            return Unexpected(q + " is not a valid host name (only letters, digits, '-' and " +
                              "'.' are allowed)");
        }
    }
    if (text.back() == '.') return Unexpected(q + " ends with a dot; leave the dot out");
    const auto labels = split(text, '.');
    for (const std::string_view label : labels) {
        if (label.empty()) return Unexpected(q + " has an empty label");
        if (label.size() > 63) return Unexpected(q + " has a label longer than 63 characters");
        if (label.front() == '-' || label.back() == '-') {
            return Unexpected(q + " has a label that starts or ends with '-'");
        }
    }
    const std::string_view last = labels.back();
    if (std::all_of(last.begin(), last.end(), is_digit)) {
        return Unexpected(q + " is neither an IP address nor a host name");
    }
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string HostPort::to_string() const {
    const std::string p = std::to_string(port);
    if (ip && ip->is_v6()) return "[" + host + "]:" + p;
    return host + ":" + p;
}

HostPort HostPort::any_v6(std::uint16_t port) {
    return HostPort{"::", port, IpAddress::any_v6()};
}

HostPort HostPort::any_v4(std::uint16_t port) {
    return HostPort{"0.0.0.0", port, IpAddress::any_v4()};
}

namespace {

// parse_host_port for `text`, a part of `whole` (all of it, or what follows a SIP transport):
// messages quote `whole` and show `form`.
Result<HostPort, std::string> parse_host_port_in(std::string_view text, std::string_view whole,
                                                 std::string_view form) {
    if (text.empty()) {
        return Unexpected("missing host and port in " + quoted(whole) + "; expected " +
                          std::string(form));
    }
    if (text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return Unexpected("missing ']' in " + quoted(whole));
        }
        const std::string_view inner = text.substr(1, close - 1);
        auto ip = parse_ip_address(inner);
        if (!ip || !ip->is_v6()) {
            return Unexpected(quoted(inner) + " in " + quoted(whole) +
                              " is not an IPv6 address (brackets are only for IPv6)");
        }
        const std::string_view rest = text.substr(close + 1);
        if (rest.empty()) return Unexpected(parse_port(rest, whole, form).error());
        if (rest.front() != ':') {
            return Unexpected("expected ':' and a port after ']' in " + quoted(whole));
        }
        auto port = parse_port(rest.substr(1), whole, form);
        if (!port) return Unexpected(port.error());
        return HostPort{ip->to_string(), *port, *ip};
    }
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        return Unexpected(parse_port({}, whole, form).error());
    }
    if (text.find(':', colon + 1) != std::string_view::npos) {
        return Unexpected(quoted(whole) + ": an IPv6 address needs brackets, like " +
                          "\"[2001:db8::1]:5269\"");
    }
    const std::string_view host = text.substr(0, colon);
    if (host.empty()) return Unexpected("missing host in " + quoted(whole));
    auto port = parse_port(text.substr(colon + 1), whole, form);
    if (!port) return Unexpected(port.error());
    if (auto ip = parse_ip_address(host)) return HostPort{ip->to_string(), *port, *ip};
    auto name = parse_domain_name(host);
    if (!name) return Unexpected(name.error());
    return HostPort{*name, *port, std::nullopt};
}

}  // namespace

Result<HostPort, std::string> parse_host_port(std::string_view text) {
    return parse_host_port_in(text, text, kHostPortForm);
}

std::string_view transport_name(SipTransport t) {
    switch (t) {
        case SipTransport::Udp:
            return "udp";
        case SipTransport::Tcp:
            return "tcp";
        case SipTransport::Tls:
            return "tls";
    }
    return "udp";
}

std::string SipTransportAddr::to_string() const {
    return std::string(transport_name(transport)) + ":" + address.to_string();
}

Result<SipTransportAddr, std::string> parse_sip_transport_addr(std::string_view text) {
    const std::size_t colon = text.find(':');
    const std::string_view name = text.substr(0, std::min(colon, text.size()));
    const bool looks_like_name =
        colon != std::string_view::npos && !name.empty() &&
        std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c); });
    if (!looks_like_name) {
        return Unexpected(quoted(text) + " does not start with a transport; expected " +
                          std::string(kSipAddrForm));
    }
    SipTransportAddr out;
    if (name == "udp") {
        out.transport = SipTransport::Udp;
    } else if (name == "tcp") {
        out.transport = SipTransport::Tcp;
    } else if (name == "tls") {
        out.transport = SipTransport::Tls;
    } else {
        return Unexpected("unknown transport " + quoted(name) + " in " + quoted(text) +
                          "; expected udp, tcp or tls");
    }
    auto hp = parse_host_port_in(text.substr(colon + 1), text, kSipAddrForm);
    if (!hp) return Unexpected(hp.error());
    out.address = std::move(*hp);
    return out;
}

bool Cidr::contains(const IpAddress& a) const {
    const IpAddress* addr = &a;
    IpAddress unmapped;
    if (network.is_v4() && a.is_v4_mapped()) {
        unmapped =
            IpAddress{IpAddress::Family::V4, {a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]}};
        addr = &unmapped;
    }
    if (addr->family != network.family) return false;
    unsigned bits = prefix_len;
    for (std::size_t i = 0; i < network.size() && bits > 0; ++i) {
        const unsigned take = std::min(bits, 8u);
        const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
        if ((addr->bytes[i] & mask) != network.bytes[i]) return false;
        bits -= take;
    }
    return true;
}

std::string Cidr::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix_len);
}

Result<Cidr, std::string> parse_cidr(std::string_view text) {
    const std::size_t slash = text.find('/');
    auto ip = parse_ip_address(text.substr(0, std::min(slash, text.size())));
    if (!ip) return Unexpected(ip.error());
    const unsigned max = ip->is_v4() ? 32 : 128;
    if (slash == std::string_view::npos) return Cidr{*ip, static_cast<std::uint8_t>(max)};
    const std::string_view digits = text.substr(slash + 1);
    const bool numeric = !digits.empty() && digits.size() <= 3 &&
                         std::all_of(digits.begin(), digits.end(), is_digit);
    unsigned len = 0;
    for (char c : digits)
        len = len * 10 + static_cast<unsigned>(c - '0');
    if (!numeric || len > max || (digits.size() > 1 && digits[0] == '0')) {
        return Unexpected("invalid prefix length " + quoted(digits) + " in " + quoted(text) +
                          " (0-" + std::to_string(max) + ")");
    }
    Cidr masked{*ip, static_cast<std::uint8_t>(len)};
    unsigned bits = len;
    for (std::size_t i = 0; i < ip->size(); ++i) {
        const unsigned take = std::min(bits, 8u);
        masked.network.bytes[i] &= static_cast<std::uint8_t>(take == 0 ? 0 : 0xff << (8 - take));
        bits -= take;
    }
    if (masked.network != *ip) {
        return Unexpected(quoted(text) + " has bits set after the prefix; did you mean " +
                          quoted(masked.to_string()) + "?");
    }
    return masked;
}

}  // namespace fedgw
