"""Migrated hub databases for tests, cloned from one migrated template per test process.

Running every migration for every test costs 0.3 s on SQLite and 3 s on PostgreSQL; a clone costs
a file copy or a ``CREATE DATABASE … TEMPLATE`` (0.1 s). ``migrated(url)`` gives the same database
``upgrade(url)`` would: a fresh (empty) database becomes a clone of a template this process
migrated once with ``upgrade``; a database that already holds something is upgraded as before.
The migrations themselves are tested apart (``tests/hub/test_migrations.py`` runs them one by one
on both databases), so nothing goes untested.

The templates are made when first asked for and removed when the process ends; a test's
database is dropped by a thread of its own while the next test runs. Their names carry the
worker and the process that made them (``acorn_test_gw0_p<pid>n<ns>_…``), so that a later run
drops what a killed one left (``tests.support.db_sweep``).
"""

from __future__ import annotations

import atexit
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url

from hub.storage import write_pipeline
from hub.storage.migrations import upgrade
from tests.support.db_sweep import owner_tag
from tests.support.ports import worker_tag

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
_lock = threading.Lock()
_templates: dict[str, str] = {}  # "sqlite" → template file, "pg" → template database name
_cloned: set[str] = set()  # PostgreSQL URLs made as clones (already at the newest schema)
_to_drop: queue.Queue[str | None] = queue.Queue()


def pg_database(schema: bool = False) -> Iterator[str]:
    """A PostgreSQL database of its own, made and dropped: empty, or with ``schema`` a clone of
    the migrated template (as ``migrated`` would leave it)."""
    name = f"acorn_test_{_owner()}_{uuid.uuid4().hex[:12]}"  # whose it is, when one is left
    template = f' TEMPLATE "{_pg_template()}"' if schema else ""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{template}')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    if schema:
        _cloned.add(url)
    try:
        yield url
    finally:
        _cloned.discard(url)
        _to_drop.put(name)  # the test goes on while the server removes it


def _owner() -> str:
    """The worker and the process a database belongs to (``tests.support.db_sweep`` rules)."""
    return f"{worker_tag()}_{owner_tag()}"


def migrated(url: str) -> None:
    """Bring the database at ``url`` to the newest schema, as ``upgrade(url)`` does."""
    if url in _cloned:
        return
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = Path(parsed.database)
        if not path.exists() or path.stat().st_size == 0:
            shutil.copyfile(_sqlite_template(), path)
            return
    elif parsed.get_backend_name() == "postgresql" and parsed.database and _pg_empty(url):
        template = _pg_template()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{parsed.database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{parsed.database}" TEMPLATE "{template}"')
        return
    upgrade(url)


def _sqlite_template() -> str:
    with _lock:
        if "sqlite" not in _templates:
            folder = tempfile.mkdtemp(prefix="acorn-hub-template-")
            path = str(Path(folder) / "hub.db")
            upgrade(f"sqlite:///{path}")
            _templates["sqlite"] = path
        return _templates["sqlite"]


def _pg_template() -> str:
    with _lock:
        if "pg" not in _templates:
            name = f"acorn_test_{_owner()}_template_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            upgrade(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
            _templates["pg"] = name
        return _templates["pg"]


def _pg_empty(url: str) -> bool:
    """Whether the PostgreSQL database at ``url`` has no tables yet (it was just created)."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    return row is not None and row[0] == 0


def _drop(name: str) -> None:
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # the server is gone at exit: nothing to clean


def _dropping() -> None:
    while (name := _to_drop.get()) is not None:
        _drop(name)


def finish() -> None:
    """Drop what is queued, then the templates (pytest's unconfigure calls it; so does exit)."""
    if _dropper.is_alive():
        _to_drop.put(None)
        _dropper.join()
    with _lock:
        if "pg" in _templates:
            _drop(_templates.pop("pg"))
        if "sqlite" in _templates:
            shutil.rmtree(Path(_templates.pop("sqlite")).parent, ignore_errors=True)


# Started at import, before any test, so the leak guard counts it as the session's.
_dropper = threading.Thread(target=_dropping, name="test-db-drop", daemon=True)
_dropper.start()
atexit.register(finish)


@contextmanager
def statements_sent(engine: Engine | Connection, many: list[bool] | None = None,
                    parameters: list[Any] | None = None) -> Iterator[list[str]]:
    """The SQL statements ``engine`` (or one connection) sends to its database meanwhile (an
    executemany counts once), for tests that bound how many a piece of work costs; ``many`` gets,
    for each, whether it was an executemany (one execution a row on the server), ``parameters``
    the parameters it was sent with."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, params: object, _context: object,
             executemany: bool) -> None:
        seen.append(statement)
        if many is not None:
            many.append(executemany)
        if parameters is not None:
            parameters.append(params)

    def pipelined(conn: Connection, sql: str, params: Any) -> None:
        # writes sent in PostgreSQL's pipeline (``hub.storage.write_pipeline``) go to the
        # driver without SQLAlchemy's events: counted here, one statement each
        if conn is engine or conn.engine is engine:
            note(conn, None, sql, params, None, False)
        send(conn, sql, params)

    send = write_pipeline.send
    event.listen(engine, "before_cursor_execute", note)
    write_pipeline.send = pipelined  # type: ignore[assignment]
    try:
        yield seen
    finally:
        write_pipeline.send = send  # type: ignore[assignment]
        event.remove(engine, "before_cursor_execute", note)
