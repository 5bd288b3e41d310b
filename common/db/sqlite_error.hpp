// Internal to common/db: building a DbError from an SQLite connection's state.
//
// Loop-bound edge (common/db). Includes sqlite3.h, so only common/db's own .cpp files use it.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <utility>

#include "common/db/db_error.hpp"

namespace fedgw::db_detail {

// The connection's file name ("" for an in-memory database or a null handle).
inline std::string db_path(sqlite3* db) {
    if (db == nullptr) return {};
    const char* name = sqlite3_db_filename(db, "main");
    return name != nullptr ? std::string(name) : std::string();
}

// An error from SQLite result code `rc` on `db`, with sqlite3_errmsg() and, when given, what
// we were doing ("prepare `SELECT ...`").
inline DbError sqlite_error(sqlite3* db, int rc, std::string_view context = {}) {
    DbError e;
    e.kind = kind_from_sqlite(rc);
    e.sqlite_code = rc;
    const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    e.message = msg != nullptr ? msg : "";
    if (!context.empty()) {
        e.message += " (";
        e.message += context;
        e.message += ')';
    }
    e.path = db_path(db);
    return e;
}

// An error of ours (no SQLite code).
inline DbError our_error(sqlite3* db, DbErrorKind kind, std::string message) {
    return DbError{kind, std::move(message), db_path(db), 0};
}

// The first `max` bytes of an SQL text, on one line, for error messages.
inline std::string sql_excerpt(std::string_view sql, std::size_t max = 80) {
    std::string out;
    for (char c : sql.substr(0, max))
        out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    if (sql.size() > max) out += "...";
    return out;
}

}  // namespace fedgw::db_detail
