// Unit tests for Database::migrate: order, once-only, all-or-nothing, refusing a newer file, a
// malformed list, and two forked processes migrating the same file at once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "common/db/database.hpp"
#include "tests/unit/db/temp_dir.hpp"

namespace fedgw {
namespace {

// Each script records itself in applied_log, so "applied once, in order" can be read back.
constexpr std::array<Migration, 3> kThree{{
    {1, "create",
     "CREATE TABLE applied_log (seq INTEGER PRIMARY KEY, version INTEGER NOT NULL);"
     "INSERT INTO applied_log (version) VALUES (1);"},
    {2, "items",
     "CREATE TABLE items (name TEXT NOT NULL);"
     "INSERT INTO applied_log (version) VALUES (2);"},
    // Depends on 2 having run first.
    {3, "seed",
     "INSERT INTO items (name) VALUES ('seeded');"
     "INSERT INTO applied_log (version) VALUES (3);"},
}};

Database open_ok(const std::string& path) {
    auto db = Database::open(path);
    EXPECT_TRUE(db.has_value()) << db.error().describe();
    return std::move(db).value();
}

std::vector<std::int64_t> applied_log(Database& db) {
    std::vector<std::int64_t> out;
    auto st = db.prepare("SELECT version FROM applied_log ORDER BY seq");
    EXPECT_TRUE(st.has_value());
    if (!st) return out;
    while (true) {
        auto step = st->step();
        EXPECT_TRUE(step.has_value());
        if (!step || *step == Step::Done) break;
        out.push_back(st->column_int64(0));
    }
    return out;
}

bool table_exists(Database& db, const std::string& name) {
    auto st = db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
    EXPECT_TRUE(st.has_value());
    st->bind(1, name);
    auto step = st->step();
    EXPECT_TRUE(step.has_value() && *step == Step::Row);
    const bool found = st->column_int64(0) == 1;
    st->reset();
    return found;
}

TEST(Migrate, AppliesPendingMigrationsInOrderExactlyOnce) {
    test::TempDir dir;
    Database db = open_ok(dir.file("m.db"));

    auto first = db.migrate(std::span(kThree).first(2));
    ASSERT_TRUE(first.has_value()) << first.error().describe();
    EXPECT_EQ(first->from_version, 0);
    EXPECT_EQ(first->to_version, 2);
    EXPECT_EQ(first->applied, 2);
    EXPECT_EQ(*db.user_version(), 2);

    auto rest = db.migrate(kThree);
    ASSERT_TRUE(rest.has_value()) << rest.error().describe();
    EXPECT_EQ(rest->from_version, 2);
    EXPECT_EQ(rest->applied, 1);

    auto again = db.migrate(kThree);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->applied, 0);
    EXPECT_EQ(again->to_version, 3);

