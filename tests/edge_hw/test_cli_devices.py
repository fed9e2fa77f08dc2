"""``acorn-edge print-test`` as a technician runs it: a subprocess, configured by env or --url."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hardware.escpos_text import decode
from hardware.sim.printer import PrinterStandIn

ACORN_EDGE = str(Path(sys.executable).parent / "acorn-edge")


def print_test(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
    return subprocess.run([ACORN_EDGE, "print-test", *args], env=clean | env,
                          capture_output=True, text=True, timeout=30, check=False)


def test_print_test_prints_a_page_and_reports_the_status(printer: PrinterStandIn) -> None:
    done = print_test(ACORN_EDGE_STORE_ID="store-a", ACORN_EDGE_NODE_ID="n1",
                      ACORN_EDGE_PRINTER_URL=printer.url, ACORN_EDGE_PRINTER_PAPER="58mm")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"test page sent to {printer.url}; status ok"
    page = decode(printer.wait_for_jobs(1)[0].data)
    assert "ACORN printer test" in page.text and "58mm cp858" in page.text
    assert page.qr_codes == ["RT-TEST"]


def test_print_test_says_clearly_why_not(printer: PrinterStandIn) -> None:
    printer.status = "silent"
    unknown = print_test("--url", printer.url, "--timeout", "0.2")
    assert unknown.returncode == 0 and "answers no status query" in unknown.stdout
    printer.status = "paper_out"
    paperless = print_test("--url", printer.url)
    assert paperless.returncode == 1 and "out of paper" in paperless.stderr
    printer.close()
    offline = print_test("--url", printer.url)
    assert offline.returncode == 1
    assert offline.stderr.strip() == (f"acorn-edge: printer {printer.url} is offline or "
                                      "unreachable (status offline); nothing printed")
    assert len(printer.jobs) == 1  # only the page of the silent printer
    unset = print_test()
    assert unset.returncode == 2 and "ACORN_EDGE_PRINTER_URL" in unset.stderr
    bad = print_test("--url", "lpt://1")
    assert bad.returncode == 2 and "scheme must be one of" in bad.stderr
    assert "Traceback" not in unset.stderr + bad.stderr + offline.stderr
