// message/cpim unwrapping (RFC 3862 §2, §3) and RFC 3339 date-times to UTC (XEP-0082).
//
// Pure.
#include "gateway/translate/cpim.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "gateway/translate/media_type.hpp"

namespace fedgw::gateway {
namespace {

Unexpected<CpimFailure> fail(CpimError e, std::string detail = {}) {
    return Unexpected(CpimFailure{e, std::move(detail)});
}

// Takes one line (without its CRLF or LF) off the front of `s`; false when `s` holds no line
// end at all.
bool take_line(std::string_view& s, std::string_view& line) {
    const auto lf = s.find('\n');
    if (lf == std::string_view::npos) return false;
    line = s.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    s.remove_prefix(lf + 1);
    return true;
}

bool is_name_char(char c) {
    // RFC 3862 §3.1 Header-name: token characters; '.' separates an NS prefix.
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-':
        case '.':
        case '!':
        case '%':
        case '*':
        case '_':
        case '+':
        case '`':
        case '\'':
        case '~':
            return true;
        default:
            return false;
    }
}

Result<CpimHeader, CpimFailure> parse_header_line(std::string_view line) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return fail(CpimError::BadHeaderLine, "no header name and ':'");
    CpimHeader h;
    h.name = std::string(line.substr(0, colon));
    for (char c : h.name)
        if (!is_name_char(c)) return fail(CpimError::BadHeaderLine, "bad header name");
    std::string_view rest = line.substr(colon + 1);
    // Parameters (";lang=fr") come before the value, each up to the next ';' or space.
    while (!rest.empty() && rest.front() == ';') {
        const auto end = rest.find_first_of(" \t", 1);
        const auto next = rest.find(';', 1);
        const auto stop = std::min(end, next);
        h.params += std::string(rest.substr(0, stop));
        rest = stop == std::string_view::npos ? std::string_view{} : rest.substr(stop);
    }
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
        rest.remove_prefix(1);
    h.value = std::string(rest);
    return h;
}

// Reads header lines up to the empty line; `count` accumulates over both blocks.
Result<std::vector<CpimHeader>, CpimFailure> parse_block(std::string_view& s,
                                                         const CpimLimits& limits,
                                                         std::size_t& count) {
    std::vector<CpimHeader> out;
    std::string_view line;
    while (true) {
        if (!take_line(s, line)) {
            if (s.size() > limits.max_line_bytes) return fail(CpimError::LineTooLong);
            return fail(CpimError::NoHeaderEnd);
        }
        if (line.empty()) return out;
        if (line.size() > limits.max_line_bytes) return fail(CpimError::LineTooLong);
        if (line.front() == ' ' || line.front() == '\t')
            return fail(CpimError::BadHeaderLine, "folded header line");
        if (++count > limits.max_headers)
            return fail(CpimError::TooManyHeaders,
                        "more than " + std::to_string(limits.max_headers));
        if (!is_valid_utf8(line)) return fail(CpimError::InvalidUtf8);
        auto h = parse_header_line(line);
        if (!h) return Unexpected(std::move(h).error());
        out.push_back(std::move(*h));
    }
}

const CpimHeader* find(const std::vector<CpimHeader>& hs, std::string_view name) {
    for (const auto& h : hs)
        if (iequals_ascii(h.name, name)) return &h;
    return nullptr;
}

std::string angle_uri(const CpimHeader* h) {
    if (h == nullptr) return {};
    const auto open = h->value.find('<');
    const auto close = h->value.rfind('>');
    if (open == std::string::npos || close == std::string::npos || close < open) return {};
    return h->value.substr(open + 1, close - open - 1);
}

// Reads exactly `n` digits.
bool digits(std::string_view& s, std::size_t n, int& out) {
    if (s.size() < n) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    return true;
}

bool expect(std::string_view& s, char c) {
    if (s.empty() || (s.front() != c && !(c == 'T' && s.front() == 't'))) return false;
    s.remove_prefix(1);
    return true;
}

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

}  // namespace

