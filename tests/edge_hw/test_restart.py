"""The print queue is in SQLite: receipts queued while the printer is down survive a kill -9."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hardware.escpos_text import decode
from hardware.sim.printer import PrinterStandIn
from tests.edge.conftest import wait_until
from tests.edge_hw.conftest import return_body
from tests.support.http_calls import http_get, http_post
from tests.support.ports import free_port
from tests.support.procs import Proc

BIN = Path(sys.executable).parent


def edge(tmp: Path, printer_url: str) -> Proc:
    """An ``acorn-edge run`` with a printer and no reachable broker."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")} | {
        "ACORN_EDGE_STORE_ID": "store-k", "ACORN_EDGE_NODE_ID": "counter-1",
        "ACORN_EDGE_STORE_NAME": "Kill Test", "ACORN_EDGE_DATA_DIR": str(tmp / "edge"),
        "ACORN_EDGE_HTTP_PORT": str(port), "ACORN_EDGE_MQTT_PORT": str(free_port()),
        "ACORN_EDGE_PRINTER_URL": printer_url, "ACORN_EDGE_PRINT_RETRY_SECONDS": "0.2",
    }
    return Proc("edge", [str(BIN / "acorn-edge"), "run"], env, port, tmp / "edge.log")


def printer_state(proc: Proc) -> dict[str, object]:
    return dict(http_get(f"{proc.url}/api/printer", timeout=5).json())


def test_queued_receipts_survive_a_kill_and_print_after_the_restart(tmp_path: Path) -> None:
    printer = PrinterStandIn().start()
    printer.close()  # keep its port, refuse connections
    first = edge(tmp_path, printer.url).start()
    try:
        codes = []
        for _ in range(3):
            answer = http_post(f"{first.url}/api/returns", json=return_body(), timeout=5)
            codes.append(answer.json()["return_code"])
        wait_until(lambda: printer_state(first)["queued"] == 3)
    finally:
        first.kill()  # SIGKILL: no clean shutdown
    second = edge(tmp_path, printer.url)
    printer.start()
    try:
        second.start()
        jobs = printer.wait_for_jobs(3, timeout=15)
        assert [decode(job.data).qr_codes[0] for job in jobs] == codes
        wait_until(lambda: printer_state(second)["queued"] == 0)
    finally:
        second.stop()
        printer.close()
    assert len(printer.jobs) == 3  # each printed once
