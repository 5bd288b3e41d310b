// XMPP address <-> SIP URI (RFC 7247 §6; RFC 3261 §19.1, §25.1; RFC 7622 §3).
//
// Pure.
#include "gateway/translate/address_map.hpp"

#include <cstdio>

namespace fedgw::gateway {
namespace {

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 3261 §25.1: mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")".
bool is_mark(char c) {
    switch (c) {
        case '-':
        case '_':
        case '.':
        case '!':
        case '~':
        case '*':
        case '\'':
        case '(':
        case ')':
            return true;
        default:
            return false;
    }
}

bool is_unreserved(char c) {
    return is_alnum(c) || is_mark(c);
}

// user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
bool is_user_unreserved(char c) {
    switch (c) {
        case '&':
        case '=':
        case '+':
        case '$':
        case ',':
        case ';':
        case '?':
        case '/':
            return true;
        default:
            return false;
    }
}

// What jid_to_sip writes unescaped in a user part (see the header: not ';' or '?').
bool keep_in_user(char c) {
    return is_unreserved(c) || (is_user_unreserved(c) && c != ';' && c != '?');
}

// param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
bool keep_in_param(char c) {
    switch (c) {
        case '[':
        case ']':
        case '/':
        case ':':
        case '&':
        case '+':
        case '$':
            return true;
        default:
            return is_unreserved(c);
    }
}

template <class Keep>
std::string escape(std::string_view s, Keep keep) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (keep(c)) {
            out += c;
        } else {
            const auto b = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[b >> 4];
            out += kHex[b & 0x0F];
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Unexpected<AddressFailure> fail(AddressError e, std::string detail) {
    return Unexpected(AddressFailure{e, std::move(detail)});
}

// Percent-decodes `s`, whose unescaped characters must satisfy `allowed`.
template <class Allowed>
Result<std::string, AddressFailure> unescape(std::string_view s, Allowed allowed,
                                             std::string_view what) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            const bool room = i + 2 < s.size();
            const int hi = room ? hex_value(s[i + 1]) : -1;
            const int lo = room ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return fail(AddressError::MalformedUri,
                            "bad percent-escape in the " + std::string(what));
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (allowed(c)) {
            out += c;
        } else {
            char buf[48];
            std::snprintf(buf, sizeof buf, "character 0x%02X not allowed in the ",
                          static_cast<unsigned>(static_cast<unsigned char>(c)));
            return fail(AddressError::MalformedUri, buf + std::string(what));
        }
    }
    return out;
}

// RFC 7622 §3.3.1: characters a localpart may not contain.
bool is_forbidden_in_localpart(char c) {
    switch (c) {
        case '"':
        case '&':
        case '\'':
        case '/':
        case ':':
        case '<':
        case '>':
        case '@':
        case ' ':
            return true;
        default:
            return false;
    }
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && iequals_prefix(a, b);
}

AddressFailure from_jid_failure(const JidFailure& f, AddressError fallback) {
    switch (f.error) {
        case JidError::ForbiddenCharacter:
            if (fallback == AddressError::InvalidLocalpart)
                return {AddressError::ForbiddenCharacter, f.describe()};
            return {fallback, f.describe()};
        case JidError::EmptyDomain:
        case JidError::DomainTooLong:
        case JidError::BadIpLiteral:
        case JidError::BadDomain:
        case JidError::IdnaFailed:
            return {AddressError::InvalidDomain, f.describe()};
        case JidError::EmptyResource:
        case JidError::ResourceTooLong:
        case JidError::ResourcePrepFailed:
            return {AddressError::InvalidResource, f.describe()};
        default:
            return {fallback, f.describe()};
    }
}

}  // namespace

std::string_view describe(AddressError e) {
    switch (e) {
        case AddressError::NotSipUri:
            return "not a sip: or sips: URI";
        case AddressError::NoUserPart:
            return "the SIP URI has no user part";
        case AddressError::MalformedUri:
            return "malformed SIP URI";
        case AddressError::PasswordInUri:
            return "the SIP URI carries a password";
        case AddressError::ForbiddenCharacter:
            return "the user part has a character an XMPP localpart may not contain";
        case AddressError::InvalidLocalpart:
            return "the user part is not a valid XMPP localpart";
        case AddressError::InvalidDomain:
            return "the host is not a valid XMPP domainpart";
        case AddressError::InvalidResource:
            return "the 'gr' parameter is not a valid XMPP resourcepart";
        case AddressError::NoLocalpart:
            return "the XMPP address has no localpart";
    }
    return "address mapping failed";
}

std::string AddressFailure::describe() const {
    std::string s(gateway::describe(error));
    if (!detail.empty()) {
        s += ": ";
        s += detail;
    }
    return s;
}

