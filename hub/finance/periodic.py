"""A pass the hub process runs every so often in a daemon thread (the archive's month close, the
evidence purge).

Rules: ``once`` runs the pass; a pass that raises a ``HubError`` logs one warning and the next one
tries again (each pass must be idempotent); ``stop`` ends the thread and waits for it. With a
``gate`` (several hub workers: ``hub.sync.leader.Leadership.leading``) a pass runs only while the
gate is open, checked every ``GATE_POLL_SECONDS``: a worker that becomes the leader runs the pass
at once, then every ``seconds`` while it stays the leader (``gated_loop``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hub.errors import HubError

log = logging.getLogger(__name__)
GATE_POLL_SECONDS = 1.0


def always() -> bool:
    """The gate of a single hub: always open."""
    return True


def gated_loop(stop: threading.Event, seconds: float, gate: Callable[[], bool],
               work: Callable[[], object]) -> None:
    """Call ``work`` at start and every ``seconds`` until ``stop``, only while ``gate()``."""
    step = seconds if gate is always else min(seconds, GATE_POLL_SECONDS)
    due = 0.0
    while not stop.is_set():
        if gate() and time.monotonic() >= due:
            work()
            due = time.monotonic() + seconds
        stop.wait(step)


class Periodic:
    """Run ``work`` at start and every ``seconds`` after, until stopped."""

    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        seconds: float,
        failed: str | None = None,
        logger: logging.Logger = log,
        gate: Callable[[], bool] = always,
    ) -> None:
        self.name, self.work, self.seconds = name, work, seconds
        self._failed = failed or f"{name}: not done this time"  # the warning's first words
        self._log = logger
        self._gate = gate
        self.passed = threading.Event()  # set after each pass (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Periodic:
        """Start the passes; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout)

    def once(self) -> object:
        """One pass: what ``work`` returned, None when it failed (logged)."""
        try:
            return self.work()
        except HubError as err:
            self._log.warning("%s: %s", self._failed, err.message)
            return None
        finally:
            self.passed.set()

    def _loop(self) -> None:
        gated_loop(self._stop, self.seconds, self._gate, self.once)
