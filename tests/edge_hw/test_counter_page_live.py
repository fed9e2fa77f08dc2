"""The counter page in headless Chromium: a pty scan appears without a reload; device state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardware.sim.printer import PrinterStandIn
from hardware.sim.scanner import PtyScanner
from tests.edge.conftest import running_agent
from tests.edge_hw.conftest import hw_settings, return_body
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page() -> Iterator[Any]:
    """A tablet-sized page in headless Chromium."""
    with chromium_page() as page:
        yield page


def test_a_scan_on_the_pty_shows_on_the_page_without_a_reload(
    tmp_path: Path, scanner: PtyScanner, printer: PrinterStandIn, page: Any
) -> None:
    expect = sync_api.expect
    settings = hw_settings(tmp_path, scanner_url=str(scanner.port), printer_url=printer.url)
    with running_agent(settings, connect=False) as run:
        recorded = run.http.post("/api/returns", json=return_body()).json()
        page.goto(run.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
        expect(page.get_by_test_id("scanner-state")).to_have_attribute("data-state", "connected")
        expect(page.get_by_test_id("printer-state")).to_have_attribute("data-state", "ok")
        page.evaluate("window.__sameDocument = true")

        scanner.type_line(recorded["return_code"])
        expect(page.get_by_test_id("scan-result")).to_have_attribute("data-match", "return")
        expect(page.get_by_test_id("scan-message")).to_contain_text(recorded["return_id"])
        expect(page.get_by_test_id("scan-input")).to_have_value(recorded["return_id"])

        scanner.write(b"\x01\x02broken\r\n")
        expect(page.get_by_test_id("scan-message")).to_have_attribute("data-kind", "unreadable")
        expect(page.get_by_test_id("scan-message")).to_contain_text("Scan nicht lesbar")  # de

        scanner.unplug()
        expect(page.get_by_test_id("scanner-state")).to_have_attribute("data-state",
                                                                       "disconnected")
        printer.close()
        run.http.post("/api/returns", json=return_body())
        expect(page.get_by_test_id("printer-state")).to_have_attribute("data-state", "offline")
        expect(page.get_by_test_id("printer-note")).to_contain_text("werden gedruckt, sobald")
        assert page.evaluate("window.__sameDocument") is True  # never reloaded
