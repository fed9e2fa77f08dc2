"""Benchmarks of the counter hardware (issue 3): scan to screen, return to printed receipt.

A real ``acorn-edge run`` with a socat pty as its scanner and the TCP printer stand-in as its
printer; the pty, the stand-in and an SSE client live in this process, so every time is taken on
one clock (``time.perf_counter``). Prints figures beside their targets; asserts nothing.

    python -m bench counter
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.spine import pct, row, rss_mb
from hardware.sim.printer import PrinterStandIn
from hardware.sim.scanner import PtyScanner
from hub.fleet.local_broker import free_port
from tests.edge_hw.conftest import return_body
from tests.edge_hw.sse import SseClient
from tests.support.procs import Proc

BIN = Path(sys.executable).parent
SCAN_GAP = 0.02  # a person scans at most every few hundred ms; 20 ms is a hard case


def agent(tmp: Path, scanner: PtyScanner, printer: PrinterStandIn) -> Proc:
    """An ``acorn-edge run`` using the pty scanner and the printer stand-in (no broker)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")} | {
        "ACORN_EDGE_STORE_ID": "bench-store", "ACORN_EDGE_NODE_ID": "counter-1",
        "ACORN_EDGE_STORE_NAME": "Bench Store", "ACORN_EDGE_STORE_TIMEZONE": "Europe/Berlin",
        "ACORN_EDGE_STORE_LANGUAGE": "de", "ACORN_EDGE_CURRENCY": "EUR",
        "ACORN_EDGE_DATA_DIR": str(tmp / "edge"), "ACORN_EDGE_HTTP_PORT": str(port),
        "ACORN_EDGE_MQTT_PORT": str(free_port()), "ACORN_EDGE_LOG_LEVEL": "WARNING",
        "ACORN_EDGE_SCANNER_URL": str(scanner.port), "ACORN_EDGE_PRINTER_URL": printer.url,
    }
    return Proc("edge", [str(BIN / "acorn-edge"), "run"], env, port, tmp / "edge.log")


def raw_is(code: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the scan event of ``code``."""
    return lambda data: data["raw"] == code


def scan_to_screen(edge: Proc, scanner: PtyScanner, codes: list[str], rounds: int) -> list[float]:
    """Write a code on the pty; time until its ``scan`` event reaches an SSE client (ms)."""
    latencies = []
    with SseClient(edge.url) as sse:
        sse.next("scanner", lambda d: d["state"] == "connected", timeout=10)
        for n in range(rounds):
            code = codes[n % len(codes)]
            started = time.perf_counter()
            scanner.type_line(code)
            event = sse.next("scan", raw_is(code))
            latencies.append((event.received_at - started) * 1000)
            time.sleep(SCAN_GAP)
    return latencies


def return_to_receipt(
    edge: Proc, printer: PrinterStandIn, rounds: int
) -> tuple[list[float], list[float]]:
    """POST a return; time until its receipt's last byte is at the printer (ms), and the API."""
    printed, answered = [], []
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        for _ in range(rounds):
            done = len(printer.jobs)
            started = time.perf_counter()
            client.post("/api/returns", json=return_body()).raise_for_status()
            answered.append((time.perf_counter() - started) * 1000)
            job = printer.wait_for_jobs(done + 1, timeout=10)[done]
            printed.append((job.last_byte_at - started) * 1000)
    return printed, answered


def main(scans: int = 300, receipts: int = 200) -> None:
    """Run the counter hardware benchmarks and print the figures."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with PtyScanner(tmp / "dev") as scanner, PrinterStandIn() as printer:
            edge = agent(tmp, scanner, printer).start()
            try:
                print("counter hardware (issue 3)", flush=True)
                time.sleep(3)
                memory = f"{rss_mb(edge.popen.pid):.1f} MB" if edge.popen else "?"
                row("edge agent idle with scanner + printer, memory", memory, "<= 80 MB")
                printed, answered = return_to_receipt(edge, printer, receipts)
                recent = httpx.get(f"{edge.url}/api/returns?limit=20", timeout=5).json()["items"]
                latencies = scan_to_screen(edge, scanner, [r["return_code"] for r in recent], scans)
                row("scan to screen (pty -> SSE event), p50",
                    f"{statistics.median(latencies):.2f} ms", "-")
                row("scan to screen (pty -> SSE event), p99", f"{pct(latencies, 99):.2f} ms",
                    "<= 50 ms")
                row("record a return (API answer, printer attached), p99",
                    f"{pct(answered, 99):.2f} ms", "-")
                row("record a return -> receipt's last byte, p50",
                    f"{statistics.median(printed):.2f} ms", "-")
                row("record a return -> receipt's last byte, p99", f"{pct(printed, 99):.2f} ms",
                    "<= 300 ms")
            finally:
                edge.stop()


if __name__ == "__main__":
    main()
