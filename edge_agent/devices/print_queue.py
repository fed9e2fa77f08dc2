"""Printing that never blocks the counter: one worker thread per printer, jobs kept in SQLite.

Rules:
- the counter only writes job rows, inside the transaction that records the return or the
  disposition, and wakes the worker after the commit; printing happens later on the worker's
  thread, so a slow, offline or paperless printer never delays an answer, and a job exists if and
  only if the fact it prints does;
- one worker owns one printer and is the only thread that talks to it (port-9100 printers serve
  one client at a time; status queries and jobs must not interleave);
- the worker asks the printer for its status when the last answer is older than
  ``PRINT_RETRY_SECONDS`` (also while idle, so the counter screen stays current) or was not
  ready: ``offline``/``paper_out`` hold the queue until a later check; ``ok``, ``paper_low`` and
  ``unknown`` (no answer to status queries: many printers) print;
- a job that does not reach the printer (``PrinterOffline``) waits for the next check; one the
  printer refuses (``PrinterError``) is tried up to ``MAX_ATTEMPTS`` times; one that cannot be
  laid out fails at once; a database error is logged and the worker carries on after a pause;
- each change of a printer's status, queue depth or last error is published as a ``printer``
  event; receipts go to the receipt printer, labels to the label printer, else the receipt
  printer; with no printer configured nothing is queued.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from edge_agent.devices import print_jobs
from edge_agent.devices.models import READY_STATES, PrinterReport, PrinterView, PrintJobView
from edge_agent.devices.print_jobs import Job, Lane
from edge_agent.errors import Conflict, DiskFull
from edge_agent.events import EventBus
from edge_agent.returns import receipts, views
from edge_agent.returns.models import ReturnView
from edge_agent.settings import EdgeSettings
from edge_agent.staff import store_config
from edge_agent.storage import idempotency
from edge_agent.storage.store import Store, Tx
from protocol import utc_now

if TYPE_CHECKING:
    from hardware.printing import Printer, PrinterProfile

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 24 * 3600.0

STATUS_TIMEOUT = 1.0
PRINTED_ON: dict[str, print_jobs.JobKind] = {"return.received": "receipt",
                                             "disposition.recorded": "label"}
NOT_READY = {"offline": "offline or unreachable (is it on and connected?)",
             "paper_out": "out of paper (or its cover is open)"}


class PrintWorker:
    """The one thread that talks to one printer."""

    def __init__(self, lane: Lane, url: str, profile: Callable[[], PrinterProfile], store: Store,
                 bus: EventBus, retry_seconds: float, keep_days: int = 30) -> None:
        self.lane, self.url = lane, url
        self._profile, self._store, self._bus = profile, store, bus
        self._retry = retry_seconds
        self._keep = timedelta(days=keep_days)
        self._next_purge = 0.0  # monotonic; the first step purges
        self._printer: Printer | None = None
        self._status = "unknown"
        self._checked_at: datetime | None = None
        self._error: str | None = None
        self._ready = False  # may print now: the last check said so and nothing failed since
        self._next_check = 0.0
        self._published: dict[str, Any] | None = None
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        # pages printed at once and not kept (the self-test's): this thread prints them too
        self._pages: queue.SimpleQueue[tuple[Callable[[PrinterProfile], bytes], Future[str]]]
        self._pages = queue.SimpleQueue()

    def start(self) -> None:
        """Start the worker thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"acorn-printer-{self.lane}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current job (or status query) and stop."""
        thread, self._thread = self._thread, None
        self._stopping.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def wake(self) -> None:
        """New jobs were committed."""
        self._wake.set()

    def print_now(self, render: Callable[[PrinterProfile], bytes], timeout: float) -> str:
        """Print one page that is not kept (on the worker's thread); the printer's status, or
        RuntimeError / TimeoutError saying why it did not print."""
        if self._thread is None:
            raise RuntimeError("the printer worker is not running")
        done: Future[str] = Future()
        self._pages.put((render, done))
        self._wake.set()
        return done.result(timeout)

    def _print_pages(self) -> None:
        from hardware.errors import HardwareError

        while True:
            try:
                render, done = self._pages.get_nowait()
            except queue.Empty:
                return
            self._check()  # a fresh answer: the page is the test of it
            printer = self._printer
            if printer is None or not self._ready:
                why = NOT_READY.get(self._status, self._status)
                done.set_exception(RuntimeError(self._error or f"the printer is {why}"))
                continue
            try:
                printer.sink.write(render(printer.profile))
            except (HardwareError, ValueError) as err:
                done.set_exception(RuntimeError(str(err)))
            else:
                done.set_result(self._status)

    def view(self) -> PrinterView:
        """The printer's state and its lane of the queue."""
        with self._store.read() as tx:
            depth = print_jobs.depth(tx, self.lane)
        why = NOT_READY.get(self._status)
        return PrinterView(role=self.lane, url=self.url, status=self._status,
                           queued=depth.queued, failed=depth.failed,
                           last_error=self._error or (why and f"printer {self.url} is {why}")
                           or depth.last_error, checked_at=self._checked_at)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
                self._publish()
            except (sqlite3.Error, DiskFull):
                log.exception("database error in the %s printer worker; retrying", self.lane)
                self._stopping.wait(self._retry)

    def _step(self) -> None:
        if time.monotonic() >= self._next_purge:
            self._purge()
        if time.monotonic() >= self._next_check:
            self._check()
        if not self._pages.empty():
            self._print_pages()
        job = self._next() if self._ready else None
        if job is None:
            self._wake.wait(max(0.01, self._next_check - time.monotonic()))
            self._wake.clear()
        elif not self._stopping.is_set():
            self._print(job)

    def _purge(self) -> None:
        """Delete printed jobs older than the keep period (at start, then once a day)."""
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        with self._store.write() as tx:
            gone = print_jobs.purge_printed(tx, self.lane, utc_now() - self._keep)
        if gone:
            log.info("%s printer: deleted %d printed job(s) older than %d days", self.lane, gone,
                     self._keep.days)

    def _next(self) -> Job | None:
        with self._store.read() as tx:
            return print_jobs.next_job(tx, self.lane)

    def _check(self) -> None:
        if self._printer is not None and self._printer.profile != self._profile():
            self._printer = None  # the store config changed the paper: open it with the new one
        printer = self._open()
        status = printer.status(STATUS_TIMEOUT).value if printer is not None else "error"
        self._status, self._checked_at = status, utc_now()
        self._ready = status in READY_STATES
        self._next_check = time.monotonic() + self._retry

    def _open(self) -> Printer | None:
        if self._printer is None:
            from hardware.errors import HardwareError
            from hardware.printing import printer_from_url

            try:
                self._printer = printer_from_url(self.url, self._profile())
                self._error = None
            except HardwareError as err:
                self._error = str(err)
        return self._printer

    def _print(self, job: Job) -> None:
        from hardware.errors import HardwareError, PrinterError, PrinterOffline

        printer = self._printer
        assert printer is not None  # a ready status came from an open printer
        self._record(print_jobs.mark_printing, job.id)
        try:
            data = receipts.render(job.kind, job.payload, printer.profile)
        except (HardwareError, ValueError, KeyError) as err:
            log.error("print job %d (%s of %s) cannot be laid out: %s", job.id, job.kind,
                      job.return_id, err)
            self._record(print_jobs.mark_failed, job.id, f"cannot lay out: {err}")
            return
        try:
            printer.sink.write(data)
        except PrinterOffline as err:
            self._not_ready("offline", job, str(err), tried=False)
        except PrinterError as err:
            if job.attempts + 1 >= print_jobs.MAX_ATTEMPTS:
                self._record(print_jobs.mark_failed, job.id, str(err))
            else:
                self._not_ready(self._status, job, str(err), tried=True)
        else:
            self._record(print_jobs.mark_done, job.id)
            self._next_check = time.monotonic() + self._retry  # it just worked: no need to ask

    def _not_ready(self, status: str, job: Job, error: str, tried: bool) -> None:
        log.warning("%s printer %s: %s; job %d waits", self.lane, self.url, error, job.id)
        self._status, self._checked_at, self._ready = status, utc_now(), False
        self._next_check = time.monotonic() + self._retry
        with self._store.write() as tx:
            print_jobs.mark_retry(tx, job.id, error, utc_now(), tried)

    def _record(self, move: Callable[..., None], job_id: int, *args: str) -> None:
        with self._store.write() as tx:
            move(tx, job_id, *args, utc_now())

    def _publish(self) -> None:
        data = self.view().model_dump(mode="json")
        comparable = {k: v for k, v in data.items() if k != "checked_at"}
        if comparable != self._published:
            self._published = comparable
            self._bus.publish("printer", data, key=self.lane)


