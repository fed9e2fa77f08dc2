"""The garbage collector as ``acorn-hub serve`` sets it (``hub.heap``), and what /metrics says.

``settle`` freezes a process's heap for good, so it runs in a child process here, never in the
test process (tests build many apps; frozen cyclic garbage would stay)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.heap import GEN0, GEN1, GEN2
from hub.storage.engine import make_engine
from tests.support.broker import TestBroker
from tests.support.http_calls import http_get
from tests.support.procs import hub_proc, wait_for

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import gc, json
from hub import heap
print(json.dumps({"before": heap.seconds_by_generation()}))
heap.settle()
frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
class Knot:
    def __init__(self): self.me = self
for _ in range(50_000):
    Knot()  # cyclic garbage: only the collector frees it
gc.collect()
print(json.dumps({"frozen": frozen, "threshold": threshold,
                  "seconds": heap.seconds_by_generation()}))
"""


def test_settle_freezes_the_heap_raises_the_thresholds_and_times_collections() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    before, after = (json.loads(line) for line in done.stdout.splitlines())
    assert before["before"] == [0.0, 0.0, 0.0]  # nothing timed until settle
    assert after["frozen"] > 1_000  # the imported modules at least
    assert after["threshold"] == [GEN0, GEN1, GEN2]
    assert after["seconds"][2] > 0  # the full collection of 50,000 knots took CPU
    assert sum(after["seconds"][:2]) > 0  # young collections ran on the way


def _metric(text: str, name: str) -> list[float]:
    return [float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)]


def test_serve_settles_its_heap_and_shows_the_collector_in_metrics(
        broker: TestBroker, tmp_path: Path) -> None:
    hub = hub_proc(tmp_path, broker.hub_creds())
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        token = create_token(engine, "gc-watch", Role.VIEWER)
    finally:
        engine.dispose()
    hub.start()
    try:
        def scrape() -> str:
            return http_get(f"{hub.url}/metrics", timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).text

        text = scrape()
        assert _metric(text, "acorn_hub_gc_frozen_objects")[0] > 10_000  # the app, frozen
        assert len(_metric(text, "acorn_hub_gc_seconds_total")) == 3  # one per generation
        # every scrape allocates: young collections happen and are timed
        wait_for(lambda: _metric(scrape(), "acorn_hub_gc_seconds_total")[0] > 0, 60,
                 "a timed young collection")
    finally:
        hub.stop()
