"""Engines and transactions for SQLite and PostgreSQL.

Rules:
- ``make_engine`` is the only place an engine for work is built; SQLite gets WAL, the configured
  ``synchronous`` level, foreign keys and a busy timeout on every connection. ``probe_engine``
  builds one that only looks (is there a database, which schema): no pragmas, no directories,
  no pool, so looking at a missing or foreign database creates and changes nothing;
- PostgreSQL: every execution is planned for the tables as they are (``plan_cache_mode =
  force_custom_plan`` on each connection). psycopg prepares a statement after a few executions,
  and the server would then keep ONE generic plan for it, made with the table's size at that
  moment, until an ANALYZE invalidates it: a hub installed empty that met a storm kept a
  whole-table scan of ``returns`` for every batch's lookup, growing with the table (issue 16;
  ``tests/hub/test_pg_plans.py``). Planning our statements (key lookups) costs far less than one
  wrong plan; the prepared statement still saves the parse;
- PostgreSQL: writes whose answer nobody reads (``hub.storage.bulk``'s inserts and updates, the
  audit tip's move) are sent in the connection's write pipeline and answered before the next
  statement or the commit (``hub.storage.write_pipeline``, installed here on every engine);
- PostgreSQL: a pooled connection is checked (``SELECT 1``) before use only when it has been
  back in the pool for ``PING_AFTER_IDLE_S`` or more, or is new; one that fails the check is
  replaced (SQLAlchemy's checkout handshake). ``pool_pre_ping`` checked before EVERY use: one
  round trip more for each ingest batch, about 1.6 ms of a 60 ms batch at 5,000 ev/s (issue
  16), for connections the writer gave back a few ms before. A connection that died within
  the last second (the server restarted meanwhile) fails its next statement instead, as a
  transient ``StorageError``: the ingest writer retries its batch, an API call answers 503 once
  (``tests/hub/test_engine_ping.py`` kills the backends to show both);
- every write goes through ``writing``: one transaction that first takes the audit chain's tip
  (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), so writers are
  serialised, audit entries chain without forks, and no two writers can deadlock;
- one exception, ``writing(tip_last=True)``: the ingest of several workers on PostgreSQL
  (``hub.sync.ingest.batch``) does its per-node work (node rows locked ``FOR UPDATE``, inbox,
  cursors) BEFORE it takes the tip with ``Tx.take_tip``, so two workers' batches overlap until
  they reach the rows other writers share; from the tip on it is serialised like any writer.
  The price: a writer holding the tip that then locks a node row a batch holds (the command
  outbox numbering a node's commands) can deadlock with that batch. PostgreSQL breaks it
  within ``deadlock_timeout`` (1 s) and fails one of them: the batch is retried by the ingest
  writer (a transient error), an API call answers 503 and can be repeated. Audit entries then
  follow the order transactions took the tip, so an entry's ``at`` (its transaction's start)
  may be a batch's duration earlier than the entry before it.
  One hub's ingest on PostgreSQL opens with ``tip_last`` too, but takes the tip as the first
  statement of its first round trip (``hub.sync.ingest.batch``, ``_first_reads``): the same
  order as ``writing`` would keep, two round trips fewer;
- reads go through ``reading`` (a plain transaction; WAL readers never block the writer);
- ``hold`` opens one writing transaction that outlives the calls made inside it (the API's
  idempotency keys: the write and its key with its answer commit together); while a ``Held``
  transaction is ``joined`` in the current context, ``writing`` on its engine becomes a savepoint
  inside it and ``reading`` reads through it (so a request reads its own writes);
- after-commit notices: code that writes something another part must act on marks the
  transaction (``notify(conn, topic)``, e.g. the command outbox's ``queue``); when ``writing``
  or a ``Held`` transaction commits, every callback registered for that topic on that engine
  (``after_commit``) is called once, after the commit, in the committing thread. A rolled-back
  transaction calls nothing; a savepoint rolled back inside a committed transaction may cause
  one needless call (callbacks must be cheap and idempotent, e.g. waking a thread). A callback
  that raises is logged and does not undo or fail the committed write;
- SQLAlchemy errors are translated to ``StorageError`` here, at the boundary.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from hub.errors import HubError, StorageError
from hub.storage import audit_log, write_pipeline
from hub.storage.audit_chain import AuditDraft
from protocol import utc_now

log = logging.getLogger(__name__)

_WRITE = "acorn_write"
_IDLE_SINCE = "acorn_idle_since"  # key in a pooled connection's record: when it came back
PING_AFTER_IDLE_S = 1.0
_NOTICES = "acorn_after_commit"  # key in Connection.info: topics this transaction marked
Callback = Callable[[], None]
_listeners: weakref.WeakKeyDictionary[Engine, dict[str, list[Callback]]] = (
    weakref.WeakKeyDictionary())
_listeners_lock = threading.Lock()


# every execution planned for the tables as they are now (the module rules)
_PLAN_EACH = "-c plan_cache_mode=force_custom_plan"


def make_engine(url: str, sqlite_synchronous: str = "FULL",
                ping_after_idle_s: float = PING_AFTER_IDLE_S) -> Engine:
    """An engine for ``url`` with the hub's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        given = parsed.query.get("options") or ""  # the URL's own options are kept
        given = " ".join(given) if isinstance(given, tuple) else given
        options = f"{given} {_PLAN_EACH}".strip()
        engine = create_engine(url, pool_size=5, max_overflow=5,
                               connect_args={"options": options})
        _ping_when_idle(engine, ping_after_idle_s)
        write_pipeline.install(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    _sqlite_events(engine, sqlite_synchronous)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Check a pooled connection before use when it idled ``idle_s`` or more (the rules)."""

    @event.listens_for(engine, "checkin")
    def _back(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is not None and time.monotonic() - since < idle_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError(f"a pooled connection is gone: {err}") from err
        if not alive:
            raise DisconnectionError("a pooled connection is gone")


def probe_engine(url: str) -> Engine:
    """An engine that only looks at ``url``'s database (see the rules); dispose it after."""
    return create_engine(url, poolclass=NullPool)


def _sqlite_events(engine: Engine, synchronous: str) -> None:
    if synchronous not in {"FULL", "NORMAL"}:
        raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "foreign_keys=ON",
                       "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes could fail with SQLITE_BUSY instead of waiting its turn.
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine | Connection) -> bool:
    """True for the embedded SQLite backend."""
    return engine.dialect.name == "sqlite"