class Printing:
    """The agent's printers: where each job goes, the workers, and the queue's API face."""

    def __init__(self, settings: EdgeSettings, store: Store, bus: EventBus) -> None:
        self._settings, self._store = settings, store
        urls: dict[Lane, str] = {"receipt": settings.printer_url,
                                 "label": settings.label_printer_url}
        self.workers = {lane: PrintWorker(lane, url, self._profile,
                                          store, bus, settings.print_retry_seconds,
                                          settings.print_jobs_keep_days)
                        for lane, url in urls.items() if url}

    def _profile(self) -> PrinterProfile:
        """The printer profile of the settings in force (the store config may set the paper)."""
        with self._store.read() as tx:
            return receipts.profile_for(store_config.effective(tx, self._settings))

    def lane_for(self, kind: print_jobs.JobKind) -> Lane | None:
        """The printer a job of this kind goes to, or None when there is none."""
        if kind in self.workers:
            return kind
        return "receipt" if "receipt" in self.workers else None

    def on_record(self, tx: Tx, action: str, return_id: str) -> None:
        """The counter's in-transaction hook: queue the receipt or the label of this action."""
        kind = PRINTED_ON.get(action)
        if kind is not None and self.lane_for(kind) is not None:
            self._enqueue(tx, kind, views.return_view(tx, return_id))

    def _enqueue(self, tx: Tx, kind: print_jobs.JobKind, view: ReturnView) -> PrintJobView:
        lane = self.lane_for(kind)
        assert lane is not None  # callers check that a printer takes this kind
        make = receipts.receipt_input if kind == "receipt" else receipts.label_input
        settings = store_config.effective(tx, self._settings)  # language, zone from the hub
        job_id = print_jobs.enqueue(tx, lane, kind, view.return_id, make(view, settings),
                                    utc_now())
        return PrintJobView(job_id=job_id, return_id=view.return_id, kind=kind, printer=lane,
                            state="queued")

    def wake(self) -> None:
        """Tell the workers that jobs were committed."""
        for worker in self.workers.values():
            worker.wake()

    def reprint(self, return_id: str) -> PrintJobView:
        """Queue the return's receipt again (Conflict when no printer is configured)."""
        if self.lane_for("receipt") is None:
            raise Conflict("no printer is configured (set ACORN_EDGE_PRINTER_URL)",
                           field=None)
        with self._store.write() as tx:
            job = self._enqueue(tx, "receipt", views.return_view(tx, return_id))
            idempotency.seal(tx, job.model_dump_json())
        self.wake()
        return job

    def print_now(self, render: Callable[[PrinterProfile], bytes], timeout: float) -> str:
        """Print a page that is not kept on the receipt printer (RuntimeError when none)."""
        lane = self.lane_for("receipt")
        if lane is None:
            raise RuntimeError("no printer is configured")
        return self.workers[lane].print_now(render, timeout)

    def report(self) -> PrinterReport:
        """Every printer's state and queue; the receipt printer's at the top."""
        printers = [worker.view() for worker in self.workers.values()]
        if not printers:
            return PrinterReport(configured=False, status="none", queued=0, last_error=None,
                                 printers=[])
        first = printers[0]
        return PrinterReport(configured=True, status=first.status,
                             queued=sum(p.queued for p in printers),
                             last_error=first.last_error, printers=printers)

    def start(self) -> None:
        """Queue again what a crash interrupted, then start the workers."""
        if not self.workers:
            return
        with self._store.write() as tx:
            again = print_jobs.requeue_interrupted(tx, utc_now())
        if again:
            log.warning("%d print job(s) interrupted by a stop are queued again", again)
        for worker in self.workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop the workers (each finishes the job it is sending)."""
        for worker in self.workers.values():
            worker.stop()
