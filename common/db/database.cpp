// Database: opening the registry file with its pragmas, and the basic statement helpers.
// Migrations are in migrate.cpp.
//
// Loop-bound edge (common/db). See ../shared/reference/dependencies.md §7 for why each pragma.
#include "common/db/database.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/db/sqlite_error.hpp"
#include "common/log/log.hpp"

namespace fedgw {

using db_detail::our_error;
using db_detail::sql_excerpt;
using db_detail::sqlite_error;

namespace {

constexpr std::string_view kMemory = ":memory:";

bool is_busy(int rc) {
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

DbError errno_error(const std::string& path, std::string_view what, int err) {
    return DbError{DbErrorKind::OpenFailed, std::string(what) + ": " + std::strerror(err), path, 0};
}

// Creates the database file owner-only before SQLite sees it, so that the dialback secret is
// never in a file others can read, and without touching the process-wide umask (other threads
// may be creating files). SQLite treats an empty file as a new database and gives the -wal and
// -shm files it creates later the main file's permissions. O_EXCL settles a race with another
// process: whoever loses opens the winner's file. Returns whether this call created the file.
Result<bool, DbError> create_owner_only(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return false;
        return Unexpected(errno_error(path, "cannot create the database file", errno));
    }
    // The umask can only remove bits from 0600; fchmod makes sure the owner can read and write.
    const int chmod_rc = ::fchmod(fd, 0600);
    const int chmod_errno = errno;
    ::close(fd);
    if (chmod_rc != 0) {
        return Unexpected(
            errno_error(path, "cannot make the database file owner-only", chmod_errno));
    }
    return true;
}

void warn_if_readable_by_others(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return;
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        log::warn("db.permissions",
                  {{"path", path},
                   {"mode", octal_mode(st.st_mode)},
                   {"hint", "the registry holds the dialback secret; chmod 600"}});
    }
}

}  // namespace

Result<Database, DbError> Database::open(const std::string& path, const DbOptions& options) {
    const bool memory = path == kMemory;
    const bool create = options.create && !options.read_only;
    bool created = false;
    if (create && !memory) {
        auto c = create_owner_only(path);
        if (!c) return Unexpected(std::move(c.error()));
        created = *c;
    }

    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (options.read_only) {
        flags |= SQLITE_OPEN_READONLY;
    } else {
        flags |= SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    }
    sqlite3* handle = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
    Database db(handle, path, options.read_only);  // closes the handle on every return below
    if (rc != SQLITE_OK) {
        DbError e = sqlite_error(handle, rc);
        e.kind = kind_from_sqlite(rc) == DbErrorKind::Other ? DbErrorKind::OpenFailed
                                                            : kind_from_sqlite(rc);
        e.path = path;
        return Unexpected(std::move(e));
    }
    // A file created above is left in place on failure: another process may already have
    // opened it, and an empty file is a valid empty database.
    if (auto r = db.configure(options); !r) {
        DbError e = std::move(r.error());
        e.path = path;
        return Unexpected(std::move(e));
    }
    if (!memory && !created) warn_if_readable_by_others(path);
    return db;
}

Result<void, DbError> Database::configure(const DbOptions& options) {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, std::max(0, options.busy_timeout_ms));
    // SQLite quietly opens a file it cannot write read-only, even when asked for read-write;
    // say so now rather than at the first write.
    if (!options.read_only && sqlite3_db_readonly(db_, "main") == 1) {
        return Unexpected(our_error(db_, DbErrorKind::ReadOnly,
                                    "the database file or its directory is not writable"));
    }
    if (options.read_only) {
        // Reading the schema cookie makes SQLite read the header: a file that is not a
        // database fails here rather than at the first real query.
        if (auto r = query_int64("PRAGMA schema_version"); !r) return Unexpected(r.error());
    } else {
        if (auto r = set_wal(options.busy_timeout_ms); !r) return r;
    }
    // Safe with WAL; only the last transactions can be lost on power failure.
    if (auto r = exec("PRAGMA synchronous=NORMAL"); !r) return r;
    if (auto r = exec("PRAGMA foreign_keys=ON"); !r) return r;
    return {};
}

