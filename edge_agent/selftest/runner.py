"""Run the self-test for one agent, keep its report, and guard the counter on the clock.

The report is kept in the store's meta (``selftest_last``) with an audit entry, published on the
event bus (``selftest``) and reported to the hub in the node's next status (sent at once).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from edge_agent.devices.print_queue import Printing
from edge_agent.devices.scanner import Devices
from edge_agent.errors import Conflict
from edge_agent.events import EventBus
from edge_agent.selftest import checks
from edge_agent.selftest.report import (
    CheckResult,
    SelfTestReport,
    clock_check,
    clock_refusal,
    disk_check,
    summarise,
)
from edge_agent.settings import EdgeSettings
from edge_agent.storage import audit
from edge_agent.storage.store import Store
from edge_agent.sync.link import Link
from protocol import format_utc, utc_now

if TYPE_CHECKING:
    from hardware.printing import PrinterProfile

log = logging.getLogger(__name__)
META_LAST = "selftest_last"
META_OFFSET = "selftest_clock_offset"  # the last measured offset (a run may not measure it)
BROKER_WAIT = 5.0
PRINT_WAIT = 20.0


class SelfTest:
    """The agent's self-test: runs, last report, clock guard."""

    def __init__(self, settings: EdgeSettings, store: Store, link: Link | None,
                 printing: Printing, devices: Devices, bus: EventBus) -> None:
        self._settings, self._store, self._link = settings, store, link
        self._printing, self._devices, self._bus = printing, devices, bus
        self._running = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        with store.read() as tx:
            offset = tx.meta(META_OFFSET)
        self._offset = float(offset) if offset is not None else None

    def run(self, scan: bool = True, print_page: bool = True) -> SelfTestReport:
        """Run every check (one run at a time: Conflict while another runs), keep the report."""
        if not self._running.acquire(blocking=False):
            raise Conflict("a self-test is already running; wait for its result", field=None)
        try:
            report = self._run(scan, print_page)
        finally:
            self._running.release()
        self._keep(report)
        return report

    def _run(self, scan: bool, print_page: bool) -> SelfTestReport:
        s = self._settings
        hub, offset = checks.hub(s.hub_url, ca_file=s.mqtt_tls_ca_file)
        link = self._link
        results: list[CheckResult] = [
            hub, checks.broker(self._wait_link if link is not None else None, BROKER_WAIT),
            clock_check(offset, s.clock_offset_limit_seconds,
                        "not measured: " + hub.detail if hub.outcome != "pass" else ""),
        ]
        free = checks.disk_free(s.data_path)
        results.append(disk_check(free, s.disk_min_free_mb * 1_000_000))
        results.append(checks.scanner(bool(s.scanner_url),
                                      self._devices.await_test_scan if scan else None,
                                      s.selftest_scan_seconds))
        results.append(checks.printer(bool(self._printing.workers),
                                      self._print_page if print_page else None))
        reach = checks.probe_pos(s.pos_terminal_url) if s.pos_terminal_url else None
        results.append(checks.pos(len(s.pos_keys), self._last_pos_return(), reach))
        return summarise(results, utc_now(), offset, free)

    def _wait_link(self, timeout: float) -> bool:
        # in short steps, so that stopping the agent never waits for the broker: the link's
        # event cannot be woken from here
        link, deadline = self._link, time.monotonic() + timeout
        while link is not None and not self._stopping.is_set():
            if link.wait_connected(min(0.2, max(0.0, deadline - time.monotonic()))):
                return True
            if time.monotonic() >= deadline:
                return False
        return False

    def _print_page(self) -> str:
        now, s = utc_now(), self._settings
        lines = [("Store", s.store_name or s.store_id), ("Store id", s.store_id),
                 ("Node", s.node_id), ("Hub", s.hub_url or f"{s.mqtt_host}:{s.mqtt_port}"),
                 ("Time (UTC)", format_utc(now)[:19].replace("T", " "))]

        def render(profile: PrinterProfile) -> bytes:
            from hardware.printing import render_notice

            return render_notice("STORE READY", lines, s.mqtt_client_id, profile)

        return self._printing.print_now(render, PRINT_WAIT)

    def _last_pos_return(self) -> str | None:
        with self._store.read() as tx:
            value = tx.scalar("SELECT MAX(recorded_at) FROM pos_transactions")
        return None if value is None else str(value)

    def _keep(self, report: SelfTestReport) -> None:
        with self._store.write() as tx:
            tx.set_meta(META_LAST, report.model_dump_json())
            if report.clock_offset_seconds is not None:
                tx.set_meta(META_OFFSET, repr(report.clock_offset_seconds))
            audit.record(tx, at=report.at, actor="agent", role="agent", action="selftest.ran",
                         entity="node", entity_id=self._settings.node_id, before=None,
                         after={"passed": report.passed, "failing": report.failing,
                                "clock_offset_seconds": report.clock_offset_seconds})
        if report.clock_offset_seconds is not None:
            self._offset = report.clock_offset_seconds
        log.log(logging.INFO if report.passed else logging.WARNING, "self-test %s%s",
                "passed" if report.passed else "FAILED: ", ", ".join(report.failing))
        self._bus.publish("selftest", {"report": report.model_dump(mode="json"),
                                       "refusal": self.refusal()})
        if self._link is not None:
            self._link.status_now()

    def last(self) -> SelfTestReport | None:
        """The last report kept, or None before the first run."""
        with self._store.read() as tx:
            text = tx.meta(META_LAST)
        if text is None:
            return None
        try:
            return SelfTestReport.model_validate_json(text)
        except ValidationError:
            return None

    def refusal(self) -> str | None:
        """Why the counter may not record returns now (the clock), or None."""
        return clock_refusal(self._offset, self._settings.clock_offset_limit_seconds)

    def guard(self) -> None:
        """Conflict (409) with the sentence while the clock is off past the limit."""
        why = self.refusal()
        if why is not None:
            raise Conflict(why, field=None)

    def status_fields(self) -> dict[str, Any]:
        """The last report as ``NodeStatus`` fields (none before the first run)."""
        report = self.last()
        if report is None:
            return {}
        return {"clock_offset_seconds": self._offset, "disk_free_bytes": report.disk_free_bytes,
                "selftest_at": report.at, "selftest_passed": report.passed,
                "selftest_failing": report.failing, "pos_terminal": report.code_of("pos")}

    def start(self) -> None:
        """The start-up run, on its own thread: no test scan; the store ready page only on the
        first start after enrolment (no report yet)."""
        first = self.last() is None

        def startup() -> None:
            try:
                self.run(scan=False, print_page=first)
            except Exception:  # the start-up test must never stop the agent
                log.exception("the start-up self-test failed to run")

        self._thread = threading.Thread(target=startup, name="edge-selftest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Wait for a start-up run still going (its waits are bounded)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(PRINT_WAIT + checks.HUB_TIMEOUT + BROKER_WAIT + checks.POS_TIMEOUT)
