#include "common/log/log.hpp"

#include <sys/time.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace fedgw::log {
namespace {

Level g_level = Level::Info;
bool g_bodies = false;
Sink g_sink;
const bool g_journald = std::getenv("JOURNAL_STREAM") != nullptr;

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (unsigned char c : v)
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
    return false;
}

void append_value(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        out += v;
        return;
    }
    out += '"';
    for (unsigned char c : v) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

int syslog_priority(Level l) {
    switch (l) {
        case Level::Debug: return 7;
        case Level::Info: return 6;
        case Level::Warn: return 4;
        case Level::Error: return 3;
    }
    return 6;
}

}  // namespace

std::string_view level_name(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warn: return "warn";
        case Level::Error: return "error";
    }
    return "info";
}

std::optional<Level> level_from_name(std::string_view name) {
    if (name == "debug") return Level::Debug;
    if (name == "info") return Level::Info;
    if (name == "warn" || name == "warning") return Level::Warn;
    if (name == "error") return Level::Error;
    return std::nullopt;
}

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }
bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(g_level); }
void set_sink(Sink sink) { g_sink = std::move(sink); }
void set_log_bodies(bool on) { g_bodies = on; }
bool log_bodies() { return g_bodies; }

std::string format_line(Level l, std::string_view event, std::initializer_list<Field> fields,
                        bool with_timestamp) {
    std::string out;
    out.reserve(96);
    if (with_timestamp) {
        timeval tv{};
        gettimeofday(&tv, nullptr);
        tm utc{};
        gmtime_r(&tv.tv_sec, &utc);
        char buf[96];
        std::snprintf(buf, sizeof buf, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                      utc.tm_sec, static_cast<int>(tv.tv_usec / 1000));
        out += buf;
    }
    out += "level=";
    out += level_name(l);
    out += " event=";
    append_value(out, event);
    for (const auto& f : fields) {
        out += ' ';
        out += f.key;
        out += '=';
        append_value(out, f.value);
    }
    return out;
}

void write(Level l, std::string_view event, std::initializer_list<Field> fields) {
    if (g_sink) {
        g_sink(l, format_line(l, event, fields, false));
        return;
    }
    std::string line;
    if (g_journald) {
        line = "<" + std::to_string(syslog_priority(l)) + ">";
        line += format_line(l, event, fields, false);
    } else {
        line = format_line(l, event, fields, true);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string body(std::string_view text) {
    if (g_bodies) return std::string(text);
    return "[withheld: " + std::to_string(text.size()) + " bytes]";
}

}  // namespace fedgw::log
