"""A pooled PostgreSQL connection is checked before use only once it has idled
(``hub.storage.engine``): a dead one that idled is replaced unseen; one that died just after
use fails its next statement as a transient error, and the one after works (what the ingest
writer's retry and the API's 503 rely on). The backends are really killed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, text

from hub.errors import StorageError
from hub.storage.engine import is_transient, make_engine, reading
from tests.support.databases import pg_database

pytestmark = pytest.mark.pg
IDLE_S = 0.3


@contextmanager
def two_engines() -> Iterator[tuple[Engine, Engine]]:
    """An engine under test (one pooled connection used) and one to kill its backends with."""
    with contextmanager(pg_database)() as url:
        engine, killer = make_engine(url, ping_after_idle_s=IDLE_S), make_engine(url)
        try:
            yield engine, killer
        finally:
            engine.dispose()
            killer.dispose()


def _pid(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(killer: Engine, pid: int) -> None:
    with reading(killer) as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}
                            ).scalar_one()


def test_a_connection_that_died_while_idle_is_replaced_before_use() -> None:
    with two_engines() as (engine, killer):
        first = _pid(engine)
        _kill(killer, first)
        time.sleep(IDLE_S + 0.1)
        second = _pid(engine)  # checked on checkout, found dead, replaced: no error
        assert second != first


def test_a_connection_that_died_right_after_use_fails_once_as_transient() -> None:
    with two_engines() as (engine, killer):
        first = _pid(engine)
        _kill(killer, first)  # within IDLE_S of its return to the pool: not checked
        with pytest.raises(StorageError) as failed:
            _pid(engine)
        assert is_transient(failed.value)
        assert _pid(engine) != first  # the pool let the dead one go: the next call works
