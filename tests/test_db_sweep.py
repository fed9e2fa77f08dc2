"""The sweep at session start drops the PostgreSQL test databases of a run that is gone, and
never one a live run (or anything connected) still uses (``tests.support.db_sweep``).

Each test names its databases under a prefix of its own and sweeps only that prefix: the sweeps
of the other tests here (on other xdist workers: a test's sweep took another's "dead" database
before that one's own sweep could list it) never take them. Their "dead" owner is a process that
runs until just before the sweep, so its pid cannot be reused by then and another run's
session-start sweep (``sweep()``, all test databases) cannot take them while they are made. It
could still in the moment between that owner's end and the test's sweep, which is its job: what
the tests assert is the databases' state after their sweep (the dead ones gone, the others
there) and that a sweep lists only databases it dropped, never which sweep dropped them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.support.db_sweep import (
    PG_ADMIN,
    PREFIX,
    UNOWNED_AGE,
    _pid_namespace,
    owner_tag,
    stale,
    sweep,
)


def _exists(name: str) -> bool:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (name,)).fetchone() is not None


def _wait_unconnected(name: str, seconds: float = 5.0) -> None:
    """Until the server has no session on ``name`` (a backend ends a moment after its client
    closed the connection)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE datname = %s",
                            (name,)).fetchone() is not None:
            assert time.monotonic() < deadline, f"still connected to {name} after {seconds} s"
            time.sleep(0.02)


@pytest.fixture
def made() -> Iterator[list[str]]:
    """Databases a test makes (dropped afterwards, whatever the sweep did)."""
    names: list[str] = []
    yield names
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def run() -> Iterator[subprocess.Popen[bytes]]:
    """A run whose databases the test makes: a process running until ``_end(run)``."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as child:
        try:
            yield child
        finally:
            child.kill()


def _end(run: subprocess.Popen[bytes]) -> None:
    """The run is gone (killed, as a run the sweep is for): its pid runs nothing."""
    run.kill()
    run.wait()


def _scope() -> str:
    """A prefix of the test's own, in place of a worker's (``acorn_test_<worker>_``)."""
    return f"{PREFIX}sw{uuid.uuid4().hex[:8]}_"


def _create(made: list[str], scope: str, owner: str | None) -> str:
    """A database under ``scope``, named as ``owner``'s (None: as before owners were recorded)."""
    name = f"{scope}{owner}_{uuid.uuid4().hex[:12]}" if owner else f"{scope}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    made.append(name)
    return name


def test_a_dead_runs_databases_go_and_live_ones_stay(
    made: list[str], run: subprocess.Popen[bytes]
) -> None:
    ours, scope = _pid_namespace(), _scope()
    dead = _create(made, scope, f"p{run.pid}n{ours}")
    dead_template = _create(made, scope, f"p{run.pid}n{ours}_template")
    live = _create(made, scope, owner_tag())  # this process: running
    other_machine = _create(made, scope, f"p{run.pid}n{ours + 1}")  # that pid, elsewhere
    legacy = _create(made, scope, None)
    _end(run)

    dropped = sweep(prefix=scope)

    assert set(dropped) <= {dead, dead_template}
    assert not _exists(dead) and not _exists(dead_template)
    assert _exists(live) and _exists(other_machine) and _exists(legacy)


def test_a_database_in_use_is_kept_until_nothing_is_connected(
    made: list[str], run: subprocess.Popen[bytes]
) -> None:
    scope = _scope()
    name = _create(made, scope, f"p{run.pid}n{_pid_namespace()}")  # e.g. a killed test's hub
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}"):
        _end(run)
        assert sweep(prefix=scope) == []
        assert _exists(name)
    _wait_unconnected(name)
    assert set(sweep(prefix=scope)) <= {name}
    assert not _exists(name)


def test_sweeps_at_once_drop_each_database_once(
    made: list[str], run: subprocess.Popen[bytes]
) -> None:
    """Two runs starting together: a database one sweep dropped is not listed by the other too
    (and neither fails on it)."""
    scope = _scope()
    dead = [_create(made, scope, f"p{run.pid}n{_pid_namespace()}") for _ in range(3)]
    _end(run)

    with ThreadPoolExecutor(3) as pool:
        lists = list(pool.map(lambda _: sweep(prefix=scope), range(3)))

    listed = [name for dropped in lists for name in dropped]
    assert len(listed) == len(set(listed)) and set(listed) <= set(dead)  # by one sweep each
    assert not any(_exists(name) for name in dead)


def test_only_test_databases_are_swept() -> None:
    with pytest.raises(ValueError):
        sweep(prefix="acorn_")


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
