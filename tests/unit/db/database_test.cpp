// Unit tests for fedgw::Database: opening (permissions, WAL, pragmas), errors, transactions and
// data_version. Temporary files only, no sockets, no sleeps (busy cases use a 0 ms timeout).
#include "common/db/database.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/log/log.hpp"
#include "tests/unit/db/temp_dir.hpp"

namespace fedgw {
namespace {

mode_t file_mode(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 07777;  // "no such file" fails any comparison
    return st.st_mode & 07777;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string query_text(Database& db, const std::string& sql) {
    auto st = db.prepare(sql);
    EXPECT_TRUE(st.has_value()) << st.error().describe();
    if (!st) return {};
    auto step = st->step();
    EXPECT_TRUE(step.has_value() && *step == Step::Row) << sql;
    return st->column_string(0);
}

Database open_ok(const std::string& path, const DbOptions& options = {}) {
    auto db = Database::open(path, options);
    EXPECT_TRUE(db.has_value()) << db.error().describe();
    return std::move(db).value();
}

// Restores the umask at the end of a test that changes it.
class UmaskGuard {
  public:
    explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
    ~UmaskGuard() { ::umask(old_); }

  private:
    mode_t old_;
};

TEST(Database, NewFileIsOwnerOnlyAndInWalModeWhateverTheUmask) {
    test::TempDir dir;
    const std::string path = dir.file("registry.db");
    UmaskGuard umask_guard(0);  // the most permissive umask: the code must not rely on it
    {
        Database db = open_ok(path);
        EXPECT_EQ(query_text(db, "PRAGMA journal_mode"), "wal");
        ASSERT_TRUE(db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)"));
        EXPECT_EQ(file_mode(path), 0600);
        ASSERT_TRUE(exists(path + "-wal"));
        ASSERT_TRUE(exists(path + "-shm"));
        EXPECT_EQ(file_mode(path + "-wal"), 0600);
        EXPECT_EQ(file_mode(path + "-shm"), 0600);
    }
    EXPECT_EQ(file_mode(path), 0600);
}

TEST(Database, SetsThePragmasEveryConnectionNeeds) {
    test::TempDir dir;
    Database db = open_ok(dir.file("p.db"), DbOptions{.busy_timeout_ms = 1234});
    EXPECT_EQ(*db.query_int64("PRAGMA foreign_keys"), 1);
    EXPECT_EQ(*db.query_int64("PRAGMA synchronous"), 1);  // NORMAL
    EXPECT_EQ(*db.query_int64("PRAGMA busy_timeout"), 1234);
    EXPECT_FALSE(db.is_read_only());
    EXPECT_EQ(db.path(), dir.file("p.db"));
}

TEST(Database, ReopenKeepsDataAndWal) {
    test::TempDir dir;
    const std::string path = dir.file("r.db");
    {
        Database db = open_ok(path);
        ASSERT_TRUE(db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('kept')"));
    }
    Database db = open_ok(path);
    EXPECT_EQ(query_text(db, "SELECT x FROM t"), "kept");
    EXPECT_EQ(query_text(db, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(file_mode(path), 0600);
}

TEST(Database, ExistingFileKeepsItsModeButReadableByOthersIsLogged) {
    test::TempDir dir;
    const std::string path = dir.file("shared.db");
    { Database db = open_ok(path); }
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);

    std::vector<std::string> lines;
    log::set_sink([&](log::Level, std::string_view line) { lines.emplace_back(line); });
    { Database db = open_ok(path); }
    log::set_sink({});

    EXPECT_EQ(file_mode(path), 0644);  // the operator's choice is not overridden
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("event=db.permissions"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("mode=0644"), std::string::npos) << lines[0];
}

TEST(Database, MissingDirectoryIsOpenFailedNamingThePath) {
    test::TempDir dir;
    const std::string path = dir.file("no/such/dir/x.db");
    auto db = Database::open(path);
    ASSERT_FALSE(db.has_value());
    EXPECT_EQ(db.error().kind, DbErrorKind::OpenFailed);
    EXPECT_EQ(db.error().path, path);
    EXPECT_NE(db.error().describe().find(path), std::string::npos) << db.error().describe();
}

TEST(Database, CreateFalseRefusesAMissingFile) {
    test::TempDir dir;
    auto db = Database::open(dir.file("absent.db"), DbOptions{.create = false});
    ASSERT_FALSE(db.has_value());
    EXPECT_EQ(db.error().kind, DbErrorKind::OpenFailed);
    EXPECT_FALSE(exists(dir.file("absent.db")));
}

TEST(Database, ReadOnlyRefusesWritesAndNeverCreates) {
    test::TempDir dir;
    const std::string path = dir.file("ro.db");
    auto missing = Database::open(path, DbOptions{.read_only = true});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().kind, DbErrorKind::OpenFailed);
    EXPECT_FALSE(exists(path));

    {
        Database rw = open_ok(path);
        ASSERT_TRUE(rw.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7)"));
    }
    Database ro = open_ok(path, DbOptions{.read_only = true});
    EXPECT_TRUE(ro.is_read_only());
    EXPECT_EQ(*ro.query_int64("SELECT x FROM t"), 7);
    auto w = ro.exec("INSERT INTO t VALUES (8)");
    ASSERT_FALSE(w.has_value());
    EXPECT_EQ(w.error().kind, DbErrorKind::ReadOnly);
}

TEST(Database, AFileThatIsNotADatabaseIsRefused) {
    test::TempDir dir;
    const std::string path = dir.file("junk.db");
    {
        std::ofstream out(path, std::ios::binary);
        out << std::string(4096, 'x');
    }
    auto db = Database::open(path);
    ASSERT_FALSE(db.has_value());
    EXPECT_EQ(db.error().kind, DbErrorKind::NotADatabase) << db.error().describe();
    EXPECT_EQ(db.error().path, path);

    auto ro = Database::open(path, DbOptions{.read_only = true});
    ASSERT_FALSE(ro.has_value());
    EXPECT_EQ(ro.error().kind, DbErrorKind::NotADatabase) << ro.error().describe();
}

TEST(Database, InMemoryDatabaseWorks) {
    Database db = open_ok(":memory:");
    ASSERT_TRUE(db.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (42)"));
    EXPECT_EQ(*db.query_int64("SELECT x FROM t"), 42);
}

TEST(Database, ExecReportsSqlErrorsWithTheStatement) {
    Database db = open_ok(":memory:");
    auto r = db.exec("SELEC nonsense");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::Sql);
    EXPECT_NE(r.error().message.find("SELEC nonsense"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().describe().find("SQL error"), std::string::npos);
}

TEST(Database, QueryInt64WithoutARowIsAnError) {
    Database db = open_ok(":memory:");
    ASSERT_TRUE(db.exec("CREATE TABLE t (x INTEGER)"));
    auto v = db.query_int64("SELECT x FROM t");
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().kind, DbErrorKind::Sql);
}

TEST(Database, MovedDatabaseKeepsWorking) {
    test::TempDir dir;
    Database a = open_ok(dir.file("m.db"));
    Database b = std::move(a);
    ASSERT_TRUE(b.exec("CREATE TABLE t (x INTEGER)"));
    Database c = open_ok(":memory:");
    c = std::move(b);
    EXPECT_EQ(*c.query_int64("SELECT count(*) FROM t"), 0);
    EXPECT_EQ(c.path(), dir.file("m.db"));
}

// ---- transactions -----------------------------------------------------------------------------

TEST(Transaction, RollsBackOnScopeExitUnlessCommitted) {
    test::TempDir dir;
    Database db = open_ok(dir.file("tx.db"));
    ASSERT_TRUE(db.exec("CREATE TABLE t (x INTEGER)"));
    {
        auto tx = db.begin();
        ASSERT_TRUE(tx.has_value()) << tx.error().describe();
        EXPECT_TRUE(tx->is_active());
        EXPECT_TRUE(db.in_transaction());
        ASSERT_TRUE(db.exec("INSERT INTO t VALUES (1)"));
        EXPECT_EQ(*db.query_int64("SELECT count(*) FROM t"), 1);
    }
    EXPECT_FALSE(db.in_transaction());
    EXPECT_EQ(*db.query_int64("SELECT count(*) FROM t"), 0);
    {
        auto tx = db.begin();
        ASSERT_TRUE(tx.has_value());
        ASSERT_TRUE(db.exec("INSERT INTO t VALUES (2)"));
        ASSERT_TRUE(tx->commit());
        EXPECT_FALSE(tx->is_active());
    }
    EXPECT_EQ(*db.query_int64("SELECT count(*) FROM t"), 1);
    {
        auto tx = db.begin();
        ASSERT_TRUE(tx.has_value());
        ASSERT_TRUE(db.exec("INSERT INTO t VALUES (3)"));
        ASSERT_TRUE(tx->rollback());
        EXPECT_FALSE(tx->is_active());
        auto again = tx->commit();
        ASSERT_FALSE(again.has_value());
        EXPECT_EQ(again.error().kind, DbErrorKind::Misuse);
    }
    EXPECT_EQ(*db.query_int64("SELECT count(*) FROM t"), 1);
}

TEST(Transaction, MovedTransactionRollsBackOnce) {
    Database db = open_ok(":memory:");
    ASSERT_TRUE(db.exec("CREATE TABLE t (x INTEGER)"));
    {
        auto tx = db.begin();
        ASSERT_TRUE(tx.has_value());
        Transaction moved = std::move(tx).value();
        ASSERT_TRUE(db.exec("INSERT INTO t VALUES (1)"));
        EXPECT_TRUE(moved.is_active());
    }
    EXPECT_EQ(*db.query_int64("SELECT count(*) FROM t"), 0);
}

TEST(Transaction, ImmediateTakesTheWriteLockAtBegin) {
    test::TempDir dir;
    const std::string path = dir.file("lock.db");
    Database a = open_ok(path);
    Database b = open_ok(path, DbOptions{.busy_timeout_ms = 0});
    ASSERT_TRUE(a.exec("CREATE TABLE t (x INTEGER)"));

    auto writer = a.begin(TxMode::Immediate);
    ASSERT_TRUE(writer.has_value());
    auto second = b.begin(TxMode::Immediate);
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().kind, DbErrorKind::Busy) << second.error().describe();

    // WAL: readers are not blocked by the writer.
    auto reader = b.begin(TxMode::Deferred);
    ASSERT_TRUE(reader.has_value()) << reader.error().describe();
    EXPECT_EQ(*b.query_int64("SELECT count(*) FROM t"), 0);
}

TEST(Transaction, NestedBeginIsRefused) {
    Database db = open_ok(":memory:");
    auto outer = db.begin();
    ASSERT_TRUE(outer.has_value());
    auto inner = db.begin();
    ASSERT_FALSE(inner.has_value());
    EXPECT_EQ(inner.error().kind, DbErrorKind::Sql);
    EXPECT_TRUE(outer->is_active());
}

// ---- data_version -----------------------------------------------------------------------------

TEST(Database, DataVersionChangesOnlyWhenAnotherConnectionCommits) {
    test::TempDir dir;
    const std::string path = dir.file("dv.db");
    Database watcher = open_ok(path);
    Database writer = open_ok(path);
    ASSERT_TRUE(watcher.exec("CREATE TABLE t (x INTEGER)"));

    const auto v0 = watcher.data_version();
    ASSERT_TRUE(v0.has_value());
    // Its own commits do not count.
    ASSERT_TRUE(watcher.exec("INSERT INTO t VALUES (1)"));
    EXPECT_EQ(*watcher.data_version(), *v0);

    ASSERT_TRUE(writer.exec("INSERT INTO t VALUES (2)"));
    const auto v1 = watcher.data_version();
    ASSERT_TRUE(v1.has_value());
    EXPECT_NE(*v1, *v0);
    EXPECT_EQ(*watcher.data_version(), *v1);  // stable until the next outside commit

    // An uncommitted (rolled back) transaction elsewhere changes nothing.
    {
        auto tx = writer.begin();
        ASSERT_TRUE(tx.has_value());
        ASSERT_TRUE(writer.exec("INSERT INTO t VALUES (3)"));
    }
    EXPECT_EQ(*watcher.data_version(), *v1);
}

// ---- errors -----------------------------------------------------------------------------------

TEST(DbError, DescribeCarriesKindMessagePathAndCode) {
    DbError e{DbErrorKind::Busy, "database is locked", "/var/lib/fedgw/registry.db", 5};
    const std::string d = e.describe();
    EXPECT_NE(d.find("database busy"), std::string::npos) << d;
    EXPECT_NE(d.find("database is locked"), std::string::npos) << d;
    EXPECT_NE(d.find("/var/lib/fedgw/registry.db"), std::string::npos) << d;
    EXPECT_NE(d.find("sqlite code 5"), std::string::npos) << d;
    EXPECT_EQ(kind_name(DbErrorKind::SchemaTooNew), "schema-too-new");
    EXPECT_EQ(DbError{}.describe().find("in memory") != std::string::npos, true);
}

TEST(DbError, SqliteCodesMapToKinds) {
    EXPECT_EQ(kind_from_sqlite(5), DbErrorKind::Busy);             // SQLITE_BUSY
    EXPECT_EQ(kind_from_sqlite(5 | (2 << 8)), DbErrorKind::Busy);  // SQLITE_BUSY_SNAPSHOT
    EXPECT_EQ(kind_from_sqlite(19 | (3 << 8)), DbErrorKind::Constraint);
    EXPECT_EQ(kind_from_sqlite(26), DbErrorKind::NotADatabase);  // SQLITE_NOTADB
    EXPECT_EQ(kind_from_sqlite(8), DbErrorKind::ReadOnly);
    EXPECT_EQ(kind_from_sqlite(14), DbErrorKind::OpenFailed);  // SQLITE_CANTOPEN
    EXPECT_EQ(kind_from_sqlite(1), DbErrorKind::Sql);
    EXPECT_EQ(kind_from_sqlite(25), DbErrorKind::Misuse);  // SQLITE_RANGE
}

}  // namespace
}  // namespace fedgw
