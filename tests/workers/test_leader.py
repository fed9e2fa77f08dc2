"""One worker at a time runs the schedulers (the command publisher among them), through a
PostgreSQL advisory lock; when it dies another takes over."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.errors import ConfigError
from hub.settings import load_settings
from hub.storage import outbox
from hub.storage.engine import make_engine
from hub.sync.leader import Leadership
from tests.hub.test_after_commit import expected
from tests.support.broker import Probe, TestBroker
from tests.support.databases import migrated
from tests.workers.conftest import Workers, wait_for

COMMANDS = "acorn/v1/stores/s1/nodes/n1/commands"


def _queue(engine: Engine, rma: str) -> str:
    return outbox.queue_expected_return(engine, "s1", "n1", expected(rma), "test", "admin")


@pytest.fixture
def engines(pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    migrated(pg_url)
    one, two = make_engine(pg_url), make_engine(pg_url)
    try:
        yield one, two
    finally:
        one.dispose()
        two.dispose()


@pytest.mark.pg
def test_one_holder_at_a_time_and_the_lock_passes_on_when_the_holder_goes(
        engines: tuple[Engine, Engine]) -> None:
    changes: list[tuple[str, bool]] = []
    first = Leadership(engines[0], shared=True, on_change=lambda on: changes.append(("a", on)))
    second = Leadership(engines[1], shared=True, on_change=lambda on: changes.append(("b", on)))
    try:
        assert first.try_once() is True
        assert second.try_once() is False
        assert first.try_once() is True  # still held: the session answers
        first.stop()  # releases the lock with its session
        assert not first.leading()
        wait_for(second.try_once, 5, "the second takes the released lock")
        assert changes == [("a", True), ("a", False), ("b", True)]
    finally:
        first.stop()
        second.stop()


def test_a_single_hub_or_sqlite_always_leads_without_a_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        for shared in (False, True):
            leadership = Leadership(engine, shared=shared).start()
            assert leadership.leading() and leadership.state()["shared"] is False
            leadership.stop()
    finally:
        engine.dispose()


@pytest.mark.pg
def test_the_leader_killed_the_other_worker_takes_the_command_publisher(
        broker: TestBroker, two_workers: Workers) -> None:
    leader, other = two_workers.procs
    assert two_workers.health(leader)["ingest"]["leading"] is True
    assert two_workers.health(other)["ingest"]["leading"] is False
    probe = Probe(broker.admin_creds())
    try:
        probe.subscribe(COMMANDS)
        first = _queue(two_workers.engine, "R1")
        wait_for(lambda: any(first.encode() in m.payload for m in probe.messages), 10,
                 "the leader publishes the command")
        time.sleep(1.5)  # several polls of the other worker (0.2 s each in tests)
        assert sum(first.encode() in m.payload for m in probe.messages) == 1  # the leader only
        leader.kill()  # SIGKILL: its session ends, and the advisory lock with it
        wait_for(lambda: two_workers.health(other)["ingest"]["leading"] is True, 15,
                 "the other worker takes the lock")
        second = _queue(two_workers.engine, "R2")
        wait_for(lambda: any(second.encode() in m.payload for m in probe.messages), 10,
                 "the new leader publishes the next command")
    finally:
        probe.close()


def test_several_workers_on_sqlite_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match="ACORN_HUB_HUB_WORKERS: 2 workers need PostgreSQL"):
        load_settings(hub_workers=2, database_url="sqlite:///hub.db")
    assert load_settings(hub_workers=2, database_url="postgresql+psycopg://h/db").shared_ingest
    assert not load_settings(database_url="sqlite:///hub.db").shared_ingest
