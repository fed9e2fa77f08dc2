"""The node's SQLite file: one connection, one writer at a time, one transaction per action.

Rules:
- one file ``edge.db`` in the data directory, WAL journal, ``synchronous=FULL`` (a commit is on
  disk before the API answers), foreign keys on;
- all access goes through ``Store.write()`` (``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any
  error) or ``Store.read()`` (a consistent snapshot); both hold the store's lock, so the single
  connection is shared safely by the API threads and the link thread;
- the file belongs to one (store, node): opening it with other ids is refused, because the hub
  identifies events by (node, seq) and mixing two identities in one outbox would corrupt both;
- ``counters`` holds ``next_seq`` and ``last_acked_seq`` so the outbox seq stays gap-free after
  acked rows are deleted;
- the outbox events a transaction adds are written to the journal (``edge_agent.storage.journal``)
  right
  after its commit, before the caller answers; a full disk is ``DiskFull`` (507), never a 500,
  and is reported in ``problems`` until a write succeeds again; ``problems`` is what health says
  is wrong with the store (corruption found, quarantine, lost commits restored).
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from edge_agent.errors import ConfigError, DiskFull, StoreError
from edge_agent.storage.journal import Journal, JournalEvent
from edge_agent.storage.migrations import migrate
from protocol import format_utc, utc_now

log = logging.getLogger(__name__)

Params = tuple[Any, ...] | dict[str, Any]
PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=10000")
SQLITE_FULL, SQLITE_IOERR = 13, 10
LOW_SPACE_BYTES = 256 * 1024  # an I/O error with less free space than this is a full disk
DISK_FULL = "disk_full"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the store that health reports: a code, what happened, what to do."""

    code: str
    message: str
    action: str


class Tx:
    """An open transaction (or read snapshot) on the store's connection."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.journal: list[JournalEvent] = []  # written to the journal after the commit

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement inside the transaction."""
        return self.db.conn.execute(sql, params)

    def all(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts."""
        cursor = self.db.conn.execute(sql, params)
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        """The first row of a query as a dict, or None."""
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.db.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def counter(self, name: str) -> int:
        """Current value of a named counter."""
        return int(self.scalar("SELECT value FROM counters WHERE name = ?", (name,)))

    def set_counter(self, name: str, value: int) -> None:
        """Set a named counter."""
        self.execute("UPDATE counters SET value = ? WHERE name = ?", (value, name))

    def meta(self, key: str) -> str | None:
        """A stored meta value, or None."""
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Store a meta value (replacing the old one)."""
        self.execute(
            "INSERT INTO meta(key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (key, value, format_utc(utc_now())),
        )


class Store:
    """The node's database; use ``write()`` and ``read()``, close when done."""

    def __init__(self, db: Database, path: Path) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._reader: Database | None = None  # a second connection: WAL readers never block
        self._read_lock = threading.Lock()
        self.path = path
        self.applied_migrations: list[str] = []
        self.journal: Journal | None = None
        self.problems: dict[str, Problem] = {}

    def report(self, problem: Problem) -> None:
        """Say (in health) that something is wrong with the store."""
        self.problems[problem.code] = problem

    def resolve(self, code: str) -> None:
        """Stop saying it."""
        self.problems.pop(code, None)

    @classmethod
    def open(cls, path: Path, store_id: str, node_id: str) -> Store:
        """Open (creating and migrating) the file at ``path`` for this store and node."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the database {path}: {err}") from err
        store = cls(Database(conn, execute_plugins=False), path)
        try:
            store._prepare()
            store._claim(store_id, node_id)
            store._open_reader()
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self) -> None:
        try:
            for pragma in PRAGMAS:
                self._db.conn.execute(f"PRAGMA {pragma}")
            self.applied_migrations = migrate(self._db)
        except sqlite3.Error as err:
            raise StoreError(f"cannot prepare the database {self.path}: {err}") from err

    def _open_reader(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=10)
            for pragma in PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the database {self.path}: {err}") from err
        self._reader = Database(conn, execute_plugins=False)

    def _claim(self, store_id: str, node_id: str) -> None:
        with self.write() as tx:
            owner = (tx.meta("store_id"), tx.meta("node_id"))
            if owner == (None, None):
                tx.set_meta("store_id", store_id)
                tx.set_meta("node_id", node_id)
            elif owner != (store_id, node_id):
                raise ConfigError(
                    f"{self.path} belongs to store {owner[0]} node {owner[1]}, not store "
                    f"{store_id} node {node_id}; use another data directory")

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction: committed (durably) on success, rolled back on any error."""
        with self._lock:
            conn = self._db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                tx = Tx(self._db)
                try:
                    yield tx
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if self._disk_full(err):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise self._full(err) from err
                raise
            if DISK_FULL in self.problems:
                self.resolve(DISK_FULL)
                log.warning("the store's disk has room again: recording works")
            if tx.journal and self.journal is not None:
                self._journal(tx.journal)

    def _disk_full(self, err: sqlite3.Error) -> bool:
        code = getattr(err, "sqlite_errorcode", 0) & 0xFF
        if code == SQLITE_FULL:
            return True
        return code == SQLITE_IOERR and shutil.disk_usage(self.path.parent).free < LOW_SPACE_BYTES

    def _full(self, err: Exception) -> DiskFull:
        message = (f"the store's disk is full ({self.path.parent}): nothing was recorded; free "
                   "some space and try again (everything recorded before is kept)")
        if DISK_FULL not in self.problems:
            log.error("write refused, %s: %s", message, err)
        self.report(Problem(DISK_FULL, "disk full: " + message,
                            f"free space on the disk holding {self.path.parent}"))
        return DiskFull(message)

    def _journal(self, events: list[JournalEvent]) -> None:
        assert self.journal is not None
        try:
            self.journal.append(events)
            self.resolve("journal")
        except OSError as err:
            # the commit is on disk: the return is recorded; only its second copy is missing
            log.error("could not write events %d-%d to the outbox journal: %s",
                      events[0].seq, events[-1].seq, err)
            self.report(Problem("journal", f"the outbox journal cannot be written: {err}",
                                f"check the disk holding {self.journal.path}"))

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent read snapshot of everything committed, on the reading connection.

        In WAL mode a reader neither waits for nor delays the writer, so the counter's writes
        never queue behind the link's or the page's reads.
        """
        db, lock = (self._reader, self._read_lock) if self._reader else (self._db, self._lock)
        with lock:
            conn = db.conn
            conn.execute("BEGIN")
            try:
                yield Tx(db)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connections and the journal (idempotent)."""
        with self._read_lock:
            if self._reader is not None:
                self._reader.conn.close()
        with self._lock:
            self._db.conn.close()
            if self.journal is not None:
                self.journal.close()


def read_counters(path: Path) -> dict[str, int]:
    """Outbox figures straight from a database file, read-only (for ``acorn-edge status``)."""
    if not path.is_file():
        raise StoreError(f"no database at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            pending = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise StoreError(f"cannot read {path}: {err}") from err
    return {"outbox_pending": int(pending), "last_acked_seq": int(counters["last_acked_seq"]),
            "next_seq": int(counters["next_seq"])}