@dataclass
class Tx:
    """An open writing transaction: its connection, its clock and its audit entries."""

    conn: Connection
    now: datetime
    drafts: list[AuditDraft] = field(default_factory=list)
    tip: tuple[int, str] | None = None  # the audit chain's tip, once this transaction holds it

    def audit(self, draft: AuditDraft) -> None:
        """Record an audit entry; it is chained and written when the transaction commits."""
        self.drafts.append(draft)

    def take_tip(self) -> tuple[int, str]:
        """Hold the audit chain's tip from now on (a no-op once held): everything this
        transaction does after it is serialised with every other writer."""
        if self.tip is None:
            self.tip = audit_log.lock_tip(self.conn)
        return self.tip


@dataclass
class Held:
    """A writing transaction held open across calls (see ``hold``); end it with ``finish``."""

    engine: Engine
    conn: Connection

    def finish(self, commit: bool) -> None:
        """Commit (or roll back) everything done inside, and give the connection back."""
        try:
            if commit:
                self.conn.commit()
            else:
                self.conn.rollback()
        except SQLAlchemyError as err:
            raise storage_error(err) from err
        finally:
            topics = _take_notices(self.conn)
            self.conn.close()
        if commit:
            _announce(self.engine, topics)


_HELD: ContextVar[Held | None] = ContextVar("acorn_hub_held_tx", default=None)


def hold(engine: Engine) -> Held:
    """Begin a writing transaction that stays open until ``finish`` (the audit tip locked)."""
    try:
        conn = engine.connect()
        try:
            conn.execution_options(**{_WRITE: True})
            _take_notices(conn)  # nothing left over from an earlier use of this connection
            conn.begin()
            audit_log.lock_tip(conn)
        except BaseException:
            conn.close()
            raise
    except SQLAlchemyError as err:
        raise storage_error(err) from err
    return Held(engine, conn)


