"""The scheduled fetch of ECB reference rates, for a hub that has internet.

Rules:
- off unless ``ACORN_HUB_FX_FETCH_URL`` names ECB's file (``eurofxref-daily.xml``, or any CSV or
  XML ``hub.finance.fx`` reads); then fetched once at start and every ``ACORN_HUB_FX_FETCH_HOURS``;
- a fetch that fails (no network, HTTP error, unreadable file) logs one warning and changes
  nothing: decisions keep the rates they had (the bundled history, earlier fetches and imports);
- one daemon thread; ``stop`` ends it and waits for it; with several hub workers only the leader
  fetches (``gate``, ``hub.finance.periodic.gated_loop``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from hub.errors import HubError
from hub.finance.fx_rates import fetch
from hub.finance.periodic import always, gated_loop

log = logging.getLogger(__name__)


class FxFetcher:
    """Fetch ``url`` into the ``fx_rates`` table every ``seconds``."""

    def __init__(self, engine: Engine, url: str, seconds: float,
                 gate: Callable[[], bool] = always) -> None:
        self.engine, self.url, self.seconds = engine, url, seconds
        self._gate = gate
        self.fetched = threading.Event()  # set after each attempt (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fx-fetch", daemon=True)

    def start(self) -> FxFetcher:
        """Start fetching; returns self."""
        self._thread.start()
        log.info("ECB rates fetched from %s every %.1f h", self.url, self.seconds / 3600)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout)

    def once(self) -> int | None:
        """One fetch: the number of quotes stored, None when it failed (logged)."""
        try:
            count = fetch(self.engine, self.url)
        except HubError as err:
            log.warning("ECB rates not fetched: %s", err.message)
            return None
        finally:
            self.fetched.set()
        log.info("ECB rates fetched from %s: %d quotes", self.url, count)
        return count

    def _loop(self) -> None:
        gated_loop(self._stop, self.seconds, self._gate, self.once)
