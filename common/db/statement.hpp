// Statement: one prepared SQLite statement, finalized on destruction; binding by index or name,
// stepping, and column accessors.
//
// Loop-bound edge (common/db). The header forward-declares the SQLite types so that users do
// not include sqlite3.h. A Statement must not outlive the Database that prepared it.
//
//   auto st = db.prepare("SELECT type FROM partners WHERE domain = :domain");
//   st->bind(":domain", domain);
//   while (true) {
//       auto step = st->step();
//       if (!step) return Unexpected(step.error());
//       if (*step == Step::Done) break;
//       use(st->column_text(0));
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/base/result.hpp"
#include "common/db/db_error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace fedgw {

// What one step() produced: a row to read, or the end of the statement.
enum class Step { Row, Done };

// A parameter by 1-based index (?1, or the n-th ?) or by name including its prefix
// (":domain", "@domain", "$domain"). Implicit on purpose, so that bind(1, x) and
// bind(":domain", x) both read naturally.
class Param {
  public:
    Param(int index) : index_(index) {}                            // NOLINT
    Param(const char* name) : name_(name), named_(true) {}         // NOLINT
    Param(std::string_view name) : name_(name), named_(true) {}    // NOLINT
    Param(const std::string& name) : name_(name), named_(true) {}  // NOLINT

    bool is_named() const { return named_; }
    int index() const { return index_; }
    std::string_view name() const { return name_; }

  private:
    int index_ = 0;
    std::string_view name_;
    bool named_ = false;
};

namespace db_detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class>
inline constexpr bool kAlwaysFalse = false;
}  // namespace db_detail

class Statement {
  public:
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    // Binding. Text is copied (SQLITE_TRANSIENT), so the argument may die right after the call.
    // A binding that fails (unknown name, index out of range, out of memory) is remembered and
    // returned by the next step(), so a run of binds needs no error check of its own.
    Statement& bind_int64(Param p, std::int64_t value);
    Statement& bind_text(Param p, std::string_view text);
    Statement& bind_null(Param p);

    // bind(p, v) for integers and bool (stored as INTEGER), anything convertible to
    // std::string_view (TEXT), std::nullopt / nullptr (NULL) and std::optional of those.
    template <class T>
    Statement& bind(Param p, const T& value) {
        using V = std::remove_cvref_t<T>;
        if constexpr (std::is_same_v<V, std::nullptr_t> || std::is_same_v<V, std::nullopt_t>) {
            return bind_null(p);
        } else if constexpr (db_detail::IsOptional<V>::value) {
            if (!value.has_value()) return bind_null(p);
            return bind(p, *value);
        } else if constexpr (std::is_same_v<V, bool>) {
            return bind_int64(p, value ? 1 : 0);
        } else if constexpr (std::is_integral_v<V>) {
            static_assert(!std::is_same_v<V, char>, "bind a char as text, not as an integer");
            static_assert(std::is_signed_v<V> || sizeof(V) < sizeof(std::int64_t),
                          "a uint64_t may not fit SQLite's INTEGER; convert it explicitly");
            return bind_int64(p, static_cast<std::int64_t>(value));
        } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
            return bind_text(p, std::string_view(value));
        } else {
            static_assert(db_detail::kAlwaysFalse<T>, "no SQLite binding for this type");
        }
    }

    // Binds the arguments to ?1, ?2, ... in order.
    template <class... Ts>
    Statement& bind_all(const Ts&... values) {
        int index = 0;
        (bind(++index, values), ...);
        return *this;
    }

    // Runs the statement one step. On Done or an error the statement is reset, so it holds no
    // read transaction open; after a Row, call reset() (or step to Done) when finished with it.
    Result<Step, DbError> step();
    // Steps to Done, refusing a statement that returns a row: for INSERT/UPDATE/DELETE.
    Result<void, DbError> run();
    // Rewinds the statement; bindings stay.
    void reset();
    // Sets every parameter back to NULL.
    void clear_bindings();

    // Columns of the current row (after step() returned Row); col is 0-based (out of range is
    // a programmer error, asserted). NULL reads as 0 or as an empty text: use is_null() or the
    // column_optional_* accessors where NULL means something. Text views stay valid until the
    // next step(), reset() or destruction.
    int column_count() const;
    std::string_view column_name(int col) const;
    bool is_null(int col) const;
    std::int64_t column_int64(int col) const;
    std::string_view column_text(int col) const;
    std::string column_string(int col) const { return std::string(column_text(col)); }
    std::optional<std::int64_t> column_optional_int64(int col) const;
    std::optional<std::string> column_optional_string(int col) const;

    // The SQL text as prepared.
    std::string_view sql() const;

  private:
    friend class Database;
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    Statement& remember_bind_failure(int rc, Param p);
    int resolve(Param p);

    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    std::optional<DbError> bind_error_;
};

}  // namespace fedgw
