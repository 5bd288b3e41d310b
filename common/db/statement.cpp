// Statement: prepared-statement RAII, binding, stepping and column access.
//
// Loop-bound edge (common/db).
#include "common/db/statement.hpp"

#include <sqlite3.h>

#include <cassert>
#include <limits>
#include <string>

#include "common/db/sqlite_error.hpp"

namespace fedgw {

using db_detail::our_error;
using db_detail::sqlite_error;

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_error_(std::move(other.bind_error_)) {
    other.db_ = nullptr;
    other.stmt_ = nullptr;
    other.bind_error_.reset();
}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        db_ = other.db_;
        stmt_ = other.stmt_;
        bind_error_ = std::move(other.bind_error_);
        other.db_ = nullptr;
        other.stmt_ = nullptr;
        other.bind_error_.reset();
    }
    return *this;
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

int Statement::resolve(Param p) {
    if (!p.is_named()) return p.index();
    // sqlite3_bind_parameter_index wants a NUL-terminated name.
    const std::string name(p.name());
    return sqlite3_bind_parameter_index(stmt_, name.c_str());
}

Statement& Statement::remember_bind_failure(int rc, Param p) {
    if (rc == SQLITE_OK || bind_error_.has_value()) return *this;
    const std::string which = p.is_named() ? "parameter " + std::string(p.name())
                                           : "parameter ?" + std::to_string(p.index());
    if (rc == SQLITE_RANGE) {
        bind_error_ = our_error(db_, DbErrorKind::Misuse,
                                "no " + which + " in `" + db_detail::sql_excerpt(sql()) + "`");
        bind_error_->sqlite_code = rc;
    } else {
        bind_error_ = sqlite_error(db_, rc, "binding " + which);
    }
    return *this;
}

Statement& Statement::bind_int64(Param p, std::int64_t value) {
    assert(stmt_ != nullptr);
    const int index = resolve(p);
    const int rc = index > 0 ? sqlite3_bind_int64(stmt_, index, value) : SQLITE_RANGE;
    return remember_bind_failure(rc, p);
}

Statement& Statement::bind_text(Param p, std::string_view text) {
    assert(stmt_ != nullptr);
    const int index = resolve(p);
    int rc = SQLITE_RANGE;
    if (index > 0) {
        if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
            rc = SQLITE_TOOBIG;
        } else {
            // A non-null pointer even for an empty view, so '' is bound, not NULL.
            rc = sqlite3_bind_text(stmt_, index, text.data() != nullptr ? text.data() : "",
                                   static_cast<int>(text.size()), SQLITE_TRANSIENT);
        }
    }
    return remember_bind_failure(rc, p);
}

Statement& Statement::bind_null(Param p) {
    assert(stmt_ != nullptr);
    const int index = resolve(p);
    const int rc = index > 0 ? sqlite3_bind_null(stmt_, index) : SQLITE_RANGE;
    return remember_bind_failure(rc, p);
}

Result<Step, DbError> Statement::step() {
    assert(stmt_ != nullptr);
    if (bind_error_.has_value()) {
        DbError e = std::move(*bind_error_);
        bind_error_.reset();
        return Unexpected(std::move(e));
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return Step::Row;
    if (rc == SQLITE_DONE) {
        sqlite3_reset(stmt_);
        return Step::Done;
    }
    DbError e = sqlite_error(db_, rc, "`" + db_detail::sql_excerpt(sql()) + "`");
    sqlite3_reset(stmt_);
    return Unexpected(std::move(e));
}

Result<void, DbError> Statement::run() {
    auto s = step();
    if (!s) return Unexpected(std::move(s.error()));
    if (*s == Step::Row) {
        reset();
        return Unexpected(our_error(db_, DbErrorKind::Misuse,
                                    "statement returned rows where none were expected: `" +
                                        db_detail::sql_excerpt(sql()) + "`"));
    }
    return {};
}

void Statement::reset() {
    assert(stmt_ != nullptr);
    sqlite3_reset(stmt_);  // returns the last step's error, which step() already reported
}

void Statement::clear_bindings() {
    assert(stmt_ != nullptr);
    sqlite3_clear_bindings(stmt_);
    bind_error_.reset();
}

int Statement::column_count() const {
    return sqlite3_column_count(stmt_);
}

std::string_view Statement::column_name(int col) const {
    assert(col >= 0 && col < column_count());
    const char* name = sqlite3_column_name(stmt_, col);
    return name != nullptr ? std::string_view(name) : std::string_view();
}

bool Statement::is_null(int col) const {
    assert(col >= 0 && col < column_count());
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int col) const {
    assert(col >= 0 && col < column_count());
    return sqlite3_column_int64(stmt_, col);
}

std::string_view Statement::column_text(int col) const {
    assert(col >= 0 && col < column_count());
    // Text first, then its length: the order SQLite documents for a stable answer.
    const auto* text = sqlite3_column_text(stmt_, col);
    const int bytes = sqlite3_column_bytes(stmt_, col);
    if (text == nullptr || bytes <= 0) return {};
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes)};
}

std::optional<std::int64_t> Statement::column_optional_int64(int col) const {
    if (is_null(col)) return std::nullopt;
    return column_int64(col);
}

std::optional<std::string> Statement::column_optional_string(int col) const {
    if (is_null(col)) return std::nullopt;
    return column_string(col);
}

std::string_view Statement::sql() const {
    const char* text = stmt_ != nullptr ? sqlite3_sql(stmt_) : nullptr;
    return text != nullptr ? std::string_view(text) : std::string_view();
}

}  // namespace fedgw