// PRAGMA journal_mode=WAL is persistent, but switching a new file can fail with SQLITE_BUSY at
// once, without the busy handler, when two processes race (4 runs in 20, dependencies.md §7).
// So retry it for up to the busy timeout.
Result<void, DbError> Database::set_wal(int busy_timeout_ms) {
    int waited_ms = 0;
    int pause_ms = 2;
    for (;;) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &raw, nullptr);
        std::string mode;
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(raw);
            if (rc == SQLITE_ROW) {
                const auto* text = sqlite3_column_text(raw, 0);
                mode = text != nullptr ? reinterpret_cast<const char*>(text) : "";
                rc = SQLITE_OK;
            }
        }
        DbError e = rc != SQLITE_OK ? sqlite_error(db_, rc, "PRAGMA journal_mode=WAL") : DbError{};
        sqlite3_finalize(raw);
        if (rc == SQLITE_OK) {
            // An in-memory database answers "memory"; a file that cannot do WAL keeps its mode.
            if (mode == "wal" || (path_ == kMemory && mode == "memory")) return {};
            return Unexpected(our_error(db_, DbErrorKind::OpenFailed,
                                        "journal_mode stayed '" + mode +
                                            "' instead of 'wal' (WAL needs a local filesystem)"));
        }
        if (!is_busy(rc) || waited_ms >= busy_timeout_ms) return Unexpected(std::move(e));
        sqlite3_sleep(pause_ms);
        waited_ms += pause_ms;
        pause_ms = std::min(pause_ms * 2, 100);
    }
}

Database::Database(Database&& other) noexcept
    : db_(other.db_), path_(std::move(other.path_)), read_only_(other.read_only_) {
    other.db_ = nullptr;
}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        sqlite3_close_v2(db_);
        db_ = other.db_;
        path_ = std::move(other.path_);
        read_only_ = other.read_only_;
        other.db_ = nullptr;
    }
    return *this;
}

// close_v2: if a Statement was (wrongly) kept past its Database, the handle lingers as a
// zombie until that statement is finalized instead of leaving it dangling.
Database::~Database() {
    sqlite3_close_v2(db_);
}

Result<void, DbError> Database::exec(std::string_view sql) {
    const std::string text(sql);  // sqlite3_exec wants a NUL-terminated string
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg);
    sqlite3_free(msg);  // sqlite3_errmsg() has the same text
    if (rc != SQLITE_OK) return Unexpected(sqlite_error(db_, rc, "`" + sql_excerpt(sql) + "`"));
    return {};
}

Result<Statement, DbError> Database::prepare(std::string_view sql) {
    if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
        return Unexpected(our_error(db_, DbErrorKind::Misuse, "SQL text too long"));
    }
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(raw);
        return Unexpected(sqlite_error(db_, rc, "prepare `" + sql_excerpt(sql) + "`"));
    }
    if (raw == nullptr) {
        return Unexpected(
            our_error(db_, DbErrorKind::Misuse, "no SQL statement in `" + sql_excerpt(sql) + "`"));
    }
    Statement st(db_, raw);
    // prepare() takes exactly one statement; anything after it would be silently ignored.
    const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
        return Unexpected(our_error(
            db_, DbErrorKind::Misuse,
            "more than one statement in `" + sql_excerpt(sql) + "`; use exec() for scripts"));
    }
    return st;
}

Result<std::int64_t, DbError> Database::query_int64(std::string_view sql) {
    auto st = prepare(sql);
    if (!st) return Unexpected(std::move(st.error()));
    auto step = st->step();
    if (!step) return Unexpected(std::move(step.error()));
    if (*step != Step::Row || st->column_count() < 1) {
        return Unexpected(
            our_error(db_, DbErrorKind::Sql, "no row from `" + sql_excerpt(sql) + "`"));
    }
    const std::int64_t value = st->column_int64(0);
    st->reset();
    return value;
}

Result<Transaction, DbError> Database::begin(TxMode mode) {
    const char* sql = mode == TxMode::Immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED";
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Unexpected(sqlite_error(db_, rc, sql));
    return Transaction(db_);
}

Result<std::int64_t, DbError> Database::data_version() {
    return query_int64("PRAGMA data_version");
}

Result<int, DbError> Database::user_version() {
    auto v = query_int64("PRAGMA user_version");
    if (!v) return Unexpected(std::move(v.error()));
    return static_cast<int>(*v);  // the header field is a 32-bit signed integer
}

std::int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_);
}

std::int64_t Database::changes() const {
    return sqlite3_changes64(db_);
}

bool Database::in_transaction() const {
    return db_ != nullptr && sqlite3_get_autocommit(db_) == 0;
}

}  // namespace fedgw
