"""Crashes during traffic: nothing recorded at a counter is lost or duplicated.

Promise protected: every return a counter confirmed reaches the hub exactly once, in counter order,
with exactly one refund, while the broker, the hub and the edge agent are each killed with SIGKILL
several times in the middle of the traffic. The failures really happen (real processes, real
Mosquitto, SIGKILL), and the counters keep taking returns throughout, retrying with the same
``Idempotency-Key`` whenever the edge agent is down, as the counter page does.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import System, a_return
from tests.support.procs import Proc, wait_for

pytestmark = pytest.mark.slow

RETURNS_PER_STORE = 120
ROUNDS = 2


class Counter(threading.Thread):
    """A counter that records returns one after another, retrying each until it is confirmed."""

    def __init__(self, edge: Proc, count: int, stop: threading.Event) -> None:
        super().__init__(name=f"counter-{edge.name}", daemon=True)
        self.edge, self.count, self.stop_event = edge, count, stop
        self.ids: list[str] = []
        self.retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(self.count):
                self.ids.append(self._record(a_return(n)))
                time.sleep(0.02)
        except BaseException as err:  # reported by the test, not swallowed
            self.error = err

    def _record(self, body: dict[str, Any]) -> str:
        """POST one return under one key until the agent answers it (201, or 200 for a repeat)."""
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not self.stop_event.is_set():
            try:
                answer = httpx.post(f"{self.edge.url}/api/returns", json=body, timeout=5,
                                    headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code in (200, 201):
                return str(answer.json()["return_id"])
            if answer is not None and answer.status_code < 500:
                raise AssertionError(f"the agent refused a good return: {answer.text}")
            self.retries += 1
            time.sleep(0.1)
        raise TimeoutError("a return was never confirmed")


def health(proc: Proc) -> dict[str, Any]:
    return dict(httpx.get(f"{proc.url}/api/health", timeout=5).json())


def drained(proc: Proc) -> bool:
    try:
        return health(proc)["outbox_pending"] == 0
    except httpx.HTTPError:
        return False


def crash_schedule(system: System) -> list[tuple[str, Callable[[], None]]]:
    """Each victim killed with SIGKILL and started again, as a power cut or OOM kill would."""

    def broker() -> None:
        system.broker.kill()
        time.sleep(0.5)
        system.broker.start()

    def hub() -> None:
        system.hub.kill()
        system.hub.start()

    def edge() -> None:
        system.edge_a.kill()
        system.edge_a.start()

    return [("broker", broker), ("hub", hub), ("edge", edge)]


def assert_exactly_once(system: System, store: str, ids: list[str]) -> None:
    """The hub holds each confirmed return once, in counter order, each with one refund."""
    inbox = system.hub_inbox(store, "n1")
    seqs = [row["seq"] for row in inbox]
    assert seqs == list(range(1, len(seqs) + 1)), f"{store}: hub inbox has gaps or duplicates"
    received = [row["return_id"] for row in inbox if row["kind"] == "return.received"]
    assert received == ids, f"{store}: returns at the hub differ from the counter's, or their order"
    refunds = system.hub_sql(
        "SELECT return_id, count(*) AS n FROM refunds WHERE store_id = :s GROUP BY return_id",
        s=store)
    assert {r["return_id"]: r["n"] for r in refunds} == dict.fromkeys(ids, 1), (
        f"{store}: not exactly one refund per return")


def test_broker_hub_and_edge_killed_repeatedly_during_traffic_lose_and_duplicate_nothing(
        system: System) -> None:
    """Promise: nothing a counter confirmed is lost or duplicated, whatever crashes, how often."""
    stop = threading.Event()
    counters = [Counter(system.edge_a, RETURNS_PER_STORE, stop),
                Counter(system.edge_b, RETURNS_PER_STORE, stop)]
    for counter in counters:
        counter.start()
    try:
        for _ in range(ROUNDS):
            for name, crash in crash_schedule(system):
                wait_for(lambda: len(counters[0].ids) > 0, 30, "traffic before a crash")
                crash()
                print(f"\n{name} killed with {len(counters[0].ids)} returns confirmed at A")
                time.sleep(1.0)
        for counter in counters:
            counter.join(timeout=180)
            assert not counter.is_alive(), "a counter never finished its returns"
            assert counter.error is None, f"{counter.name}: {counter.error!r}"
    finally:
        stop.set()
    print(f"\nretries while something was down: A {counters[0].retries}, B {counters[1].retries}")
    for edge in (system.edge_a, system.edge_b):
        wait_for(lambda edge=edge: drained(edge), 120, f"{edge.name}'s outbox to drain")
    assert_exactly_once(system, "store-a", counters[0].ids)
    assert_exactly_once(system, "store-b", counters[1].ids)
