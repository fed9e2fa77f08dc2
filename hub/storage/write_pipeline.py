"""Writes sent to PostgreSQL without waiting for each one's answer (psycopg's pipeline mode).

The ingest writer's batch is one transaction of a dozen statements, and it waited for the
server's answer to each before building the next: under load each wait is a round trip through
two busy schedulers (the hub's writer and the PostgreSQL backend take turns on a shared core),
and the server's work on one statement could not overlap the hub's work on the next. Here a
write is sent at once and its answer is taken later, when the transaction next needs the
server: for a read, for any statement SQLAlchemy runs, or for the commit.

Rules:
- ``send(conn, sql, params)`` is for writes whose result nobody reads (no rows, no row count):
  ``hub.storage.bulk``'s inserts and updates and the audit tip's move. On PostgreSQL it opens
  the connection's write pipeline if none is open and executes ``sql`` in it; elsewhere (and on
  an engine ``install`` has not set up) it is a plain ``exec_driver_sql``;
- the pipeline is closed (every answer taken, in order) when anything else needs the
  connection: a statement SQLAlchemy executes meanwhile (a read, a savepoint ...) is sent in the
  pipeline and the pipeline closed with it, so the writes before it and it are answered in one
  round trip and SQLAlchemy then reads its result as usual (``do_execute``); a server-side
  cursor's statement (``stream_results``) and an executemany run after the pipeline closes;
  a commit with writes pending is sent in the pipeline after them and answered with them, in
  one round trip (the driver's own commit then finds the transaction ended and sends nothing;
  before, the pipeline was closed and then the driver committed: two), and ``sync`` closes it
  for the code that uses the driver itself (``bulk.select_together``). So statements still run
  in the order the code wrote them, reads see the writes before them, and nothing is reported
  committed before the server's answer to every write and to the COMMIT is in (behind a proxy
  with 2.4 ms round trips, a batch of 100: 37.0-46.7 -> 32.5-41.3 ms in five alternated
  pairs). An ingest batch of receipts on one hub waits for the server twice: for its first
  reads (``hub.sync.ingest.batch._first_reads``, the returns its events name among them), and
  for its writes with the commit;
- a write (or a COMMIT: a deferred constraint) the server refused is raised when the pipeline
  closes (or by the driver as soon as its answer is in, at a later write), as SQLAlchemy's
  ``DBAPIError`` family
  (``IntegrityError``, ``OperationalError`` ...) naming the pipelined statements: the
  transaction then fails as it would have at that write (the ingest writer retries the batch,
  then message by message). A rollback, or a connection given back to the pool, drops an open
  pipeline without raising (its writes are rolled back with the rest);
- ``install(engine)`` sets this up for a PostgreSQL engine (``hub.storage.engine.make_engine``).
"""

from __future__ import annotations

import logging
import weakref
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

log = logging.getLogger(__name__)

_installed: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines that close their pipelines


class _Open:
    """A pipeline opened on a driver connection, with the cursors of its writes."""

    def __init__(self, block: AbstractContextManager[Any]) -> None:
        self.block = block
        self.cursors: list[Any] = []
        self.sqls: list[str] = []


# the open pipeline of each driver (psycopg) connection that has one
_open: weakref.WeakKeyDictionary[Any, _Open] = weakref.WeakKeyDictionary()


def send(conn: Connection, sql: str, params: Any) -> None:
    """Execute the write ``sql`` with ``params`` (the driver's placeholders); on PostgreSQL in
    the connection's write pipeline, its answer taken when the pipeline closes (the rules)."""
    if conn.engine not in _installed:  # SQLite, or an engine not made by ``make_engine``
        conn.exec_driver_sql(sql, params)
        return
    driver = conn.connection.driver_connection
    opened = _open.get(driver)
    if opened is None:
        block = driver.pipeline()  # type: ignore[union-attr]
        block.__enter__()
        opened = _open[driver] = _Open(block)
    _pipelined(driver, opened, conn.dialect, sql, params)


def sync(conn: Connection) -> None:
    """Take the answers of every write sent on ``conn``'s connection; raise a refused one."""
    _close(conn.connection.driver_connection, conn.dialect)