@contextmanager
def joined(held: Held) -> Iterator[None]:
    """Make ``writing``/``reading`` on ``held``'s engine run inside it, in this context."""
    token = _HELD.set(held)
    try:
        yield
    finally:
        _HELD.reset(token)


def _held_for(engine: Engine) -> Held | None:
    held = _HELD.get()
    return held if held is not None and held.engine is engine else None


@contextmanager
def writing(engine: Engine, now: datetime | None = None, tip_last: bool = False) -> Iterator[Tx]:
    """One serialised write transaction; audit entries are chained in before the commit.
    ``tip_last``: take the audit tip only at ``Tx.take_tip`` (or to append), not first."""
    held = _held_for(engine)
    if held is not None:
        with _savepoint(held.conn, now) as tx:
            yield tx
        return
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            _take_notices(conn)  # nothing left over from an earlier use of this connection
            try:
                with conn.begin(), _audited(conn, now, not tip_last) as tx:
                    yield tx
            finally:
                topics = _take_notices(conn)
    except HubError:
        raise
    except SQLAlchemyError as err:
        raise storage_error(err) from err
    _announce(engine, topics)


@contextmanager
def _savepoint(conn: Connection, now: datetime | None) -> Iterator[Tx]:
    # A write inside a held transaction: undone alone if it fails, committed with the rest.
    try:
        with conn.begin_nested(), _audited(conn, now) as tx:
            yield tx
    except HubError:
        raise
    except SQLAlchemyError as err:
        raise storage_error(err) from err


@contextmanager
def _audited(conn: Connection, now: datetime | None, tip_first: bool = True) -> Iterator[Tx]:
    # One audited unit of work: the audit tip locked first (it serialises writers) unless the
    # caller takes it later itself, the transaction's drafts appended to the chain last.
    tx = Tx(conn, now or utc_now())
    if tip_first:
        tx.take_tip()
    yield tx
    if tx.drafts:
        audit_log.append(conn, tx.take_tip(), tx.now, tx.drafts)


def notify(conn: Connection, topic: str) -> None:
    """Have ``topic``'s after-commit callbacks called once this transaction commits."""
    conn.info.setdefault(_NOTICES, set()).add(topic)


def after_commit(engine: Engine, topic: str, callback: Callback) -> Callback:
    """Call ``callback`` after each commit on ``engine`` that marked ``topic``; return the
    function that unregisters it."""
    with _listeners_lock:
        _listeners.setdefault(engine, {}).setdefault(topic, []).append(callback)

    def unregister() -> None:
        with _listeners_lock:
            callbacks = _listeners.get(engine, {}).get(topic, [])
            if callback in callbacks:
                callbacks.remove(callback)

    return unregister


def _take_notices(conn: Connection) -> set[str]:
    # Connection.info lives as long as the pooled DBAPI connection: always take it whole.
    try:
        topics: set[str] = conn.info.pop(_NOTICES, set())
    except SQLAlchemyError:  # an invalidated connection: its info goes with it
        return set()
    return topics


def _announce(engine: Engine, topics: set[str]) -> None:
    if not topics:
        return
    with _listeners_lock:
        registered = _listeners.get(engine, {})
        callbacks = [cb for topic in sorted(topics) for cb in registered.get(topic, ())]
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the write is committed: a failing listener must not make it look failed
            log.exception("an after-commit callback failed (the transaction is committed)")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction."""
    held = _held_for(engine)
    if held is not None:
        yield held.conn
        return
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except HubError:
        raise
    except SQLAlchemyError as err:
        raise storage_error(err) from err


def storage_error(err: SQLAlchemyError) -> StorageError:
    """A readable StorageError for a SQLAlchemy error."""
    detail = str(err.orig if isinstance(err, DBAPIError) else err).strip().splitlines()
    return StorageError(f"database error: {detail[0] if detail else type(err).__name__}")


def is_transient(err: BaseException) -> bool:
    """True when retrying later may help (connection lost, database locked, server gone)."""
    cause = err.__cause__ if isinstance(err, StorageError) else err
    return isinstance(cause, DBAPIError) and (
        cause.connection_invalidated or type(cause).__name__ in {"OperationalError",
                                                                  "InterfaceError"})
