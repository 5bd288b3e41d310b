// DbError: kind names, the SQLite result-code mapping and describe().
//
// Loop-bound edge (common/db).
#include "common/db/db_error.hpp"

#include <sqlite3.h>

#include <array>
#include <utility>

namespace fedgw {
namespace {

struct KindText {
    DbErrorKind kind;
    std::string_view name;
    std::string_view text;
};

constexpr std::array<KindText, 11> kKinds{{
    {DbErrorKind::OpenFailed, "open-failed", "cannot open database"},
    {DbErrorKind::NotADatabase, "not-a-database", "not a database or damaged"},
    {DbErrorKind::Busy, "busy", "database busy"},
    {DbErrorKind::Constraint, "constraint", "constraint violated"},
    {DbErrorKind::ReadOnly, "read-only", "database is read-only"},
    {DbErrorKind::Io, "io", "database I/O error"},
    {DbErrorKind::Sql, "sql", "SQL error"},
    {DbErrorKind::Misuse, "misuse", "database API misuse"},
    {DbErrorKind::SchemaTooNew, "schema-too-new", "database schema is newer than this program"},
    {DbErrorKind::MigrationFailed, "migration-failed", "schema migration failed"},
    {DbErrorKind::Other, "other", "database error"},
}};

const KindText& entry(DbErrorKind kind) {
    for (const auto& k : kKinds) {
        if (k.kind == kind) return k;
    }
    return kKinds.back();
}

}  // namespace

std::string_view describe(DbErrorKind kind) {
    return entry(kind).text;
}

std::string_view kind_name(DbErrorKind kind) {
    return entry(kind).name;
}

DbErrorKind kind_from_sqlite(int code) {
    switch (code & 0xff) {  // the primary code is the low byte of an extended code
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_AUTH:
            return DbErrorKind::OpenFailed;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
            return DbErrorKind::NotADatabase;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return DbErrorKind::Busy;
        case SQLITE_CONSTRAINT:
            return DbErrorKind::Constraint;
        case SQLITE_READONLY:
            return DbErrorKind::ReadOnly;
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_PROTOCOL:
            return DbErrorKind::Io;
        case SQLITE_ERROR:
        case SQLITE_SCHEMA:
        case SQLITE_MISMATCH:
            return DbErrorKind::Sql;
        case SQLITE_MISUSE:
        case SQLITE_RANGE:
            return DbErrorKind::Misuse;
        default:
            return DbErrorKind::Other;
    }
}

std::string DbError::describe() const {
    std::string out{fedgw::describe(kind)};
    if (!message.empty()) {
        out += ": ";
        out += message;
    }
    out += " [db ";
    out += path.empty() ? std::string_view{"(in memory)"} : std::string_view{path};
    if (sqlite_code != 0) {
        out += ", sqlite code ";
        out += std::to_string(sqlite_code);
        if (const char* s = sqlite3_errstr(sqlite_code); s != nullptr && message != s) {
            out += " \"";
            out += s;
            out += '"';
        }
    }
    out += ']';
    return out;
}

}  // namespace fedgw
