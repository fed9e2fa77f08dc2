"""The periodic classification pass in the hub process.

Rules: one daemon thread (``hub.finance.periodic.Periodic``) runs ``store.classify_pending`` at
start (the backfill of returns that existed before migration 0030) and every ``seconds`` after;
a pass that fails logs one warning and the next one tries again (the pass is idempotent); a
pass with many lines to classify rests ``REST`` times as long as each batch took before the
next WHILE THE INGEST IS BUSY (it is analytics: ingest comes first; back to back, its batches
take the CPU and the database time a busy ingest needs: ``REST``), and not at all while the
ingest is quiet: this process's ingest writer spent less than ``BUSY`` of the time since the
pass last looked committing batches (``ingest_seconds``, its running total). After a peak the
reasons thus catch up at the pass's full speed instead of a quarter of it; with several hub
workers the pass (on the leader) judges by the leader's own ingest, its share of the load;
every pass takes the queued store returns (``reason_queue``); the first pass, and one every
``full_every`` seconds, looks at every Amazon report line, the passes between only at those the
hub stored from ``MARGIN`` before the previous pass began (``classify_pending(since=...)``), so a
pass at rest costs what arrived, not every line ever classified. An Amazon line stored by a
transaction that committed more than ``MARGIN`` after its start (or by a worker whose clock runs
that far behind) is left to the next full pass: late, never lost. A pass that fails moves
nothing on: the next one looks from the same time again; ``stop`` ends the thread and waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from hub.finance.periodic import Periodic, always
from hub.finance.reasons.store import BATCH, classify_pending
from protocol import utc_now

log = logging.getLogger(__name__)

# seconds of pause per second of work between batches: a quarter of the time at most (at a
# sustained 4,000 ev/s on a 2-core host the pass then classifies ~2,000 lines a second and lags,
# acorn_hub_reasons_queued shows it; resting 1, the ingest's p99 went from 0.7 to 3.9 s)
REST = 3.0
BUSY = 0.25  # the ingest is busy when its writer spent this share of the time in batches
MARGIN = timedelta(minutes=5)  # how far before the previous pass an incremental pass looks
FULL_EVERY = 3600.0  # seconds between passes over every line


class ReasonClassifier(Periodic):
    """Classify new return lines every ``seconds``."""

    def __init__(self, engine: Engine, seconds: float = 60.0,
                 gate: Callable[[], bool] = always, full_every: float = FULL_EVERY,
                 ingest_seconds: Callable[[], float] = lambda: 0.0,
                 batch: int = BATCH) -> None:
        self.engine = engine
        self.full_every = full_every
        self.batch = batch
        # this process's ingest: seconds its writer spent in batches so far (none: never busy)
        self.ingest_seconds = ingest_seconds
        self._looked = (0.0, 0.0)  # (when, ingest seconds then): set as each pass begins
        self.rests = 0  # batches after which the pass rested (the ingest was busy)
        self.runs = 0  # batches after which it went straight on (the ingest was quiet)
        self.since: datetime | None = None  # where the next incremental pass looks from
        self._last_full = 0.0  # time.monotonic() when the last full pass began
        super().__init__("reasons", self._classify, seconds,
                         failed="return reasons not classified this time", logger=log, gate=gate)

    def _classify(self) -> int:
        started, clock = utc_now(), time.monotonic()
        full = self.since is None or clock - self._last_full >= self.full_every
        self._looked = (time.monotonic(), self.ingest_seconds())
        done = classify_pending(self.engine, self.batch, rest=self._rest,
                                since=None if full else self.since)
        if full:
            self._last_full = clock
        self.since = started - MARGIN
        if done:
            log.info("return reasons classified: %s", dict(done))
        return sum(done.values())

    def _rest(self, took: float) -> float:
        """The pause after a batch that took ``took`` seconds: ``REST`` times it when the ingest
        was busy since the pass last looked, none when it was quiet."""
        now, spent = time.monotonic(), self.ingest_seconds()
        then, before = self._looked
        self._looked = (now, spent)
        if now > then and (spent - before) / (now - then) < BUSY:
            self.runs += 1
            return 0.0
        self.rests += 1
        return REST * took

    def once(self) -> int | None:
        """One pass: how many lines it classified, None when it failed (logged)."""
        done = super().once()
        return done if isinstance(done, int) else None
