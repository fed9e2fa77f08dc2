"""The periodic classification pass in the hub process.

Rules: one daemon thread (``hub.finance.periodic.Periodic``) runs ``store.classify_pending`` at
start (the backfill of returns that existed before migration 0030) and every ``seconds`` after;
a pass that fails logs one warning and the next one tries again (the pass is idempotent); a
pass with many lines to classify rests ``REST`` times as long as each batch took before the
next (it is analytics: ingest comes first; measured in a storm of a million returns, back to
back batches held the hub's GIL and the audit tip more than the ingest did);
``stop`` ends the thread and waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine

from hub.finance.periodic import Periodic, always
from hub.finance.reasons.store import classify_pending

log = logging.getLogger(__name__)

REST = 3.0  # seconds of pause per second of work between batches: a quarter of the time at most


class ReasonClassifier(Periodic):
    """Classify new return lines every ``seconds``."""

    def __init__(self, engine: Engine, seconds: float = 60.0,
                 gate: Callable[[], bool] = always) -> None:
        self.engine = engine
        super().__init__("reasons", self._classify, seconds,
                         failed="return reasons not classified this time", logger=log, gate=gate)

    def _classify(self) -> int:
        done = classify_pending(self.engine, rest=REST)
        if done:
            log.info("return reasons classified: %s", dict(done))
        return sum(done.values())

    def once(self) -> int | None:
        """One pass: how many lines it classified, None when it failed (logged)."""
        done = super().once()
        return done if isinstance(done, int) else None
