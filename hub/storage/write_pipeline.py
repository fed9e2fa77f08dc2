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
- the pipeline is closed (every answer taken, in order) before anything else touches the
  connection: before every statement SQLAlchemy executes (``before_cursor_execute``, savepoints
  included), before a commit, and by ``sync`` for the code that uses the driver itself
  (``bulk.select_together``, ``COPY``). So statements still run in the order the code wrote
  them, reads see the writes before them, and nothing commits unanswered;
- a write the server refused is raised when the pipeline closes, as SQLAlchemy's
  ``DBAPIError`` family (``IntegrityError``, ``OperationalError`` ...) naming the pipelined
  statements: the transaction then fails as it would have at that write (the ingest writer
  retries the batch, then message by message). A rollback, or a connection given back to the
  pool, drops an open pipeline without raising (its writes are rolled back with the rest);
- ``install(engine)`` sets this up for a PostgreSQL engine (``hub.storage.engine.make_engine``).
"""

from __future__ import annotations

import logging
import weakref
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_OPEN = "acorn_write_pipeline"  # the DBAPI connection's info: the open pipeline, if any
_installed: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines that close their pipelines


class _Open:
    """A pipeline opened on a driver connection, with the cursors of its writes."""

    def __init__(self, block: AbstractContextManager[Any]) -> None:
        self.block = block
        self.cursors: list[Any] = []
        self.sqls: list[str] = []


def send(conn: Connection, sql: str, params: Any) -> None:
    """Execute the write ``sql`` with ``params`` (the driver's placeholders); on PostgreSQL in
    the connection's write pipeline, its answer taken when the pipeline closes (the rules)."""
    if conn.engine not in _installed:  # SQLite, or an engine not made by ``make_engine``
        conn.exec_driver_sql(sql, params)
        return
    info = conn.connection.info
    opened = info.get(_OPEN)
    driver = conn.connection.driver_connection
    if opened is None:
        block = driver.pipeline()  # type: ignore[union-attr]
        block.__enter__()
        opened = info[_OPEN] = _Open(block)
    cursor = driver.cursor()  # type: ignore[union-attr]
    opened.cursors.append(cursor)
    opened.sqls.append(sql)
    cursor.execute(sql, params)


def sync(conn: Connection) -> None:
    """Take the answers of every write sent on ``conn``'s connection; raise a refused one."""
    _close(conn.connection.info, conn.dialect)


def install(engine: Engine) -> None:
    """Close a connection's pipeline before each statement and each commit of ``engine``, and
    drop it at a rollback or when the connection goes back to the pool."""
    _installed.add(engine)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Connection, *_args: Any) -> None:
        _close(conn.connection.info, conn.dialect)

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        _close(conn.connection.info, conn.dialect)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        if not conn.invalidated:  # a lost connection's pipeline went with it
            _drop(conn.connection.info)

    @event.listens_for(engine, "reset")
    def _reset(_dbapi_conn: Any, record: Any, _state: Any = None) -> None:
        _drop(record.info)


def _close(info: dict[Any, Any], dialect: Any) -> None:
    opened = info.pop(_OPEN, None)
    if opened is None:
        return
    import psycopg  # only PostgreSQL connections get here

    try:
        opened.block.__exit__(None, None, None)
    except psycopg.Error as err:
        raise DBAPIError.instance(";\n".join(opened.sqls), None, err, psycopg.Error,
                                  dialect=dialect) from err
    finally:
        for cursor in opened.cursors:
            cursor.close()


def _drop(info: dict[Any, Any]) -> None:
    opened = info.pop(_OPEN, None)
    if opened is None:
        return
    try:  # told of an error, the block ends pipeline mode and logs what it ignores
        opened.block.__exit__(RuntimeError, RuntimeError("rolled back"), None)
    except Exception as err:  # the transaction is being rolled back anyway
        log.debug("write pipeline dropped: %r", err)
    finally:
        for cursor in opened.cursors:
            cursor.close()