    EXPECT_EQ(applied_log(db), (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_EQ(*db.query_int64("SELECT count(*) FROM items"), 1);
    EXPECT_EQ(*db.user_version(), 3);
    EXPECT_FALSE(db.in_transaction());
}

TEST(Migrate, AFailingMigrationRollsBackEveryScriptOfTheCall) {
    test::TempDir dir;
    const std::string path = dir.file("fail.db");
    Database db = open_ok(path);
    ASSERT_TRUE(db.migrate(std::span(kThree).first(1)));

    const std::array<Migration, 4> broken{{
        kThree[0],
        kThree[1],
        kThree[2],
        {4, "broken", "CREATE TABLE later (x INTEGER); INSERT INTO nowhere VALUES (1);"},
    }};
    auto r = db.migrate(broken);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::MigrationFailed);
    EXPECT_NE(r.error().message.find("004_broken"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("nowhere"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("version 1"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().path, path);

    EXPECT_FALSE(db.in_transaction());
    EXPECT_EQ(*db.user_version(), 1);
    EXPECT_FALSE(table_exists(db, "items"));
    EXPECT_FALSE(table_exists(db, "later"));
    EXPECT_EQ(applied_log(db), (std::vector<std::int64_t>{1}));
}

TEST(Migrate, AConstraintFailureInAMigrationIsAMigrationFailure) {
    Database db = open_ok(":memory:");
    const std::array<Migration, 1> m{{
        {1, "dup",
         "CREATE TABLE u (x INTEGER UNIQUE); INSERT INTO u VALUES (1); INSERT INTO u VALUES (1);"},
    }};
    auto r = db.migrate(m);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::MigrationFailed);
    EXPECT_EQ(r.error().sqlite_code & 0xff, 19);  // SQLITE_CONSTRAINT, kept for diagnosis
    EXPECT_FALSE(table_exists(db, "u"));
}

TEST(Migrate, ANewerDatabaseIsRefusedAndLeftUnchanged) {
    test::TempDir dir;
    Database db = open_ok(dir.file("new.db"));
    ASSERT_TRUE(db.exec("PRAGMA user_version = 7"));

    auto r = db.migrate(kThree);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::SchemaTooNew);
    const std::string d = r.error().describe();
    EXPECT_NE(d.find("version 7"), std::string::npos) << d;
    EXPECT_NE(d.find("up to 3"), std::string::npos) << d;
    EXPECT_EQ(*db.user_version(), 7);
    EXPECT_FALSE(table_exists(db, "applied_log"));

    auto none = db.migrate({});
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().kind, DbErrorKind::SchemaTooNew);
}

TEST(Migrate, AMalformedListIsRefusedBeforeAnythingRuns) {
    Database db = open_ok(":memory:");
    const std::array<Migration, 2> gap{{kThree[0], kThree[2]}};
    auto r = db.migrate(gap);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::MigrationFailed);
    EXPECT_EQ(*db.user_version(), 0);
    EXPECT_FALSE(table_exists(db, "applied_log"));
}

TEST(Migrate, AScriptThatEndsTheTransactionIsCaught) {
    Database db = open_ok(":memory:");
    const std::array<Migration, 1> m{{{1, "commits", "CREATE TABLE c (x INTEGER); COMMIT;"}}};
    auto r = db.migrate(m);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::MigrationFailed);
    EXPECT_NE(r.error().message.find("001_commits"), std::string::npos);
    EXPECT_EQ(*db.user_version(), 0);
}

TEST(Migrate, AnUpToDateFileNeedsNoWriteLock) {
    test::TempDir dir;
    const std::string path = dir.file("ro.db");
    {
        Database db = open_ok(path);
        ASSERT_TRUE(db.migrate(kThree));
    }
    auto ro = Database::open(path, DbOptions{.read_only = true});
    ASSERT_TRUE(ro.has_value()) << ro.error().describe();
    auto r = ro->migrate(kThree);
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(r->applied, 0);
}

// Two processes open and migrate a brand-new file at the same moment (a pipe releases both
// at once). Both must succeed, and every migration must run exactly once. Repeated, because the
// race (WAL switch, BEGIN IMMEDIATE) only shows up in some runs.
TEST(Migrate, TwoProcessesMigratingTheSameFileAtOnce) {
    test::TempDir dir;
    for (int round = 0; round < 10; ++round) {
        const std::string path = dir.file("race" + std::to_string(round) + ".db");
        int gate[2];
        ASSERT_EQ(::pipe(gate), 0);
        std::array<pid_t, 2> children{};
        for (pid_t& child : children) {
            child = ::fork();
            ASSERT_GE(child, 0);
            if (child == 0) {
                // Child: no gtest from here on; report through the exit status.
                ::close(gate[1]);
                char c;
                const ssize_t n = ::read(gate[0], &c, 1);  // 0 when the parent closes its end
                (void)n;
                auto db = Database::open(path);
                if (!db) {
                    std::fprintf(stderr, "child open: %s\n", db.error().describe().c_str());
                    ::_exit(100);
                }
                auto r = db->migrate(kThree);
                if (!r) {
                    std::fprintf(stderr, "child migrate: %s\n", r.error().describe().c_str());
                    ::_exit(101);
                }
                ::_exit(r->applied);
            }
        }
        ::close(gate[0]);
        ::close(gate[1]);  // go

        int total_applied = 0;
        for (pid_t child : children) {
            int status = 0;
            ASSERT_EQ(::waitpid(child, &status, 0), child);
            ASSERT_TRUE(WIFEXITED(status)) << "round " << round;
            const int code = WEXITSTATUS(status);
            ASSERT_LE(code, 3) << "round " << round << ": child failed with " << code;
            total_applied += code;
        }
        EXPECT_EQ(total_applied, 3) << "round " << round;

        Database db = open_ok(path);
        EXPECT_EQ(*db.user_version(), 3);
        EXPECT_EQ(applied_log(db), (std::vector<std::int64_t>{1, 2, 3})) << "round " << round;
        EXPECT_EQ(*db.query_int64("SELECT count(*) FROM items"), 1);
    }
}

}  // namespace
}  // namespace fedgw
