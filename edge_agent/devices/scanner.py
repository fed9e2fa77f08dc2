"""The counter's scanner, owned by the agent, and the live thread that turns scans into events.

Rules:
- one ``ScannerSupervisor`` (``hardware.scanner``) owns the scanner and reconnects by itself when
  it is unplugged and plugged in again; its callbacks only queue lines and publish its status;
- one live thread handles the lines in order: type each (``edge_agent.returns.scans``), look it up
  and record it exactly as ``POST /api/scans`` does (``Counter.scan``, one transaction), then
  publish a ``scan`` event; a line that cannot be handled becomes a ``scan`` event saying why,
  never a crash (the thread logs anything unexpected and carries on: the counter keeps its
  scanner); it sleeps until a line comes (the hub link announces its own changes: see
  ``edge_agent.sync.changes``);
- ``SCANNER_URL=stdin`` reads the agent's standard input (development); pyserial is imported only
  when a serial scanner is configured.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from typing import TYPE_CHECKING

from edge_agent.devices.models import ScannerView
from edge_agent.errors import EdgeError
from edge_agent.events import EventBus
from edge_agent.returns import scans
from edge_agent.returns.counter import Counter
from edge_agent.returns.models import ScanResult
from edge_agent.settings import EdgeSettings
from protocol import format_utc

if TYPE_CHECKING:
    from hardware.scanner import ScannerStatus, ScannerSupervisor

log = logging.getLogger(__name__)


class Devices:
    """The scanner supervisor and the live thread of one agent."""

    def __init__(self, settings: EdgeSettings, counter: Counter, bus: EventBus) -> None:
        self._settings, self._counter, self._bus = settings, counter, bus
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._scanner: ScannerSupervisor | None = None
        self._thread: threading.Thread | None = None
        self._test_scan: queue.SimpleQueue[str] | None = None  # set while a self-test waits

    def start(self) -> None:
        """Start the live thread, then the scanner (if one is configured)."""
        self._thread = threading.Thread(target=self._run, name="acorn-live", daemon=True)
        self._thread.start()
        self._scanner = self._make_scanner()
        if self._scanner is not None:
            self._scanner.start()

    def stop(self) -> None:
        """Stop the scanner, then the live thread (after the lines already read)."""
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            scanner.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._lines.put(None)
            thread.join(10)

    def scanner_view(self) -> ScannerView:
        """The scanner's latest status."""
        url = self._settings.scanner_url
        if not url:
            return ScannerView(configured=False, url="", state="none", last_error=None,
                               changed_at=None)
        latest = self._bus.latest("scanner")
        if latest is None:
            return ScannerView(configured=True, url=url, state="starting", last_error=None,
                               changed_at=None)
        return ScannerView.model_validate(latest | {"configured": True})

    def handle_line(self, line: str) -> dict[str, object]:
        """Type, look up and record one scanned line; publish and return its ``scan`` event."""
        language = self._counter.current_language()  # the hub's store config may set it
        outcome = scans.interpret(line, language)
        result: ScanResult | None = None
        if outcome.lookup is not None:
            try:
                result = self._counter.scan(outcome.lookup)
            except (EdgeError, sqlite3.Error) as err:
                log.error("could not record the scan %r: %s", outcome.lookup, err)
                outcome = scans.lookup_failed(outcome, err, language)
        data = scans.scan_event(outcome, result, language)
        self._bus.publish("scan", data)
        return data

    def await_test_scan(self, timeout: float) -> str | None:
        """The next scanned line (taken by the self-test, not looked up), or None after
        ``timeout``; the counter page is told a test scan is wanted."""
        waiting: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._test_scan = waiting
        self._bus.publish("selftest", {"waiting_scan": True, "seconds": timeout})
        try:
            return waiting.get(timeout=timeout)
        except queue.Empty:
            return None
        finally:
            self._test_scan = None
            self._bus.publish("selftest", {"waiting_scan": False})

    def _make_scanner(self) -> ScannerSupervisor | None:
        url = self._settings.scanner_url
        if not url:
            return None
        from hardware.scanner import Backoff

        backoff = Backoff(initial=0.2, maximum=2.0)
        if url == "stdin":
            from hardware.scanner_stdin import stdin_scanner

            return stdin_scanner(self._lines.put, self._on_status, backoff=backoff)
        from hardware.scanner_serial import SerialScannerConfig, serial_scanner

        s = self._settings
        config = SerialScannerConfig(port=url, baudrate=s.scanner_baud,
                                     terminator=s.scanner_line_end, prefix=s.scanner_prefix,
                                     suffix=s.scanner_suffix)
        return serial_scanner(config, self._lines.put, self._on_status, backoff=backoff)

    def _on_status(self, status: ScannerStatus) -> None:
        level = logging.INFO if status.last_error is None else logging.WARNING
        log.log(level, "scanner %s: %s %s", self._settings.scanner_url, status.state.value,
                status.last_error or "")
        self._bus.publish("scanner", {"url": self._settings.scanner_url,
                                      "state": status.state.value,
                                      "last_error": status.last_error,
                                      "changed_at": format_utc(status.changed_at)})

    def _run(self) -> None:
        while (line := self._lines.get()) is not None:
            try:
                waiting = self._test_scan
                if line and waiting is not None:
                    self._test_scan = None
                    waiting.put(line)
                elif line:
                    self.handle_line(line)
            except Exception:  # the counter must keep its scanner: see the module rules
                log.exception("live thread: could not handle %r", line[:100])
