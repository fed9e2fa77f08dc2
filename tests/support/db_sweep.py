"""Drop the PostgreSQL test databases a killed test run left behind.

A run that is killed (SIGKILL, a closed terminal, a CI timeout) never reaches
``tests.support.databases.finish``: its ``acorn_test_*`` databases stay on the server. The
session start (``tests/conftest.py``, once per run, not in each xdist worker) sweeps them.

Rules (never drop another live run's database, from this machine or another one sharing the
server):
- every test database's name says which process made it: ``acorn_test_<worker>_<owner>_…`` with
  ``owner`` = ``p<pid>n<pid namespace>`` (``owner_tag()``);
- such a database is dropped when its owner is in our pid namespace and that pid is no longer
  running. A pid reused by another process keeps its databases until a later sweep (safe side);
- any other ``acorn_test_*`` database (named before owners were recorded, or made in another
  pid namespace: a container) is dropped only once it is older than ``UNOWNED_AGE``: no test run
  lasts that long;
- a database anything is connected to (a hub a killed test started may still be running) is
  kept: it is not even tried, and the drop is a plain ``DROP DATABASE`` (no ``FORCE``), which
  the server refuses should a connection arrive meanwhile;
- a sweep that cannot reach the server does nothing (tests that need it fail on their own);
- sweeps may run at once (two runs starting together): each database is dropped by one of them
  and only that one lists it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "acorn_test_"  # every test database's name starts with it
UNOWNED_AGE = timedelta(hours=24)
_OWNED = re.compile(r"^acorn_test_[a-z0-9]+_p(\d+)n(\d+)_")


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0  # no /proc: only our own pids can be told alive or not


def owner_tag() -> str:
    """This process, as test database names carry it: ``p<pid>n<pid namespace>``."""
    return f"p{os.getpid()}n{_pid_namespace()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def stale(name: str, created: datetime | None, now: datetime) -> bool:
    """Whether the test database ``name`` (made at ``created``, None: unknown) is left over from
    a run that is gone (see the module rules)."""
    owned = _OWNED.match(name)
    if owned is not None and int(owned.group(2)) == _pid_namespace():
        return not _alive(int(owned.group(1)))
    return created is not None and now - created > UNOWNED_AGE


def sweep(admin_url: str = PG_ADMIN, prefix: str = PREFIX) -> list[str]:
    """Drop every stale test database that nothing is connected to; the names this call dropped.

    ``prefix`` narrows it to the test databases whose names start with it (the sweep's own tests
    sweep only the databases they made: a sweep running beside them never takes theirs)."""
    if not prefix.startswith(PREFIX):
        raise ValueError(f"only test databases are swept, not {prefix!r}…")
    pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        return []
    dropped = []
    with admin:
        rows = admin.execute(
            # when it was made: its PG_VERSION file is written by CREATE DATABASE (reading it
            # needs a superuser, as the tests' admin is; NULL for anyone else)
            "SELECT datname, CASE WHEN pg_has_role('pg_read_server_files', 'member') THEN"
            " (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification END"
            " FROM pg_database d WHERE datname LIKE %s"
            # in use: kept (DROP would refuse it too, after waiting 5 s for it to end)
            " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)",
            (pattern,),
        ).fetchall()
        now = datetime.now(UTC)
        for name, created in rows:
            if not stale(name, created, now):
                continue
            try:  # no IF EXISTS: one another sweep dropped meanwhile is not listed as ours
                admin.execute(f'DROP DATABASE "{name}"')  # refused while in use
            except psycopg.Error:
                continue  # connected to, or dropped by another sweep just now
            dropped.append(name)
    return dropped
