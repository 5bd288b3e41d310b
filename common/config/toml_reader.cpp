// Reads TOML tables into typed fields; see toml_reader.hpp. Pure.
#include "common/config/toml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fedgw::config_detail {
namespace {

bool is_bare_key(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// Edit distance, for "did you mean". Keys are short, so the quadratic table is fine.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string format_number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

}  // namespace

void Errors::add(ConfigErrorCode code, std::string key, const toml::source_region* where,
                 std::string message) {
    if (first_) return;
    ConfigError e;
    e.code = code;
    e.file = file_;
    e.key = std::move(key);
    if (where != nullptr) {
        e.line = where->begin.line;
        e.column = where->begin.column;
    }
    e.message = std::move(message);
    first_ = std::move(e);
}

std::string join_key(std::string_view path, std::string_view key) {
    std::string out(path);
    if (!out.empty()) out += '.';
    if (is_bare_key(key)) {
        out.append(key);
        return out;
    }
    out += '"';
    for (char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string_view type_phrase(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

const toml::node* TableReader::get(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
}

void TableReader::wrong_type(std::string_view key, const toml::node& n, std::string_view wanted) {
    errors_.add(ConfigErrorCode::WrongType, key_path(key), &n.source(),
                "must be " + std::string(wanted) + ", not " + std::string(type_phrase(n)));
}

void TableReader::string(std::string_view key, std::string& out) {
    value<std::string>(key, out, [](std::string_view s) -> Result<std::string, std::string> {
        return std::string(s);
    });
}

void TableReader::duration(std::string_view key, Duration& out, Duration min, Duration max) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_string()) {
        wrong_type(key, *n, "a duration string with a unit, like \"30s\"");
        return;
    }
    auto d = convert(key_path(key), *n, parse_duration);
    if (!d) return;
    if (*d < min) {
        invalid(key, "must be at least " + format_duration(min));
    } else if (*d > max) {
        invalid(key, "must be at most " + format_duration(max));
    } else {
        out = *d;
    }
}

void TableReader::number(std::string_view key, double& out, double min, double max) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const std::optional<double> v = n->is_number() ? n->value<double>() : std::nullopt;
    if (!v) {
        wrong_type(key, *n, "a number");
        return;
    }
    if (!std::isfinite(*v) || *v < min || *v > max) {
        invalid(key, "must be between " + format_number(min) + " and " + format_number(max) +
                         ", not " + format_number(*v));
        return;
    }
    out = *v;
}

const toml::table* TableReader::table(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return nullptr;
    const toml::table* t = n->as_table();
    if (t == nullptr) wrong_type(key, *n, "a table");
    return t;
}

const toml::array* TableReader::table_array(std::string_view key) {
    const toml::node* n = get(key);
    if (n == nullptr) return nullptr;
    const toml::array* a = n->as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
        const std::string wanted = "an array of tables, written [[" + key_path(key) + "]]";
        wrong_type(key, *n, wanted);
        return nullptr;
    }
    return a;
}

void TableReader::invalid(std::string_view key, std::string message) {
    const toml::node* n = table_.get(key);
    const toml::source_region* where = n != nullptr ? &n->source() : &table_.source();
    errors_.add(ConfigErrorCode::InvalidValue, key_path(key), where, std::move(message));
}

void TableReader::finish() {
    for (const auto& [key, node] : table_) {
        const std::string_view name = key.str();
        if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
        const bool is_table = node.is_table() || node.is_array_of_tables();
        std::string message = is_table ? "unknown table" : "unknown key";
        const std::string* nearest = nullptr;
        std::size_t best = 3;  // suggest only close matches
        for (const std::string& k : known_) {
            const std::size_t d = edit_distance(name, k);
            if (d < best && d < k.size()) {
                best = d;
                nearest = &k;
            }
        }
        if (nearest != nullptr) {
            message += "; did you mean \"" + *nearest + "\"?";
        } else if (!known_.empty()) {
            message += " (expected one of: ";
            for (std::size_t i = 0; i < known_.size(); ++i) {
                if (i > 0) message += ", ";
                message += known_[i];
            }
            message += ")";
        }
        errors_.add(ConfigErrorCode::UnknownKey, key_path(name), &key.source(), std::move(message));
    }
}

}  // namespace fedgw::config_detail