std::string_view describe(CpimError e) {
    switch (e) {
        case CpimError::NoHeaderEnd:
            return "CPIM headers do not end with an empty line";
        case CpimError::BadHeaderLine:
            return "malformed CPIM header line";
        case CpimError::TooManyHeaders:
            return "too many CPIM headers";
        case CpimError::LineTooLong:
            return "CPIM header line too long";
        case CpimError::InvalidUtf8:
            return "CPIM header is not UTF-8";
        case CpimError::MissingContentType:
            return "the CPIM payload has no Content-Type";
    }
    return "malformed message/cpim";
}

std::string CpimFailure::describe() const {
    std::string s(gateway::describe(error));
    if (!detail.empty()) s += ": " + detail;
    return s;
}

const CpimHeader* CpimMessage::header(std::string_view name) const {
    return find(headers, name);
}

const CpimHeader* CpimMessage::content_header(std::string_view name) const {
    return find(content_headers, name);
}

std::string CpimMessage::from_uri() const {
    return angle_uri(header("From"));
}

std::string CpimMessage::to_uri() const {
    return angle_uri(header("To"));
}

std::string CpimMessage::subject() const {
    const CpimHeader* h = header("Subject");
    return h ? h->value : std::string();
}

std::string CpimMessage::subject_lang() const {
    const CpimHeader* h = header("Subject");
    if (h == nullptr) return {};
    std::string_view p = h->params;
    while (!p.empty()) {
        p.remove_prefix(1);  // ';'
        const auto next = p.find(';');
        const std::string_view one = p.substr(0, next);
        if (one.size() > 5 && iequals_ascii(one.substr(0, 5), "lang="))
            return std::string(one.substr(5));
        p = next == std::string_view::npos ? std::string_view{} : p.substr(next);
    }
    return {};
}

Result<CpimMessage, CpimFailure> parse_cpim(std::string_view s, const CpimLimits& limits) {
    CpimMessage m;
    std::size_t count = 0;
    auto headers = parse_block(s, limits, count);
    if (!headers) return Unexpected(std::move(headers).error());
    m.headers = std::move(*headers);
    auto content = parse_block(s, limits, count);
    if (!content) return Unexpected(std::move(content).error());
    m.content_headers = std::move(*content);
    const CpimHeader* ct = m.content_header("Content-Type");
    if (ct == nullptr) return fail(CpimError::MissingContentType);
    m.content_type = ct->value;
    m.body = std::string(s);
    return m;
}

std::optional<std::string> datetime_to_utc(std::string_view s) {
    // date-time = full-date "T" full-time; full-time = partial-time time-offset (RFC 3339 §5.6)
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (!digits(s, 4, y) || !expect(s, '-') || !digits(s, 2, mo) || !expect(s, '-') ||
        !digits(s, 2, d) || !expect(s, 'T') || !digits(s, 2, h) || !expect(s, ':') ||
        !digits(s, 2, mi) || !expect(s, ':') || !digits(s, 2, se))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return std::nullopt;
    std::string frac;
    if (!s.empty() && s.front() == '.') {
        s.remove_prefix(1);
        std::size_t n = 0;
        while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 9)
            ++n;
        if (n == 0) return std::nullopt;
        frac = "." + std::string(s.substr(0, n));
        s.remove_prefix(n);
    }
    int offset_min = 0;
    if (!s.empty() && (s.front() == 'Z' || s.front() == 'z')) {
        s.remove_prefix(1);
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        const int sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
        int oh = 0, om = 0;
        if (!digits(s, 2, oh) || !expect(s, ':') || !digits(s, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_min = sign * (oh * 60 + om);
    } else {
        return std::nullopt;
    }
    if (!s.empty()) return std::nullopt;
    if (se == 60) se = 59;  // a leap second cannot be represented after conversion; clamp
    std::int64_t t = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    t = t * 1440 + h * 60 + mi - offset_min;  // minutes since the epoch, in UTC
    std::int64_t days = t >= 0 ? t / 1440 : (t - 1439) / 1440;
    const auto minute_of_day = static_cast<int>(t - days * 1440);
    int uy = 0, um = 0, ud = 0;
    civil_from_days(days, uy, um, ud);
    if (uy < 0 || uy > 9999) return std::nullopt;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", uy, um, ud, minute_of_day / 60,
                  minute_of_day % 60, se);
    return std::string(buf) + frac + "Z";
}

}  // namespace fedgw::gateway
