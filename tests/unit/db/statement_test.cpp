// Unit tests for fedgw::Statement: binding by index and name (int64, text, NULL, optional, bool),
// reading columns (UTF-8, embedded NUL, NULL vs ''), errors, reset and reuse.
#include "common/db/statement.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "common/db/database.hpp"

namespace fedgw {
namespace {

class StatementTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto db = Database::open(":memory:");
        ASSERT_TRUE(db.has_value()) << db.error().describe();
        db_.emplace(std::move(db).value());
        ASSERT_TRUE(db_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT UNIQUE)"));
    }

    Statement prepare(const std::string& sql) {
        auto st = db_->prepare(sql);
        EXPECT_TRUE(st.has_value()) << st.error().describe();
        return std::move(st).value();
    }

    std::optional<Database> db_;
};

TEST_F(StatementTest, BindsByIndexAndNameAndReadsBack) {
    Statement ins = prepare("INSERT INTO t (n, s) VALUES (?1, :s)");
    ins.bind(1, std::numeric_limits<std::int64_t>::min()).bind(":s", "lowest");
    ASSERT_TRUE(ins.run());
    ins.bind(1, std::numeric_limits<std::int64_t>::max()).bind(":s", std::string("highest"));
    ASSERT_TRUE(ins.run());
    EXPECT_EQ(db_->changes(), 1);
    EXPECT_EQ(db_->last_insert_rowid(), 2);

    Statement sel = prepare("SELECT n, s FROM t WHERE s = @s");
    sel.bind("@s", std::string_view("highest"));
    auto step = sel.step();
    ASSERT_TRUE(step.has_value()) << step.error().describe();
    ASSERT_EQ(*step, Step::Row);
    EXPECT_EQ(sel.column_count(), 2);
    EXPECT_EQ(sel.column_name(0), "n");
    EXPECT_EQ(sel.column_int64(0), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(sel.column_text(1), "highest");
    EXPECT_EQ(*sel.step(), Step::Done);

    sel.bind("@s", "lowest");
    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_EQ(sel.column_int64(0), std::numeric_limits<std::int64_t>::min());
    sel.reset();
}

TEST_F(StatementTest, NullEmptyAndOptionalAreDistinct) {
    Statement ins = prepare("INSERT INTO t (id, n, s) VALUES (?, ?, ?)");
    ins.bind_all(1, std::nullopt, "");  // '' is text, not NULL
    ASSERT_TRUE(ins.run());
    ins.bind_all(2, std::optional<std::int64_t>{}, std::optional<std::string>{});
    ASSERT_TRUE(ins.run());
    ins.bind_all(3, std::optional<int>{5}, std::optional<std::string>{"five"});
    ASSERT_TRUE(ins.run());
    ins.bind_all(4, true, nullptr);
    ASSERT_TRUE(ins.run());

    Statement sel = prepare("SELECT n, s, typeof(s) FROM t ORDER BY id");
    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_TRUE(sel.is_null(0));
    EXPECT_FALSE(sel.is_null(1));
    EXPECT_EQ(sel.column_optional_string(1), std::optional<std::string>{""});
    EXPECT_EQ(sel.column_text(2), "text");

    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_EQ(sel.column_optional_int64(0), std::nullopt);
    EXPECT_EQ(sel.column_optional_string(1), std::nullopt);
    EXPECT_EQ(sel.column_text(1), "");  // NULL reads as an empty view

    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_EQ(sel.column_optional_int64(0), std::optional<std::int64_t>{5});
    EXPECT_EQ(sel.column_optional_string(1), std::optional<std::string>{"five"});

    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_EQ(sel.column_int64(0), 1);
    EXPECT_TRUE(sel.is_null(1));
    EXPECT_EQ(*sel.step(), Step::Done);
}

TEST_F(StatementTest, Utf8AndEmbeddedNulSurviveTheRoundTrip) {
    const std::string utf8 = "Jos\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 \xE4\xB8\xAD\xE6\x96\x87";
    const std::string with_nul("a\0b", 3);
    Statement ins = prepare("INSERT INTO t (s) VALUES (?)");
    ASSERT_TRUE(ins.bind(1, utf8).run());
    ASSERT_TRUE(ins.bind(1, with_nul).run());

    Statement sel = prepare("SELECT s, length(s) FROM t ORDER BY id");
    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_EQ(sel.column_string(0), utf8);
    EXPECT_EQ(sel.column_int64(1), 11);  // characters, not bytes
    ASSERT_EQ(*sel.step(), Step::Row);
    EXPECT_EQ(sel.column_text(0), std::string_view(with_nul));
    EXPECT_EQ(sel.column_text(0).size(), 3u);
    sel.reset();
}

TEST_F(StatementTest, TextIsCopiedAtBindTime) {
    Statement ins = prepare("INSERT INTO t (s) VALUES (?)");
    {
        std::string temporary = "short-lived";
        ins.bind(1, temporary);
        temporary.assign("overwritten");
    }
    ASSERT_TRUE(ins.run());
    EXPECT_EQ(*db_->query_int64("SELECT count(*) FROM t WHERE s = 'short-lived'"), 1);
}

TEST_F(StatementTest, UnknownParameterIsReportedByTheNextStep) {
    Statement ins = prepare("INSERT INTO t (s) VALUES (:s)");
    ins.bind(":nope", "x").bind(":s", "y");
    auto r = ins.step();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::Misuse);
    EXPECT_NE(r.error().message.find(":nope"), std::string::npos) << r.error().message;
    EXPECT_EQ(*db_->query_int64("SELECT count(*) FROM t"), 0);

    // The error is reported once; the good binding stayed.
    ASSERT_TRUE(ins.run());
    EXPECT_EQ(*db_->query_int64("SELECT count(*) FROM t WHERE s = 'y'"), 1);

    ins.bind(7, 1);
    auto range = ins.run();
    ASSERT_FALSE(range.has_value());
    EXPECT_EQ(range.error().kind, DbErrorKind::Misuse);
    EXPECT_NE(range.error().message.find("?7"), std::string::npos) << range.error().message;
}

