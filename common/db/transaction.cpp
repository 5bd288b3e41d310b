// Transaction: COMMIT / ROLLBACK and the rollback at scope exit.
//
// Loop-bound edge (common/db).
#include "common/db/transaction.hpp"

#include <sqlite3.h>

#include "common/db/sqlite_error.hpp"
#include "common/log/log.hpp"

namespace fedgw {

Transaction& Transaction::operator=(Transaction&& other) noexcept {
    if (this != &other) {
        end_quietly();
        db_ = other.db_;
        other.db_ = nullptr;
    }
    return *this;
}

Transaction::~Transaction() {
    end_quietly();
}

bool Transaction::is_active() const {
    // SQLite ends a transaction by itself after some errors (SQLITE_FULL, SQLITE_IOERR, ...):
    // autocommit back on means there is nothing left to commit or roll back.
    return db_ != nullptr && sqlite3_get_autocommit(db_) == 0;
}

void Transaction::end_quietly() {
    if (!is_active()) {
        db_ = nullptr;
        return;
    }
    if (auto r = rollback(); !r) {
        log::error("db.rollback_failed", {{"error", r.error().describe()}});
    }
}

Result<void, DbError> Transaction::commit() {
    if (!is_active()) {
        DbError e = db_detail::our_error(db_, DbErrorKind::Misuse, "commit without a transaction");
        db_ = nullptr;
        return Unexpected(std::move(e));
    }
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        DbError e = db_detail::sqlite_error(db_, rc, "COMMIT");
        if (sqlite3_get_autocommit(db_) != 0) db_ = nullptr;  // SQLite already rolled back
        return Unexpected(std::move(e));
    }
    db_ = nullptr;
    return {};
}

Result<void, DbError> Transaction::rollback() {
    if (!is_active()) {
        db_ = nullptr;
        return {};
    }
    sqlite3* db = db_;
    db_ = nullptr;
    // Since SQLite 3.7.11 a ROLLBACK succeeds with reads pending; those statements then fail
    // with SQLITE_ABORT_ROLLBACK on their next step.
    const int rc = sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Unexpected(db_detail::sqlite_error(db, rc, "ROLLBACK"));
    return {};
}

}  // namespace fedgw
