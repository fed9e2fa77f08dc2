"""Two hub workers against one (issue 16, point 2), on PostgreSQL.

    python -m bench workers
    WORKERS_NODES=200 WORKERS_RATE=2500 WORKERS_SECONDS=15 python -m bench workers

Each round gets a fresh private Mosquitto and PostgreSQL database, ``WORKERS_NODES`` nodes with
their own identities (``tests.support.fleet_nodes``, paced as the edge link paces), and offers
``WORKERS_RATE`` ev/s in total for ``WORKERS_SECONDS``: more than one hub takes, so the figure is
what the hub sustains (events confirmed per second until the last is acked). The stores are
registered first, as the fleet registers them before their nodes enrol. Rounds: one hub
(``hub_workers`` = 1), two workers sharing the ingest, and two workers of
which one is killed with SIGKILL a few seconds in (confirmed / written, events stored, and the
time until every event is confirmed). CPU per event is the workers' process CPU summed.
Prints figures; asserts nothing (the machine is shared: read the ratio, not the absolutes).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.capacity import WORKERS, _cpu_seconds, _worker, pct, register_stores, row
from hub.storage.engine import make_engine
from hub.storage.tables.core import inbox
from tests.support.broker import TestBroker
from tests.support.databases import pg_database
from tests.support.fleet_nodes import provision
from tests.support.procs import Proc, stop_all
from tests.workers.conftest import count, start_worker


def _load(broker: TestBroker, creds: list[Any], rate: float, seconds: float) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 1.0
    procs = [ctx.Process(target=_worker, args=(
        out, [(i, c, 0) for i, c in creds[w::WORKERS]], broker.host, broker.port,
        rate / WORKERS, 0, seconds, start_at, 600.0)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 900) for _ in procs]
    for p in procs:
        p.join(30)
    return {
        "acked": sum(r["acked"] for r in results),
        "written": sum(sum(r["written"].values()) for r in results),
        "seconds": max(r["seconds"] for r in results),
        "latencies": [x for r in results for x in r["latencies"]],
    }


def _round(workers: int, kill_after: float | None, nodes: int, rate: float,
           seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = TestBroker(tmp / "mosquitto")
        procs: list[Proc] = []
        try:
            creds = provision(broker, nodes, f"w{workers}")
            for db_url in pg_database():
                register_stores(db_url, creds)
                for n in range(1, workers + 1):
                    procs.append(start_worker(tmp, broker, db_url, f"acorn-hub-w{n}", workers,
                                              log_level="WARNING"))
                pids = [p.popen.pid for p in procs if p.popen is not None]
                cpu_before = sum(_cpu_seconds(pid) for pid in pids)
                killer = None
                if kill_after is not None:
                    killer = threading.Timer(kill_after + 1.0, procs[-1].kill)
                    killer.start()
                figures = _load(broker, creds, rate, seconds)
                cpu = 0.0
                for pid in pids:
                    with contextlib.suppress(OSError):  # the killed worker's is not counted
                        cpu += _cpu_seconds(pid)
                held = 0
                for p in procs:
                    if p.popen is not None and p.popen.poll() is None:
                        held += int(httpx.get(f"{p.url}/api/health", timeout=10)
                                    .json()["ingest"].get("held_back", 0))
                engine = make_engine(db_url)
                try:
                    figures["stored"] = count(engine, inbox)
                finally:
                    engine.dispose()
                figures["cpu_ms"] = (cpu - cpu_before) / max(figures["acked"], 1) * 1000
                figures["held_back"] = held
                stop_all(procs)
                procs = []
            return figures
        finally:
            stop_all(procs)
            broker.kill()


def _print(name: str, f: dict[str, Any]) -> None:
    row(f"{name}: ingested (confirmed / s)", f"{f['acked'] / f['seconds']:,.0f} ev/s", "-")
    row(f"{name}: confirmed / written / stored",
        f"{f['acked']:,} / {f['written']:,} / {f['stored']:,}", "all, once")
    row(f"{name}: publish -> ack p50 / p99",
        f"{pct(f['latencies'], 50):.0f} / {pct(f['latencies'], 99):.0f} ms", "-")
    row(f"{name}: workers' CPU per event", f"{f['cpu_ms']:.3f} ms", "-")
    row(f"{name}: early events held back (survivors)", f"{f['held_back']:,}", "-")


def main() -> None:
    """One hub, two workers, two workers with one killed: print the figures and the ratio."""
    nodes = int(os.environ.get("WORKERS_NODES", "200"))
    rate = float(os.environ.get("WORKERS_RATE", "2500"))
    seconds = float(os.environ.get("WORKERS_SECONDS", "15"))
    print(f"workers (issue 16): {nodes} nodes offering {rate:,.0f} ev/s for {seconds:.0f} s, "
          f"PostgreSQL, {WORKERS} generator processes", flush=True)
    one = _round(1, None, nodes, rate, seconds)
    _print("one hub", one)
    two = _round(2, None, nodes, rate, seconds)
    _print("two workers", two)
    row("two workers / one hub (ingest rate)",
        f"{(two['acked'] / two['seconds']) / (one['acked'] / one['seconds']):.2f}", "-")
    killed = _round(2, 5.0, nodes, rate, seconds)
    _print("two workers, one SIGKILLed at 5 s", killed)
    row("  ... every event confirmed after", f"{killed['seconds']:.1f} s", "-")


if __name__ == "__main__":
    main()
