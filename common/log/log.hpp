// Structured logging: one line per event, key=value fields (logfmt), four levels.
//
// Loop-bound edge (it reads the clock and writes to stderr), kept tiny so every layer can use
// it. Lines look like
//   ts=2026-11-21T06:56:26.123Z level=warn event=s2s.refused domain=evil.example rule=blocked
// When stderr is connected to journald (JOURNAL_STREAM is set) the timestamp is left to the
// journal and each line starts with its syslog priority, "<4>", which journald understands.
// Message bodies are never logged unless set_log_bodies(true): use log::body(text) for them.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace fedgw::log {

enum class Level { Debug, Info, Warn, Error };

std::string_view level_name(Level l);
std::optional<Level> level_from_name(std::string_view name);

struct Field {
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
    Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
    template <class N>
        requires(std::is_arithmetic_v<N> && !std::is_same_v<N, bool> && !std::is_same_v<N, char>)
    Field(std::string_view k, N v) : key(k), value(std::to_string(v)) {}

    std::string_view key;
    std::string value;
};

// The sink receives a finished line without the trailing newline.
using Sink = std::function<void(Level, std::string_view line)>;

void set_level(Level l);
Level level();
bool enabled(Level l);
// Replace the sink (tests capture lines); an empty function restores stderr.
void set_sink(Sink sink);
void set_log_bodies(bool on);
bool log_bodies();

// Formats one event line; exposed for tests. Values with spaces, quotes, '=' or control
// characters are quoted and escaped so one event is always one line.
std::string format_line(Level l, std::string_view event, std::initializer_list<Field> fields,
                        bool with_timestamp);

void write(Level l, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> f = {}) {
    if (enabled(Level::Debug)) write(Level::Debug, event, f);
}
inline void info(std::string_view event, std::initializer_list<Field> f = {}) {
    if (enabled(Level::Info)) write(Level::Info, event, f);
}
inline void warn(std::string_view event, std::initializer_list<Field> f = {}) {
    if (enabled(Level::Warn)) write(Level::Warn, event, f);
}
inline void error(std::string_view event, std::initializer_list<Field> f = {}) {
    if (enabled(Level::Error)) write(Level::Error, event, f);
}

// A message body as it may appear in a log: itself when body logging is on, otherwise
// "[withheld: N bytes]".
std::string body(std::string_view text);

}  // namespace fedgw::log