TEST_F(StatementTest, ClearBindingsResetsToNull) {
    Statement ins = prepare("INSERT INTO t (n, s) VALUES (?, ?)");
    ins.bind_all(1, "one");
    ins.clear_bindings();
    ASSERT_TRUE(ins.run());
    EXPECT_EQ(*db_->query_int64("SELECT count(*) FROM t WHERE n IS NULL AND s IS NULL"), 1);
}

TEST_F(StatementTest, ConstraintViolationHasItsOwnKind) {
    Statement ins = prepare("INSERT INTO t (s) VALUES (?)");
    ASSERT_TRUE(ins.bind(1, "dup").run());
    auto again = ins.run();
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().kind, DbErrorKind::Constraint);
    EXPECT_NE(again.error().message.find("UNIQUE"), std::string::npos) << again.error().message;
    // The statement was reset on error and can be used again.
    ASSERT_TRUE(ins.bind(1, "other").run());
}

TEST_F(StatementTest, PrepareErrors) {
    auto bad = db_->prepare("SELECT * FROM no_such_table");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().kind, DbErrorKind::Sql);
    EXPECT_NE(bad.error().message.find("no_such_table"), std::string::npos);

    auto two = db_->prepare("SELECT 1; SELECT 2");
    ASSERT_FALSE(two.has_value());
    EXPECT_EQ(two.error().kind, DbErrorKind::Misuse);

    auto empty = db_->prepare("  -- nothing\n");
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().kind, DbErrorKind::Misuse);

    EXPECT_TRUE(db_->prepare("SELECT 1;  \n").has_value());  // a trailing ';' is fine
}

TEST_F(StatementTest, RunRefusesAStatementThatReturnsRows) {
    Statement sel = prepare("SELECT 1");
    auto r = sel.run();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, DbErrorKind::Misuse);
}

TEST_F(StatementTest, MovedStatementKeepsItsBindings) {
    Statement a = prepare("INSERT INTO t (n) VALUES (?)");
    a.bind(1, 99);
    Statement b = std::move(a);
    Statement c = prepare("SELECT 1");
    c = std::move(b);
    ASSERT_TRUE(c.run());
    EXPECT_EQ(*db_->query_int64("SELECT n FROM t"), 99);
    EXPECT_EQ(c.sql(), "INSERT INTO t (n) VALUES (?)");
}

}  // namespace
}  // namespace fedgw
