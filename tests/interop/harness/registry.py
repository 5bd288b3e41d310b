"""A fedgw registry file (SQLite) written from a scenario, the way fedgwctl writes it.

The registry's schema is the repository's schema/NNN_name.sql migrations (DESIGN.md, "The
partner registry"). Registry(path, schema_dir) creates the file as fedgw::Database does: mode
0600, WAL journal, then every migration in one BEGIN IMMEDIATE transaction ending with
PRAGMA user_version = N (common/db/migrate.cpp). A service that knows later migrations applies
them itself when it opens the file.

Writes go through plain SQL in short BEGIN IMMEDIATE transactions, with a busy timeout, while
the services have the file open: exactly what the services watch for (PRAGMA data_version,
and the policy_revision counter the schema's triggers bump on every policy change). The
values are the schema's (type 'federated', tls 'required', ...; CHECK constraints refuse bad
ones); the validator's extra rules (common/registry) are fedgwctl's business, not the
harness's.

Loop-free, standard library only.
"""

import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from .errors import HarnessError

MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations(schema_dir: Path) -> list[tuple[int, Path]]:
    """The numbered migrations of schema_dir, in order; they must be numbered 1..N."""
    found = []
    for p in sorted(Path(schema_dir).glob("*.sql")):
        m = MIGRATION_NAME.match(p.name)
        if not m:
            raise HarnessError(f"{p}: not a migration name (NNN_name.sql)")
        found.append((int(m.group(1)), p))
    if [v for v, _ in found] != list(range(1, len(found) + 1)):
        raise HarnessError(f"the migrations in {schema_dir} are not numbered 1..N: "
                           f"{[p.name for _, p in found]}")
    if not found:
        raise HarnessError(f"no migrations in {schema_dir}")
    return found


class Registry:
    """One registry file. Created and migrated on construction when it does not exist."""

    def __init__(self, path: Path, schema_dir: Path, *, busy_timeout: float = 5.0):
        self.path = Path(path)
        self.schema_dir = Path(schema_dir)
        self.busy_timeout = busy_timeout
        if not self.path.exists():
            self._create()

    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        uri = f"file:{self.path}" + ("?mode=ro" if read_only else "")
        try:
            db = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise HarnessError(f"registry {self.path}: cannot open: {e}") from e
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it will hold
        os.close(fd)                                                         # the dialback secret
        scripts = migrations(self.schema_dir)
        db = self._connect()
        try:
            db.execute("PRAGMA journal_mode = WAL")
            body = "\n".join(p.read_text() for _, p in scripts)
            db.executescript(f"BEGIN IMMEDIATE;\n{body}\n"
                             f"PRAGMA user_version = {len(scripts)};\nCOMMIT;")
        except sqlite3.Error as e:
            raise HarnessError(f"registry {self.path}: applying {self.schema_dir}: {e}") from e
        finally:
            db.close()

    # Writing, as fedgwctl does ------------------------------------------------------------------

    def write(self, sql: str, args: tuple = ()) -> None:
        """One statement in its own BEGIN IMMEDIATE transaction."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql, args)
            db.execute("COMMIT")
        except sqlite3.Error as e:
            raise HarnessError(f"registry {self.path}: {sql.split()[0]} failed: {e}\n"
                               f"  {sql} {args}") from e
        finally:
            db.close()

    def add_partner(self, domain: str, *, type: str = "federated", tls: str = "required",
                    sasl: str = "optional", dialback: bool = True, keepalive: bool = True,
                    static_route: str | None = None, description: str = "",
                    enabled: bool = True) -> None:
        self.write("INSERT INTO partners (domain, type, tls, sasl, dialback, keepalive, "
                   "static_route, description, enabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (domain, type, tls, sasl, int(dialback), int(keepalive), static_route,
                    description, int(enabled)))

    def remove_partner(self, domain: str) -> None:
        self.write("DELETE FROM partners WHERE domain = ?", (domain,))

    def block(self, domain: str, reason: str = "") -> None:
        self.write("INSERT INTO blocked_domains (domain, reason) VALUES (?, ?)",
                   (domain, reason))

    def set_setting(self, key: str, value: Any) -> None:
        """A settings row by its schema key; the value keeps its Python type (int, str, None)."""
        if isinstance(value, bool):
            value = int(value)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            cur = db.execute("UPDATE settings SET value = ? WHERE key = ?", (value, key))
            if cur.rowcount != 1:
                raise HarnessError(f"registry {self.path}: no setting {key!r}")
            db.execute("COMMIT")
        except sqlite3.Error as e:
            raise HarnessError(f"registry {self.path}: setting {key} = {value!r}: {e}") from e
        finally:
            db.close()

    def set_user_access(self, sip_user: str, enabled: bool) -> None:
        """Per-SIP-user XMPP access ('alice@sip.test', no scheme)."""
        self.write("INSERT INTO sip_user_access (sip_user, enabled) VALUES (?, ?) "
                   "ON CONFLICT (sip_user) DO UPDATE SET enabled = excluded.enabled",
                   (sip_user, int(enabled)))

    # Reading ------------------------------------------------------------------------------------

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        db = self._connect(read_only=True)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise HarnessError(f"registry {self.path}: {sql}: {e}") from e
        finally:
            db.close()

    def partners(self) -> list[str]:
        return [r[0] for r in self.query("SELECT domain FROM partners ORDER BY domain")]

    def revision(self) -> int:
        return int(self.query("SELECT revision FROM policy_revision WHERE id = 1")[0][0])

    def setting(self, key: str) -> Any:
        rows = self.query("SELECT value FROM settings WHERE key = ?", (key,))
        if not rows:
            raise HarnessError(f"registry {self.path}: no setting {key!r}")
        return rows[0][0]

    def user_version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])
