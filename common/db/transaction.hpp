// Transaction: RAII around BEGIN ... COMMIT; rolls back on destruction unless committed.
//
// Loop-bound edge (common/db). Writers use BEGIN IMMEDIATE (Database::begin's default): with a
// deferred transaction a read->write upgrade can fail with SQLITE_BUSY without the busy
// handler ever being called (see dependencies.md §7). A Transaction must not outlive its
// Database.
#pragma once

#include "common/base/result.hpp"
#include "common/db/db_error.hpp"

struct sqlite3;

namespace fedgw {

enum class TxMode {
    Immediate,  // BEGIN IMMEDIATE: takes the write lock now (waits up to the busy timeout)
    Deferred,   // BEGIN DEFERRED: a consistent read snapshot; do not write in it
};

class Transaction {
  public:
    Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Transaction& operator=(Transaction&& other) noexcept;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    // Rolls back when still active; a failure there is logged, never thrown.
    ~Transaction();

    // COMMIT. On failure the transaction stays active when SQLite kept it open (a busy
    // commit may be retried); otherwise it is over.
    Result<void, DbError> commit();
    // ROLLBACK now rather than at scope exit.
    Result<void, DbError> rollback();
    // True until commit() or rollback() succeeds (or SQLite ended the transaction itself).
    bool is_active() const;

  private:
    friend class Database;
    explicit Transaction(sqlite3* db) : db_(db) {}
    void end_quietly();

    sqlite3* db_ = nullptr;
};

}  // namespace fedgw
