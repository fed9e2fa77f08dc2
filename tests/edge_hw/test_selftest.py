"""The self-test of a running agent against real parts: a socat pty scanner, a TCP printer
stand-in, the agent's data folder, and a hub clock on HTTP whose time the test sets (the real
hub's clock cannot be put wrong; ``tests/fleet/test_store_settings_push.py`` runs the self-test
against a real hub). Then the clock guard: returns are refused while the clock is off, and
taken again once a self-test finds it fixed; and ``acorn-edge selftest``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge_agent.cli.main import cli
from hardware.escpos_text import decode
from hardware.sim.printer import PrinterStandIn
from hardware.sim.scanner import PtyScanner
from protocol import format_utc, utc_now
from tests.edge.conftest import running_agent, wait_until
from tests.edge_hw.conftest import hw_settings, return_body
from tests.edge_hw.sse import SseClient


class HubClock:
    """``GET /api/fleet/time`` answering the real time plus ``skew`` seconds."""

    def __init__(self) -> None:
        self.skew = 0.0
        clock = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                if self.path != "/api/fleet/time":
                    self.send_error(404)
                    return
                body = json.dumps({"now": format_utc(utc_now() + timedelta(
                    seconds=clock.skew))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def hub_clock() -> Iterator[HubClock]:
    clock = HubClock()
    try:
        yield clock
    finally:
        clock.close()


def checks_of(answer: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in answer["report"]["checks"]}


def test_a_self_test_asks_for_a_scan_prints_the_page_and_guards_on_the_clock(
        tmp_path: Path, scanner: PtyScanner, printer: PrinterStandIn,
        hub_clock: HubClock) -> None:
    hub_clock.skew = -300.0  # the hub is 5 minutes behind: this node is 300 s ahead
    settings = hw_settings(tmp_path, scanner_url=str(scanner.port), printer_url=printer.url,
                           hub_url=hub_clock.url, selftest_at_start=False,
                           selftest_scan_seconds=10)
    with running_agent(settings, connect=False) as run, SseClient(run.url) as sse, \
            ThreadPoolExecutor(1) as pool:
        sse.next("scanner", lambda d: d["state"] == "connected")
        asked = pool.submit(run.http.post, "/api/selftest", json={}, timeout=30)
        sse.next("selftest", lambda d: d.get("waiting_scan") is True)
        scanner.type_line("4006381333931")
        answer = asked.result().json()
        assert checks_of(answer) == {"hub": "pass", "broker": "skip", "clock": "fail",
                                     "disk": "pass", "scanner": "pass", "printer": "pass",
                                     "pos": "skip"}
        report = answer["report"]
        assert report["passed"] is False and 295 < report["clock_offset_seconds"] < 305
        assert report["disk_free_bytes"] > 0
        assert run.rows("scans") == 0  # the test scan is the self-test's, not a lookup
        page = decode(printer.wait_for_jobs(1)[0].data)
        assert "STORE READY" in page.text and "Filiale Mitte" in page.text
        assert settings.node_id in page.text and hub_clock.url in page.text
        assert page.qr_codes == [settings.mqtt_client_id]

        refused = run.http.post("/api/returns", json=return_body())
        assert refused.status_code == 409
        message = refused.json()["detail"][0]["message"]
        assert "300 s ahead of the hub" in message and "self-test" in message
        assert run.rows("returns") == 0 and run.rows("outbox") == 0
        assert run.http.get("/api/selftest").json()["refusal"] == message

        hub_clock.skew = 0.0  # NTP fixed it; the re-check lifts the guard
        again = run.http.post("/api/selftest", json={"scan": False, "print_page": False}).json()
        assert again["report"]["passed"] is True and again["refusal"] is None
        assert checks_of(again)["scanner"] == "skip" and len(printer.jobs) == 1
        assert run.http.post("/api/returns", json=return_body()).status_code == 201
        with run.agent.store.read() as tx:
            ran = tx.all("SELECT after FROM audit WHERE action = 'selftest.ran' ORDER BY id")
        assert [json.loads(r["after"])["passed"] for r in ran] == [False, True]


def test_no_scan_within_the_timeout_and_a_printer_without_paper_fail_their_checks(
        tmp_path: Path, scanner: PtyScanner, printer: PrinterStandIn) -> None:
    printer.status = "paper_out"
    settings = hw_settings(tmp_path, scanner_url=str(scanner.port), printer_url=printer.url,
                           selftest_at_start=False, selftest_scan_seconds=0.5)
    with running_agent(settings, connect=False) as run:
        answer = run.http.post("/api/selftest", json={}).json()
        assert checks_of(answer) == {"hub": "skip", "broker": "skip", "clock": "skip",
                                          "disk": "pass", "scanner": "fail", "printer": "fail",
                                          "pos": "skip"}
        details = {c["name"]: c["detail"] for c in answer["report"]["checks"]}
        assert "no scan arrived within 0.5 s" in details["scanner"]
        assert "out of paper" in details["printer"]
        assert printer.jobs == []
        # a clock that was never measured does not stop the counter
        assert run.http.post("/api/returns", json=return_body()).status_code == 201


def test_the_cli_prints_each_check_and_exits_1_on_a_failure(
        tmp_path: Path, printer: PrinterStandIn, hub_clock: HubClock) -> None:
    hub_clock.skew = 600.0
    settings = hw_settings(tmp_path, printer_url=printer.url, hub_url=hub_clock.url,
                           selftest_at_start=False)
    with running_agent(settings, connect=False) as run:
        config = tmp_path / "edge.env"
        config.write_text(f"ACORN_EDGE_STORE_ID={settings.store_id}\n"
                          f"ACORN_EDGE_NODE_ID={settings.node_id}\n"
                          f"ACORN_EDGE_HTTP_PORT={run.url.rsplit(':', 1)[1]}\n")
        result = CliRunner().invoke(cli, ["selftest", "--config", str(config), "--no-print"])
        assert result.exit_code == 1, result.output
        assert "FAIL  clock" in result.output and "behind the hub" in result.output
        assert "ok    hub" in result.output and "self-test FAILED: clock" in result.output
        assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["selftest", "--config", str(config)])
    assert result.exit_code == 1 and "no agent answers" in result.output


def test_an_enrolled_agent_tests_itself_at_start_and_prints_the_page_only_the_first_time(
        tmp_path: Path, printer: PrinterStandIn, hub_clock: HubClock) -> None:
    settings = hw_settings(tmp_path, printer_url=printer.url, hub_url=hub_clock.url)

    def runs(run: Any) -> int:
        with run.agent.store.read() as tx:
            return int(tx.scalar("SELECT count(*) FROM audit WHERE action = 'selftest.ran'"))

    with running_agent(settings, connect=False) as run:
        wait_until(lambda: runs(run) == 1)
        assert run.http.get("/api/selftest").json()["report"]["passed"] is True
        assert "STORE READY" in decode(printer.wait_for_jobs(1)[0].data).text
    with running_agent(settings, connect=False) as run:
        wait_until(lambda: runs(run) == 2)
    assert len(printer.jobs) == 1
