"""A pass the hub process runs every so often in a daemon thread (the archive's month close, the
evidence purge).

Rules: ``once`` runs the pass; a pass that raises a ``HubError`` logs one warning and the next one
tries again (each pass must be idempotent); ``stop`` ends the thread and waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from hub.errors import HubError

log = logging.getLogger(__name__)


class Periodic:
    """Run ``work`` at start and every ``seconds`` after, until stopped."""

    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        seconds: float,
        failed: str | None = None,
        logger: logging.Logger = log,
    ) -> None:
        self.name, self.work, self.seconds = name, work, seconds
        self._failed = failed or f"{name}: not done this time"  # the warning's first words
        self._log = logger
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
        while not self._stop.is_set():
            self.once()
            self._stop.wait(self.seconds)
