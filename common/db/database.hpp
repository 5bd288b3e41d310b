// Database: one SQLite connection to the fedgw registry file, opened with the pragmas every
// process needs (WAL, busy timeout, synchronous=NORMAL, foreign keys), plus numbered migrations
// keyed on PRAGMA user_version and cross-process change detection with PRAGMA data_version.
//
// Loop-bound edge (common/db): it touches the filesystem and blocks for up to the busy timeout,
// so keep it off the hot path (or on a uv_queue_work worker with its own connection). One
// connection per thread: the handle is opened with SQLITE_OPEN_NOMUTEX. Findings behind the
// choices here: ../shared/reference/dependencies.md §7.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/base/result.hpp"
#include "common/db/db_error.hpp"
#include "common/db/migration.hpp"
#include "common/db/statement.hpp"
#include "common/db/transaction.hpp"

struct sqlite3;

namespace fedgw {

struct DbOptions {
    // SQLITE_OPEN_READONLY: the journal mode is left as it is and every write fails with
    // DbErrorKind::ReadOnly.
    bool read_only = false;
    // Create the file when it is missing (owner-only, 0600: it holds the dialback secret).
    // Ignored when read_only.
    bool create = true;
    // How long to wait for another connection's lock before failing with Busy.
    int busy_timeout_ms = 5000;
};

// What migrate() did.
struct MigrationOutcome {
    int from_version = 0;  // user_version found in the file
    int to_version = 0;    // user_version now
    int applied = 0;       // migrations this call ran (0 when another process had done them)
};

class Database {
  public:
    using Options = DbOptions;

    // Opens (or creates) the database at `path`. ":memory:" opens a private in-memory database
    // (tests). A file this call creates is made 0600 before SQLite writes to it; SQLite gives
    // the -wal and -shm files the database file's mode. An existing file that group or others
    // can read is opened anyway, with a warning in the log.
    static Result<Database, DbError> open(const std::string& path, const DbOptions& options = {});

    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    // Runs one or more statements that return no rows the caller needs.
    Result<void, DbError> exec(std::string_view sql);
    Result<Statement, DbError> prepare(std::string_view sql);
    // First column of the first row as an integer: for PRAGMAs and counts. No row is an error.
    Result<std::int64_t, DbError> query_int64(std::string_view sql);

    // BEGIN IMMEDIATE (writers, the default) or BEGIN DEFERRED (consistent reads).
    Result<Transaction, DbError> begin(TxMode mode = TxMode::Immediate);

    // PRAGMA data_version: changes when *another* connection (this process or another) commits
    // to the file, never for this connection's own commits. Poll it to notice registry changes.
    Result<std::int64_t, DbError> data_version();
    // PRAGMA user_version: the number of the last migration applied.
    Result<int, DbError> user_version();

    // Applies migrations[user_version .. end) in one BEGIN IMMEDIATE transaction, then sets
    // user_version to the last one's number and commits: all or nothing. The list must be
    // numbered 1, 2, ..., N. A file whose user_version is above N is refused with
    // SchemaTooNew and left untouched. Safe when several processes migrate the same file at
    // once: the first to take the write lock applies them, the others find nothing pending.
    // Scripts must not contain BEGIN/COMMIT/ROLLBACK; PRAGMA foreign_keys is a no-op inside
    // the transaction (rewrite tables with SQLite's 12-step procedure).
    Result<MigrationOutcome, DbError> migrate(std::span<const Migration> migrations);

    std::int64_t last_insert_rowid() const;
    // Rows changed by the most recent INSERT, UPDATE or DELETE.
    std::int64_t changes() const;
    // True while a transaction is open on this connection.
    bool in_transaction() const;
    bool is_read_only() const { return read_only_; }
    const std::string& path() const { return path_; }
    // The raw handle, for the rare call this wrapper does not cover (online backup, ...).
    sqlite3* handle() const { return db_; }

  private:
    Database(sqlite3* db, std::string path, bool read_only)
        : db_(db), path_(std::move(path)), read_only_(read_only) {}
    Result<void, DbError> configure(const DbOptions& options);
    Result<void, DbError> set_wal(int busy_timeout_ms);

    sqlite3* db_ = nullptr;
    std::string path_;
    bool read_only_ = false;
};

}  // namespace fedgw
