"""The cyclic garbage collector, set for a long-running hub that ingests many events.

Measured (``python -m bench capacity``, 1,000 nodes offering 5,000 ev/s, one hub on PostgreSQL,
collector times from ``gc.callbacks``): with Python's defaults (700, 10, 10) the hub spent 7.8 s
of its 28.8 s of CPU (27 %) in the collector, 6.2 s of it in full collections. The cause is the
ingest itself: every event is decoded into a few dozen objects on the network thread and waits
in the writer's queue for its batch, so under load the young generations promote tens of
thousands of live, soon-dead objects at a time, and each full collection walks them all again
beside the app's own (~250,000 objects: routes, schemas, SQLAlchemy metadata).

Rules (``settle`` does both, once, in ``acorn-hub serve`` after the app is built and before it
serves):
- the objects alive at that point are frozen (``gc.freeze``): they live as long as the process,
  and no collection walks them again;
- the young generation is collected every ``GEN0`` allocations instead of 700, so a batch's
  objects are mostly freed by reference counting before they could be promoted, and older
  generations are looked at every ``GEN1``/``GEN2`` younger collections instead of 10.
Measured the same way afterwards: 2.1 s of 23.8 s (9 %), and the hub's CPU per event 0.218 ms
instead of 0.28–0.29 (README, issue 16). Cycles are still collected: only later, in larger steps.
Not done in ``create_app``: tests build many apps in one process, and frozen objects that later
become cyclic garbage are never freed.

Operators see the collector in ``/metrics``: ``acorn_hub_gc_seconds_total`` (CPU seconds in
collections, by generation) and ``acorn_hub_gc_frozen_objects``.
"""

from __future__ import annotations

import gc
import time
from typing import Any

GEN0 = 20_000
GEN1 = 20
GEN2 = 20

_seconds = [0.0, 0.0, 0.0]  # CPU seconds spent in collections, by generation
_began = [0.0]  # the collecting thread's CPU clock when the collection started


def _timed(phase: str, info: dict[str, Any]) -> None:
    """``gc.callbacks`` hook: the CPU time of each collection, added to its generation.
    Collections never overlap (the interpreter runs one at a time, in the thread that
    triggered it, under the GIL), so one start time is enough."""
    if phase == "start":
        _began[0] = time.thread_time()
    else:
        _seconds[info["generation"]] += time.thread_time() - _began[0]


def settle() -> None:
    """Freeze what lives now, raise the thresholds, time every collection from here on."""
    gc.collect()  # what start-up left as garbage goes first: frozen, it would stay
    gc.freeze()
    gc.set_threshold(GEN0, GEN1, GEN2)
    if _timed not in gc.callbacks:
        gc.callbacks.append(_timed)


def seconds_by_generation() -> tuple[float, float, float]:
    """CPU seconds spent in collections since ``settle`` (zeros when it was not called)."""
    return _seconds[0], _seconds[1], _seconds[2]
