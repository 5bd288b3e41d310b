#!/usr/bin/env python3
"""Tests for schema/embed_sql.py: what it accepts, what it refuses, and the C++ it writes.

Usage: embed_sql_test.py PATH/TO/embed_sql.py  (run by meson as the 'schema_embed' unit test).
"""

import os
import subprocess
import sys
import tempfile
import unittest

EMBED = None


class EmbedSql(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="fedgw-embed-")
        self.out = os.path.join(self.dir.name, "out.cpp")

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, content):
        path = os.path.join(self.dir.name, name)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        return path

    def run_embed(self, *paths):
        return subprocess.run([sys.executable, EMBED, "--output", self.out, *paths],
                              capture_output=True, text=True, check=False)

    def assert_refused(self, *paths, why):
        r = self.run_embed(*paths)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(why, r.stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_writes_migrations_in_numeric_order(self):
        b = self.write("002_more.sql", "CREATE TABLE b (x INTEGER);\n")
        a = self.write("001_first.sql", "-- a comment\nCREATE TABLE a (x TEXT DEFAULT 'COMMIT');\n")
        r = self.run_embed(b, a)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.out, encoding="utf-8") as f:
            cpp = f.read()
        self.assertIn('#include "schema/migrations.hpp"', cpp)
        self.assertIn('{1, "first", R"fedgw_sql(-- a comment\nCREATE TABLE a', cpp)
        self.assertLess(cpp.index('"first"'), cpp.index('"more"'))
        self.assertIn("std::span<const Migration> migrations()", cpp)

    def test_triggers_with_begin_end_and_case_are_accepted(self):
        a = self.write("001_t.sql",
                       "CREATE TABLE t (x INTEGER, y INTEGER);\n"
                       "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN\n"
                       "  UPDATE t SET y = CASE WHEN NEW.x > 0 THEN 1 ELSE 0 END\n"
                       "  WHERE rowid = NEW.rowid;\nEND;\n"
                       "CREATE TABLE after_trigger (z INTEGER);\n")
        r = self.run_embed(a)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_refuses_bad_names(self):
        self.assert_refused(self.write("1_first.sql", "SELECT 1;"), why="NNN_name.sql")
        self.assert_refused(self.write("001-First.sql", "SELECT 1;"), why="NNN_name.sql")

    def test_refuses_gaps_and_duplicates(self):
        a = self.write("001_a.sql", "SELECT 1;")
        c = self.write("003_c.sql", "SELECT 1;")
        self.assert_refused(a, c, why="expected 002")
        a2 = self.write("001_again.sql", "SELECT 1;")
        self.assert_refused(a, a2, why="expected 002")
        self.assert_refused(c, why="expected 001")

    def test_refuses_transaction_control(self):
        for body in ("BEGIN;\nCREATE TABLE a (x INTEGER);", "CREATE TABLE a (x INTEGER);\nCOMMIT;",
                     "BEGIN TRANSACTION; SELECT 1;", "SELECT 1; END TRANSACTION;",
                     "select 1; rollback;", "SAVEPOINT s; SELECT 1;", "SELECT 1;\nRELEASE s;"):
            with self.subTest(body=body):
                self.assert_refused(self.write("001_a.sql", body), why="transaction control")

    def test_transaction_words_in_strings_and_comments_are_fine(self):
        a = self.write("001_a.sql", "-- COMMIT here is a comment\n/* ROLLBACK; */\n"
                                    "INSERT INTO x VALUES ('; COMMIT');\n")
        r = self.run_embed(a)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_refuses_user_version_empty_nul_non_utf8_and_the_delimiter(self):
        self.assert_refused(self.write("001_a.sql", "PRAGMA user_version = 3;"),
                            why="user_version")
        self.assert_refused(self.write("001_a.sql", "-- only a comment\n"), why="no SQL")
        self.assert_refused(self.write("001_a.sql", b"SELECT 1;\0"), why="NUL")
        self.assert_refused(self.write("001_a.sql", b"SELECT '\xff';"), why="UTF-8")
        self.assert_refused(self.write("001_a.sql", "SELECT ')fedgw_sql\"';"), why="delimiter")


if __name__ == "__main__":
    EMBED = sys.argv.pop(1)
    unittest.main(verbosity=2)
