// Errors from the SQLite edge: a closed set of kinds, with SQLite's own message, its extended
// result code and the database path kept for describe().
//
// Loop-bound edge (part of common/db, the I/O adapter around sqlite3); this header itself
// includes nothing from SQLite.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fedgw {

enum class DbErrorKind {
    OpenFailed,       // the file could not be opened or set up (directory, permissions, no WAL)
    NotADatabase,     // the file is not an SQLite database, or it is damaged
    Busy,             // another connection held the lock for longer than the busy timeout
    Constraint,       // a UNIQUE, CHECK, NOT NULL, FOREIGN KEY or trigger constraint refused it
    ReadOnly,         // a write on a read-only connection or file
    Io,               // disk I/O error or disk full
    Sql,              // the statement failed to compile or run (bad SQL, no such table, ...)
    Misuse,           // API misuse: unknown parameter name, bind index out of range, ...
    SchemaTooNew,     // the file's schema version is newer than this build knows
    MigrationFailed,  // a migration failed or the list is malformed; nothing was applied
    Other,            // any other SQLite failure; the code and message say which
};

struct DbError {
    DbErrorKind kind = DbErrorKind::Other;
    std::string message;  // SQLite's message (sqlite3_errmsg) or ours
    std::string path;     // the database file; empty for an in-memory database
    int sqlite_code = 0;  // extended result code, 0 when the error is ours, not SQLite's

    // One line for logs and operators, e.g.
    // "database busy: database is locked (sqlite SQLITE_BUSY, 5) [db /var/lib/fedgw/registry.db]"
    std::string describe() const;
};

// A short text for the kind: "database busy", "constraint violated", ...
std::string_view describe(DbErrorKind kind);
// The stable identifier used in logs: "busy", "constraint", "schema-too-new", ...
std::string_view kind_name(DbErrorKind kind);
// The kind an SQLite (extended) result code falls under.
DbErrorKind kind_from_sqlite(int code);

}  // namespace fedgw