def install(engine: Engine) -> None:
    """Answer a connection's pipeline with (or before) each statement and before each commit of
    ``engine``, and drop it at a rollback or when the connection goes back to the pool."""
    _installed.add(engine)

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        return _joined(cursor, context.dialect, statement,
                       lambda: cursor.execute(statement, parameters))

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool:
        return _joined(cursor, context.dialect, statement, lambda: cursor.execute(statement))

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor: Any, _statement: str, _parameters: Any, context: Any) -> None:
        _close(cursor.connection, context.dialect)

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        driver = conn.connection.driver_connection
        opened = _open.get(driver)
        if opened is not None:  # the COMMIT goes with the writes: answered in one round trip
            _pipelined(driver, opened, conn.dialect, "COMMIT", None)
        _close(driver, conn.dialect)  # the driver's own commit then finds nothing to commit

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        if not conn.invalidated:  # a lost connection's pipeline went with it
            _drop(conn.connection.driver_connection)

    @event.listens_for(engine, "reset")
    def _reset(dbapi_conn: Any, _record: Any, _state: Any = None) -> None:
        _drop(getattr(dbapi_conn, "driver_connection", dbapi_conn))


def _joined(cursor: Any, dialect: Dialect, statement: str, execute: Any) -> bool:
    """SQLAlchemy is about to execute ``statement`` on ``cursor``: with a pipeline open, send
    it in the pipeline and close that, so the writes before and this statement are answered
    together (one round trip, not two); True when done so (SQLAlchemy then reads the cursor as
    usual). A server-side cursor cannot run in a pipeline: the pipeline is closed first and
    SQLAlchemy executes it."""
    import psycopg  # only PostgreSQL connections get here

    opened = _open.get(cursor.connection)
    if opened is None:
        return False
    if isinstance(cursor, psycopg.ServerCursor):
        _close(cursor.connection, dialect)
        return False
    opened.sqls.append(statement)
    _sent(cursor.connection, opened, dialect, execute)
    _close(cursor.connection, dialect)
    return True


def _pipelined(driver: Any, opened: _Open, dialect: Dialect, sql: str, params: Any) -> None:
    """Execute ``sql`` in ``opened``, on a cursor of its own (closed when the pipeline ends)."""
    cursor = driver.cursor()
    opened.cursors.append(cursor)
    opened.sqls.append(sql)
    _sent(driver, opened, dialect, lambda: cursor.execute(sql, params))


def _sent(driver: Any, opened: _Open, dialect: Dialect, execute: Any) -> None:
    """Run ``execute`` (a statement sent in ``driver``'s pipeline). The driver may raise there
    already, when the answer to an earlier write has come back refused: the pipeline is then
    dropped and the error raised as SQLAlchemy's, naming the pipelined statements."""
    import psycopg  # only PostgreSQL connections get here

    try:
        execute()
    except psycopg.Error as err:
        _drop(driver)
        raise _refused(opened, err, dialect) from err


def _close(driver: Any, dialect: Dialect) -> None:
    opened = _open.pop(driver, None)
    if opened is None:
        return
    import psycopg  # only PostgreSQL connections get here

    try:
        opened.block.__exit__(None, None, None)
    except psycopg.Error as err:
        raise _refused(opened, err, dialect) from err
    finally:
        for cursor in opened.cursors:
            cursor.close()


def _drop(driver: Any) -> None:
    opened = _open.pop(driver, None)
    if opened is None:
        return
    try:  # told of an error, the block ends pipeline mode and logs what it ignores
        opened.block.__exit__(RuntimeError, RuntimeError("rolled back"), None)
    except Exception as err:  # the transaction is being rolled back anyway
        log.debug("write pipeline dropped: %r", err)
    finally:
        for cursor in opened.cursors:
            cursor.close()


def _refused(opened: _Open, err: Exception, dialect: Dialect) -> StatementError:
    """The driver's ``err`` as SQLAlchemy's error of its kind, naming the pipelined statements."""
    import psycopg  # only PostgreSQL connections get here

    return DBAPIError.instance(";\n".join(opened.sqls), None, err, psycopg.Error,
                               dialect=dialect)
