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

RETURNS_PER_STORE = 120  # the count a counter records when it is not told to go on until...
ROUNDS = 2
RETURNS_BETWEEN_CRASHES = 5  # at store A, after a crash, before the next one

# ``httpx.get``/``post`` make a client (and its TLS context, ~20 ms of CPU) per request; one client
# keeps no connection between requests, so none outlives the agent it went to (they are killed)
LOCAL = httpx.Client(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))


class Counter(threading.Thread):
    """A counter that records returns one after another, retrying each until it is confirmed:
    ``count`` of them, or with ``until`` as many as it can until that event is set (each
    ``pause`` seconds after the last was confirmed)."""

    def __init__(self, edge: Proc, count: int, stop: threading.Event,
                 until: threading.Event | None = None, pause: float = 0.02) -> None:
        super().__init__(name=f"counter-{edge.name}", daemon=True)
        self.edge, self.count, self.stop_event = edge, count, stop
        self.until, self.pause = until, pause
        self.ids: list[str] = []
        self.retries = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            n = 0
            while n < self.count if self.until is None else not self.until.is_set():
                self.ids.append(self._record(a_return(n)))
                n += 1
                time.sleep(self.pause)
        except BaseException as err:  # reported by the test, not swallowed
            self.error = err

    def _record(self, body: dict[str, Any]) -> str:
        """POST one return under one key until the agent answers it (201, or 200 for a repeat)."""
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not self.stop_event.is_set():
            try:
                answer = LOCAL.post(f"{self.edge.url}/api/returns", json=body,
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
    return dict(LOCAL.get(f"{proc.url}/api/health").json())


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
    """Promise: nothing a counter confirmed is lost or duplicated, whatever crashes, how often.
    The counters go on until the last crash is over, so every crash lands in their traffic."""
    stop, until = threading.Event(), threading.Event()
    counters = [Counter(system.edge_a, RETURNS_PER_STORE, stop, until, pause=0.05),
                Counter(system.edge_b, RETURNS_PER_STORE, stop, until, pause=0.05)]
    for counter in counters:
        counter.start()

    def confirmed_since(before: int) -> bool:  # store A's counter is confirmed returns again
        assert counters[0].is_alive(), f"counter A stopped: {counters[0].error!r}"
        return len(counters[0].ids) >= before + RETURNS_BETWEEN_CRASHES

    try:
        wait_for(lambda: confirmed_since(0), 30, "traffic before the first crash")
        for _ in range(ROUNDS):
            for name, crash in crash_schedule(system):
                at_crash = len(counters[0].ids)
                crash()
                print(f"\n{name} killed with {at_crash} returns confirmed at A")
                wait_for(lambda at_crash=at_crash: confirmed_since(at_crash), 60,
                         f"store A's counter to confirm returns again after the {name} crash")
        wait_for(lambda: len(counters[1].ids) >= RETURNS_BETWEEN_CRASHES, 30, "traffic at B")
        until.set()
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
