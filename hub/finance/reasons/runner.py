"""The periodic classification pass in the hub process.

Rules: one daemon thread runs ``store.classify_pending`` at start (the backfill of returns that
existed before migration 0030) and every ``seconds`` after; a pass that fails logs one warning
and the next one tries again (the pass is idempotent); ``stop`` ends the thread and waits.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from hub.errors import HubError
from hub.finance.reasons.store import classify_pending

log = logging.getLogger(__name__)


class ReasonClassifier:
    """Classify new return lines every ``seconds``."""

    def __init__(self, engine: Engine, seconds: float = 60.0) -> None:
        self.engine, self.seconds = engine, seconds
        self.passed = threading.Event()  # set after each pass (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reasons", daemon=True)

    def start(self) -> ReasonClassifier:
        """Start the passes; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout)

    def once(self) -> int | None:
        """One pass: how many lines it classified, None when it failed (logged)."""
        try:
            done = classify_pending(self.engine)
        except HubError as err:
            log.warning("return reasons not classified this time: %s", err.message)
            return None
        finally:
            self.passed.set()
        if done:
            log.info("return reasons classified: %s", dict(done))
        return sum(done.values())

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.once()
            self._stop.wait(self.seconds)
