// Database::migrate: numbered migrations keyed on PRAGMA user_version, all or nothing.
//
// Loop-bound edge (common/db). The procedure (dependencies.md §7): BEGIN IMMEDIATE, read
// user_version *inside* the transaction (another process may have migrated while we waited for
// the lock), run the pending scripts, set user_version, COMMIT. SQLite DDL is transactional, so
// a failure anywhere rolls back every script of this call.
#include <sqlite3.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include "common/db/database.hpp"
#include "common/db/sqlite_error.hpp"
#include "common/log/log.hpp"

namespace fedgw {

using db_detail::our_error;

namespace {

std::string migration_label(const Migration& m) {
    char number[16];
    std::snprintf(number, sizeof number, "%03d", m.version);
    return std::string(number) + "_" + std::string(m.name);
}

DbError too_new(sqlite3* db, int found, int known) {
    return our_error(db, DbErrorKind::SchemaTooNew,
                     "the database is at schema version " + std::to_string(found) +
                         " but this program knows versions up to " + std::to_string(known) +
                         "; run a fedgw release that knows version " + std::to_string(found) +
                         " (the file was left unchanged)");
}

}  // namespace

Result<MigrationOutcome, DbError> Database::migrate(std::span<const Migration> migrations) {
    // The list is compiled in; a gap or a duplicate would apply scripts out of order.
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        if (migrations[i].version != static_cast<int>(i) + 1) {
            return Unexpected(our_error(db_, DbErrorKind::MigrationFailed,
                                        "the migration list is not numbered 1..N: entry " +
                                            std::to_string(i + 1) + " has version " +
                                            std::to_string(migrations[i].version)));
        }
    }
    const int known = static_cast<int>(migrations.size());

    // user_version only ever grows, so a file already at `known` needs no write lock: the
    // common start-up path stays a plain read, and works on a read-only connection too.
    auto before = user_version();
    if (!before) return Unexpected(std::move(before.error()));
    if (*before > known) return Unexpected(too_new(db_, *before, known));
    if (*before == known) return MigrationOutcome{known, known, 0};

    auto tx = begin(TxMode::Immediate);
    if (!tx) return Unexpected(std::move(tx.error()));
    auto found = user_version();
    if (!found) return Unexpected(std::move(found.error()));
    if (*found > known) return Unexpected(too_new(db_, *found, known));
    // Another process migrated while we waited for the lock; the transaction rolls back.
    if (*found == known) return MigrationOutcome{known, known, 0};
    if (*found < 0) {
        return Unexpected(our_error(db_, DbErrorKind::MigrationFailed,
                                    "negative schema version " + std::to_string(*found)));
    }

    for (int v = *found; v < known; ++v) {
        const Migration& m = migrations[static_cast<std::size_t>(v)];
        if (auto r = exec(m.sql); !r) {
            DbError e = std::move(r.error());
            e.kind = DbErrorKind::MigrationFailed;
            e.message = "migration " + migration_label(m) + " failed: " + e.message +
                        "; rolled back, the schema stays at version " + std::to_string(*found);
            return Unexpected(std::move(e));
        }
        if (!in_transaction()) {
            // Only a COMMIT or ROLLBACK in the script gets here; schema/embed_sql.py refuses
            // those, so this is a last line of defence and what ran may already be committed.
            return Unexpected(our_error(
                db_, DbErrorKind::MigrationFailed,
                "migration " + migration_label(m) + " ended the migration transaction itself"));
        }
    }

    // A script may have left rows pointing nowhere (foreign keys are checked per statement,
    // but a table rewrite can sidestep that); refuse to commit such a file.
    {
        auto check = prepare("PRAGMA foreign_key_check");
        if (!check) return Unexpected(std::move(check.error()));
        auto step = check->step();
        if (!step) return Unexpected(std::move(step.error()));
        if (*step == Step::Row) {
            const std::string table = check->column_string(0);
            check->reset();
            return Unexpected(our_error(
                db_, DbErrorKind::MigrationFailed,
                "migrations " + std::to_string(*found + 1) + ".." + std::to_string(known) +
                    " left a foreign key violation in table " + table + "; rolled back"));
        }
    }

    // Pragmas take no bound parameters; the value is a formatted integer we produced.
    if (auto r = exec("PRAGMA user_version = " + std::to_string(known)); !r) {
        return Unexpected(std::move(r.error()));
    }
    if (auto r = tx->commit(); !r) return Unexpected(std::move(r.error()));

    log::info("db.migrated",
              {{"path", path_}, {"from", *found}, {"to", known}, {"applied", known - *found}});
    return MigrationOutcome{*found, known, known - *found};
}

}  // namespace fedgw
