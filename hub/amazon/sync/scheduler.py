"""The Amazon jobs on intervals, inside ``acorn-hub serve``.

Rules:
- the app's lifespan (``hub.app.create_app``) owns it: it is built on the app's own engine with
  the Amazon settings the app was given, started after the MQTT runtime and stopped before it;
  it builds no engine and reads no environment of its own;
- each job (orders, returns, fba-returns, refund-events, settlements, refunds) runs for every
  account every ``ACORN_HUB_AMAZON_INTERVAL_<JOB>`` seconds, measured from the start of its
  previous run; the first runs start a few seconds after the hub;
- never two runs of the same job at once: a job still running when it is due again is skipped
  until it ends (different jobs do run side by side, sharing the process's rate limiter);
- a shipment recorded at the hub (``hub.inventory.picking.RECORDED``, after its commit) makes
  the ``shipments`` job due at once, so a package is confirmed to Amazon within a tick or so
  of the store shipping it (after the run in progress, if one is);
- ``stop`` asks running jobs to stop at their next wait and joins every thread;
- with several hub workers only the leader starts runs (``gate``, ``hub.sync.leader``): while
  the gate is closed nothing is launched and due jobs stay due, so a worker that takes over
  starts them at its next tick;
- the runner (and with it the SP-API client, pyarrow for settlement files ...) is imported by
  the first run that has an account to sync, not when the hub starts: ``JOBS`` names the jobs
  here and equals ``hub.amazon.sync.runner.JOBS``'s keys (a test holds them equal).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from hub.amazon.accounts import load_accounts
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.errors import HubError
from hub.inventory.picking import RECORDED
from hub.storage.engine import after_commit

log = logging.getLogger(__name__)
JOBS = ("orders", "returns", "fba-returns", "refund-events", "settlements", "refunds", "listings",
        "supply-sources", "shipments", "vat-reports")
FIRST_DELAY_SECONDS = 5.0
TICK_SECONDS = 1.0


class Scheduler:
    """One thread that starts job runs when they are due."""

    def __init__(
        self,
        engine: Engine,
        settings: AmazonSettings,
        clock: Callable[[], float] = time.monotonic,
        first_delay: float = FIRST_DELAY_SECONDS,
        tick: float = TICK_SECONDS,
        gate: Callable[[], bool] = lambda: True,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._tick = tick
        self._gate = gate
        self._stop = threading.Event()
        self._limiter = Limiter(factor=settings.rate_factor)
        self._secrets = SecretSource(secrets_file=settings.secrets_file)
        start = clock() + first_delay
        self._due = {job: start for job in JOBS}
        self._running: dict[str, threading.Thread] = {}
        self._thread = threading.Thread(target=self._loop, name="amazon-scheduler", daemon=True)
        self.runs: dict[str, int] = dict.fromkeys(JOBS, 0)
        self._unlisten = after_commit(engine, RECORDED, lambda: self.wake("shipments"))

    def wake(self, job: str) -> None:
        """Make ``job`` due now (it starts at the next tick, or when its current run ends)."""
        self._due[job] = min(self._due[job], self._clock())

    def start(self) -> Scheduler:
        """Start the scheduling thread."""
        self._thread.start()
        log.info("Amazon scheduler started")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling, ask running jobs to stop, and wait for them."""
        self._stop.set()
        self._unlisten()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for thread in list(self._running.values()):
            thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self._tick):
            if not self._gate():
                continue
            now = self._clock()
            for job, due in self._due.items():
                running = self._running.get(job)
                if now >= due and (running is None or not running.is_alive()):
                    self._due[job] = now + self._settings.interval(job)
                    self._launch(job)

    def _launch(self, job: str) -> None:
        thread = threading.Thread(target=self._run, args=(job,), name=f"amazon-job-{job}")
        self._running[job] = thread
        self.runs[job] += 1
        thread.start()

    def _run(self, job: str) -> None:
        try:
            accounts = load_accounts(self._engine)
        except HubError as err:
            log.warning("amazon %s: cannot read the accounts: %s", job, err.message)
            return
        if not accounts:
            return
        from hub.amazon.sync.runner import Runner, run_jobs  # SP-API: only with an account

        runner = Runner(self._engine, self._settings, self._limiter, self._secrets, stop=self._stop)
        for result in run_jobs(runner, accounts, [job]):
            t = result.tally
            log.info(
                "amazon %s for %s: fetched %d, new %d, updated %d, errors %d%s",
                job,
                result.account,
                t.fetched,
                t.new,
                t.updated,
                t.errors,
                f" ({result.error})" if result.error else "",
            )
