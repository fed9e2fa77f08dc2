"""Several `acorn-hub serve` workers on one PostgreSQL database and one private Mosquitto."""

from __future__ import annotations

import multiprocessing as mp
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.storage.engine import make_engine, reading
from hub.storage.tables.core import inbox, nodes, returns
from tests.support.broker import MqttCreds, TestBroker
from tests.support.databases import pg_database
from tests.support.fleet_nodes import NodeCreds, run_nodes
from tests.support.http_calls import http_get
from tests.support.procs import Proc, hub_proc, stop_all


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of the test's own (made and dropped)."""
    yield from pg_database()


def worker_creds(broker: TestBroker, name: str) -> MqttCreds:
    """A hub worker's own broker user, bound to its own client id (as ``devices add-hub``)."""
    password = secrets.token_urlsafe(12)
    with broker.local.admin() as admin:
        username = admin.provision_hub(password, username=name, client_id=name)
    return MqttCreds(broker.host, broker.port, username, password, name)


def start_worker(tmp: Path, broker: TestBroker, db_url: str, name: str, workers: int = 2,
                 **extra: str) -> Proc:
    """One `acorn-hub serve` worker, started and healthy (its log: ``tmp/<name>.log``)."""
    proc = hub_proc(tmp, worker_creds(broker, name), db_url, hub_workers=str(workers),
                    leader_poll_seconds="0.5", ingest_batch_ms="5", command_poll_seconds="0.2",
                    **extra)
    proc.name, proc.log_path = name, tmp / f"{name}.log"
    return proc.start(timeout=90)


@dataclass
class Workers:
    """The running workers, the database they share, and a reader of their figures."""

    procs: list[Proc]
    db_url: str
    engine: Engine
    token: str

    def health(self, proc: Proc) -> dict[str, Any]:
        return dict(http_get(f"{proc.url}/api/health", timeout=5).json())

    def stored(self, proc: Proc) -> float:
        """Events this worker stored (its /metrics counter)."""
        text = http_get(f"{proc.url}/metrics", timeout=5,
                        headers={"Authorization": f"Bearer {self.token}"}).text
        for line in text.splitlines():
            if line.startswith("acorn_hub_events_stored_total "):
                return float(line.split()[1])
        return 0.0


@pytest.fixture
def two_workers(tmp_path: Path, broker: TestBroker, pg_url: str) -> Iterator[Workers]:
    """Two workers sharing the ingest (the first starts first, so it is the leader)."""
    procs: list[Proc] = []
    engine = make_engine(pg_url)
    try:
        procs.append(start_worker(tmp_path, broker, pg_url, "acorn-hub-w1"))
        procs.append(start_worker(tmp_path, broker, pg_url, "acorn-hub-w2"))
        token = create_token(engine, "workers-test", Role.VIEWER)
        yield Workers(procs, pg_url, engine, token)
    finally:
        stop_all(procs)
        engine.dispose()


def _drive(out: Any, *load: Any) -> None:
    out.put(run_nodes(*load))


class Load:
    """Simulated nodes (their own identities, the edge's pacing) in a process of their own, so
    the test can kill a worker while they publish; ``result`` waits until every event is
    confirmed by an ack."""

    def __init__(self, broker: TestBroker, creds: list[tuple[int, NodeCreds]], rate: float,
                 seconds: float) -> None:
        ctx = mp.get_context("fork")
        self._out = ctx.Queue()
        self._proc = ctx.Process(target=_drive, args=(
            self._out, [(i, c, 0) for i, c in creds], broker.host, broker.port, rate, 0,
            seconds, time.time() + 0.5, 180.0))
        self._proc.start()

    def result(self, timeout: float = 240.0) -> dict[str, Any]:
        try:
            got: dict[str, Any] = self._out.get(timeout=timeout)
        finally:
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
        return got


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def count(engine: Engine, table: Any) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def assert_each_event_once(engine: Engine, written: dict[int, int], tag: str) -> None:
    """Every event the nodes wrote is stored once and applied once, each node at its end."""
    total = sum(written.values())
    with reading(engine) as conn:
        assert count(engine, inbox) == total
        ids = [r for (r,) in conn.execute(select(returns.c.return_id))]
        assert len(ids) == len(set(ids)) == total
        expected = {f"B{i}-{seq}" for i, n in written.items() for seq in range(1, n + 1)}
        assert set(ids) == expected
        positions = {r.store_id: (r.contiguous_seq, r.highest_seq) for r in conn.execute(
            select(nodes.c.store_id, nodes.c.contiguous_seq, nodes.c.highest_seq))}
    assert positions == {f"{tag}-s{i:04d}": (n, n) for i, n in written.items()}