StanzaError to_stanza_error(const AddressFailure& f) {
    if (f.error == AddressError::NoLocalpart)
        return StanzaError::of(StanzaCondition::ServiceUnavailable, f.describe());
    return StanzaError::of(StanzaCondition::JidMalformed, f.describe());
}

int to_sip_status(const AddressFailure& f) {
    switch (f.error) {
        case AddressError::NotSipUri:
            return 416;
        case AddressError::NoUserPart:
        case AddressError::NoLocalpart:
            return 404;
        default:
            return 400;
    }
}

std::string escape_user_part(std::string_view localpart) {
    return escape(localpart, keep_in_user);
}

Result<SipAddress, AddressFailure> jid_to_sip(const Jid& jid) {
    if (!jid.has_localpart()) return fail(AddressError::NoLocalpart, jid.to_string());
    SipAddress a;
    a.uri = "sip:";
    a.uri += escape_user_part(jid.localpart());
    a.uri += '@';
    a.uri += jid.domain_ascii();  // A-label form; an IPv6 literal keeps its brackets
    if (jid.has_resource()) {
        a.gruu = a.uri;
        a.gruu += ";gr=";
        a.gruu += escape(jid.resourcepart(), keep_in_param);
    }
    return a;
}

Result<Jid, AddressFailure> sip_to_jid(std::string_view uri) {
    std::string_view rest;
    if (iequals_prefix(uri, "sip:")) {
        rest = uri.substr(4);
    } else if (iequals_prefix(uri, "sips:")) {
        rest = uri.substr(5);
    } else {
        const auto colon = uri.find(':');
        return fail(AddressError::NotSipUri,
                    colon == std::string_view::npos
                        ? std::string("no URI scheme")
                        : "scheme '" + std::string(uri.substr(0, colon)) + "'");
    }
    const auto at = rest.find('@');
    if (at == std::string_view::npos) return fail(AddressError::NoUserPart, {});
    std::string_view userinfo = rest.substr(0, at);
    std::string_view after = rest.substr(at + 1);
    if (userinfo.find(':') != std::string_view::npos) return fail(AddressError::PasswordInUri, {});
    if (userinfo.empty()) return fail(AddressError::NoUserPart, "nothing before '@'");

    // hostport, then ;parameters, then ?headers.
    const auto host_end = after.find_first_of(";?");
    std::string_view hostport = after.substr(0, host_end);
    std::string_view params =
        host_end == std::string_view::npos ? std::string_view{} : after.substr(host_end);
    if (const auto q = params.find('?'); q != std::string_view::npos) params = params.substr(0, q);

    std::string_view host = hostport;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) return fail(AddressError::MalformedUri, "no ']'");
        const std::string_view tail = host.substr(close + 1);
        if (!tail.empty() && tail.front() != ':')
            return fail(AddressError::MalformedUri, "text after the IPv6 reference");
        host = host.substr(0, close + 1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    if (host.empty()) return fail(AddressError::MalformedUri, "no host");
    for (char c : host) {
        if (!(is_alnum(c) || c == '-' || c == '.' || c == '[' || c == ']' || c == ':'))
            return fail(AddressError::InvalidDomain, "host is not a host name or IP literal");
    }

    auto user = unescape(
        userinfo, [](char c) { return is_unreserved(c) || is_user_unreserved(c); }, "user part");
    if (!user) return Unexpected(std::move(user).error());
    for (char c : *user) {
        if (is_forbidden_in_localpart(c)) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "U+%04X '%c' in the user part",
                          static_cast<unsigned>(static_cast<unsigned char>(c)), c);
            return fail(AddressError::ForbiddenCharacter, buf);
        }
    }

    // The 'gr' parameter, if any, is the resourcepart (RFC 7247 §6.3).
    std::string resource;
    while (!params.empty()) {
        params.remove_prefix(1);  // ';'
        const auto next = params.find(';');
        std::string_view p = params.substr(0, next);
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next);
        const auto eq = p.find('=');
        if (!iequals(p.substr(0, eq), "gr") || eq == std::string_view::npos) continue;
        auto value = unescape(p.substr(eq + 1), keep_in_param, "'gr' parameter");
        if (!value) return Unexpected(std::move(value).error());
        resource = std::move(*value);
        if (resource.empty()) return fail(AddressError::InvalidResource, "empty 'gr' value");
    }

    auto jid = Jid::make(*user, host, resource);
    if (!jid) return Unexpected(from_jid_failure(jid.error(), AddressError::InvalidLocalpart));
    return std::move(*jid);
}

}  // namespace fedgw::gateway
