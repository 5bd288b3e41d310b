// Internal to common/config: reads one TOML table into typed fields, tracking the dotted key
// path for messages, the schema's keys for typo detection, and the first error met.
//
// Pure: works on an already parsed toml::table. Readers carry on after an error and leave the
// field at its default, so a section parser reads straight through without checking each call;
// parse_config reports the first error (in schema order) once the whole file has been read.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/base/result.hpp"
#include "common/config/config.hpp"
#include "common/config/duration.hpp"

namespace fedgw::config_detail {

// Parses one string value: the value or a message quoting it.
template <class T>
using Parser = Result<T, std::string> (*)(std::string_view);

class Errors {
  public:
    explicit Errors(std::string file) : file_(std::move(file)) {}

    bool ok() const { return !first_.has_value(); }
    // Records the error unless an earlier one is already recorded.
    void add(ConfigErrorCode code, std::string key, const toml::source_region* where,
             std::string message);
    const ConfigError& first() const { return *first_; }

  private:
    std::string file_;
    std::optional<ConfigError> first_;
};

// "a" + "b" -> "a.b"; keys that are not bare TOML keys are quoted: a."b c".
std::string join_key(std::string_view path, std::string_view key);
// "a string", "an integer", ...: for "must be X, not Y".
std::string_view type_phrase(const toml::node& n);

class TableReader {
  public:
    TableReader(const toml::table& table, std::string path, Errors& errors)
        : table_(table), path_(std::move(path)), errors_(errors) {}

    // Every reader marks `key` as part of the schema and leaves `out` unchanged when the key is
    // absent or its value is refused.
    void string(std::string_view key, std::string& out);
    void duration(std::string_view key, Duration& out, Duration min, Duration max);
    void number(std::string_view key, double& out, double min, double max);
    // A string value converted by parse.
    template <class T>
    void value(std::string_view key, T& out, Parser<T> parse);
    template <class T>
    void value(std::string_view key, std::optional<T>& out, Parser<T> parse);
    // An array of strings, each converted by parse; duplicates are refused.
    template <class T>
    void list(std::string_view key, std::vector<T>& out, Parser<T> parse, bool may_be_empty);
    // A sub-table, or nullptr when absent or not a table.
    const toml::table* table(std::string_view key);
    // An array of tables ([[key]]), or nullptr when absent or of another type.
    const toml::array* table_array(std::string_view key);

    // Records an InvalidValue error at key (positioned at its value when present).
    void invalid(std::string_view key, std::string message);
    // Records an UnknownKey error for every key the readers above were not asked for. Call
    // after all reads.
    void finish();

    std::string key_path(std::string_view key) const { return join_key(path_, key); }
    Errors& errors() { return errors_; }

  private:
    // Marks the key known and returns its node, or nullptr when absent.
    const toml::node* get(std::string_view key);
    void wrong_type(std::string_view key, const toml::node& n, std::string_view wanted);
    template <class T>
    std::optional<T> convert(const std::string& key, const toml::node& n, Parser<T> parse);

    const toml::table& table_;
    std::string path_;
    Errors& errors_;
    std::vector<std::string> known_;
};

// ---- templates ---------------------------------------------------------------------------

template <class T>
std::optional<T> TableReader::convert(const std::string& key, const toml::node& n,
                                      Parser<T> parse) {
    const auto* s = n.as_string();
    if (s == nullptr) {
        errors_.add(ConfigErrorCode::WrongType, key, &n.source(),
                    "must be a string, not " + std::string(type_phrase(n)));
        return std::nullopt;
    }
    auto r = parse(s->get());
    if (!r) {
        errors_.add(ConfigErrorCode::InvalidValue, key, &n.source(), std::move(r).error());
        return std::nullopt;
    }
    return std::move(*r);
}

template <class T>
void TableReader::value(std::string_view key, T& out, Parser<T> parse) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (auto v = convert(key_path(key), *n, parse)) out = std::move(*v);
}

template <class T>
void TableReader::value(std::string_view key, std::optional<T>& out, Parser<T> parse) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (auto v = convert(key_path(key), *n, parse)) out = std::move(*v);
}

template <class T>
void TableReader::list(std::string_view key, std::vector<T>& out, Parser<T> parse,
                       bool may_be_empty) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const toml::array* arr = n->as_array();
    if (arr == nullptr) {
        wrong_type(key, *n, "an array of strings");
        return;
    }
    if (arr->empty() && !may_be_empty) {
        errors_.add(ConfigErrorCode::InvalidValue, key_path(key), &n->source(),
                    "must not be empty");
        return;
    }
    std::vector<T> values;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const std::string element = key_path(key) + "[" + std::to_string(i) + "]";
        const toml::node& e = *arr->get(i);
        auto v = convert(element, e, parse);
        if (!v) return;
        for (std::size_t j = 0; j < values.size(); ++j) {
            if (values[j] == *v) {
                errors_.add(ConfigErrorCode::InvalidValue, element, &e.source(),
                            "duplicate of " + key_path(key) + "[" + std::to_string(j) + "]");
                return;
            }
        }
        values.push_back(std::move(*v));
    }
    out = std::move(values);
}

}  // namespace fedgw::config_detail
