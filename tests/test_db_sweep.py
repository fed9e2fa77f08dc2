"""The sweep at session start drops the PostgreSQL test databases of a run that is gone, and
never one a live run (or anything connected) still uses (``tests.support.db_sweep``)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.support.db_sweep import PG_ADMIN, UNOWNED_AGE, _pid_namespace, owner_tag, stale, sweep


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (name,)).fetchone() is not None


@pytest.fixture
def made() -> Iterator[list[str]]:
    """Databases a test makes (dropped afterwards, whatever the sweep did)."""
    names: list[str] = []
    yield names
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _create(made: list[str], owner: str) -> str:
    name = f"acorn_test_gw99_{owner}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    made.append(name)
    return name


def test_a_dead_runs_databases_go_and_live_ones_stay(made: list[str]) -> None:
    ours = _pid_namespace()
    dead = _create(made, f"p{_dead_pid()}n{ours}")
    dead_template = _create(made, f"p{_dead_pid()}n{ours}_template")
    live = _create(made, owner_tag())  # this process: running
    other_machine = _create(made, f"p{_dead_pid()}n{ours + 1}")  # a pid of another namespace
    legacy = f"acorn_test_gw99_{uuid.uuid4().hex[:12]}"  # named before owners were recorded
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{legacy}"')
    made.append(legacy)

    dropped = sweep()

    assert {dead, dead_template} <= set(dropped)
    assert not _exists(dead) and not _exists(dead_template)
    assert _exists(live) and _exists(other_machine) and _exists(legacy)


def test_a_database_in_use_is_kept_until_nothing_is_connected(made: list[str]) -> None:
    name = _create(made, f"p{_dead_pid()}n{_pid_namespace()}")  # e.g. a killed test's hub
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}"):
        assert name not in sweep()
        assert _exists(name)
    assert name in sweep()


def test_unowned_databases_go_only_when_older_than_any_run() -> None:
    now = datetime.now(UTC)
    legacy = "acorn_test_gw0_0123456789ab"
    elsewhere = f"acorn_test_gw0_p{os.getpid()}n{_pid_namespace() + 1}_0123456789ab"
    for name in (legacy, elsewhere):
        assert not stale(name, now - timedelta(minutes=30), now)
        assert not stale(name, None, now)  # age unknown: kept
        assert stale(name, now - UNOWNED_AGE - timedelta(minutes=1), now)
    # ours and running: kept whatever its age
    assert not stale(f"acorn_test_gw0_{owner_tag()}_x", now - 2 * UNOWNED_AGE, now)
