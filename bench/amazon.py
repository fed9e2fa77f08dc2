"""Benchmarks of the Amazon integration (issue 4). Prints figures beside targets; asserts nothing.

(a) A 90-day backfill of 10 seller accounts against the SP-API simulator (its own process,
    ``acorn-spapi-sim --rate-factor 50``), every account and job in parallel, with
    the hub's buckets at the same factor. The floor is what Amazon's documented limits allow for
    the requests the backfill needed: for every (seller, operation), ``max(0, n - burst) / rate``
    with ``n`` the requests Amazon (the simulator) answered without a 429; the largest wins,
    since buckets of different operations and sellers refill in parallel. Target: actual / floor
    <= 1.1.
(b) A 1,000,000-line V2 settlement file with decimal commas, parsed: every line checked and typed
    in C, kept as Arrow columns. Target: >= 1,000,000 rows/s (issue 15; it was 250,000 before
    the columnar reader, 385,000 when the parse still built every row). Printed beside it, so
    nobody is fooled: the time to then iterate all lines as ``SettlementLine`` rows (typed rows
    on demand, built a chunk at a time).
(c) A 100,000-line settlement file as the settlements sync takes it: parsed, stored (SQLite file)
    and reconciled, in one transaction. No target: it must not get slower than it was.

Run: ``.venv/bin/python -m bench.amazon`` (or ``make bench``).
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from hub.amazon.accounts import add_account, new_account
from hub.amazon.client.ratelimit import DOCUMENTED, Limiter, floor_seconds
from hub.amazon.files.settlement import parse_settlement
from hub.amazon.marketplaces import BY_ID
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.sync.runner import SYNC_JOBS, Runner, run_jobs
from hub.amazon.sync.settlements import store_report
from hub.finance.settlements import store as reconciliation
from hub.fleet.local_broker import free_port
from hub.storage.engine import make_engine, writing
from hub.storage.migrations import upgrade
from spapi_sim import seed_accounts
from spapi_sim.settlement import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS, FACTOR, DAYS, SEED = 10, 50.0, 90, 4
LINES = 1_000_000


def start_simulator(port: int, credentials: Path) -> subprocess.Popen[bytes]:
    """``acorn-spapi-sim`` in its own process, waited for."""
    argv = [
        sys.executable,
        "-m",
        "spapi_sim",
        "--port",
        str(port),
        "--rate-factor",
        str(FACTOR),
        "--accounts",
        str(ACCOUNTS),
        "--seed",
        str(SEED),
        "--credentials-file",
        str(credentials),
    ]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the simulator did not start")


def backfill() -> None:
    """(a): the backfill, its floor and the ratio."""
    with tempfile.TemporaryDirectory() as scratch:
        port, credentials = free_port(), Path(scratch) / "sim-accounts.json"
        simulator = start_simulator(port, credentials)
        try:
            elapsed = _run(f"http://127.0.0.1:{port}", Path(scratch), credentials)
            stats = httpx.get(f"http://127.0.0.1:{port}/_sim/stats").json()["operations"]
        finally:
            simulator.terminate()
            simulator.wait(10)
    floor, where, answered, throttled = _floor(stats)
    print(
        f"(a) 90-day backfill, {ACCOUNTS} accounts, rate factor {FACTOR:g}: {answered} requests "
        f"answered, {throttled} throttled (429)"
    )
    print(
        f"    actual {elapsed:.1f} s, floor {floor:.1f} s (bottleneck {where}), "
        f"ratio {elapsed / floor:.3f}   target <= 1.1"
    )


def _run(url: str, scratch: Path, credentials: Path) -> float:
    database = f"sqlite:///{scratch / 'bench-hub.db'}"
    upgrade(database)
    engine = make_engine(database)
    settings = AmazonSettings(
        secrets_file=credentials, rate_factor=FACTOR, backfill_days=DAYS, report_poll_seconds=0.05
    )
    accounts = []
    for n, seller in enumerate(seed_accounts(SEED, ACCOUNTS)):
        codes = [BY_ID[m].code for m in seller.marketplace_ids]
        account = new_account(f"seller-{n}", seller.seller_id, seller.region, codes, url)
        add_account(engine, account, "bench")
        accounts.append(account)
    runner = Runner(
        engine, settings, Limiter(factor=FACTOR), SecretSource(environ={}, secrets_file=credentials)
    )
    started = time.monotonic()
    results = run_jobs(runner, accounts, SYNC_JOBS)
    elapsed = time.monotonic() - started
    engine.dispose()
    failed = [r for r in results if not r.ok]
    fetched = sum(r.tally.fetched for r in results)
    print(f"    {fetched} rows fetched; accounts with errors: {len(failed)}")
    return elapsed


def _floor(stats: dict[str, dict[str, int]]) -> tuple[float, str, int, int]:
    floor, where, answered, throttled = 0.0, "-", 0, 0
    for key, counts in stats.items():
        operation = key.split("/", 1)[1]
        needed = counts["requests"] - counts["throttled"]
        answered, throttled = answered + needed, throttled + counts["throttled"]
        seconds = floor_seconds(needed, DOCUMENTED[operation].scaled(FACTOR))
        if seconds > floor:
            floor, where = seconds, f"{key}: {needed} requests"
    return floor, where, answered, throttled


def settlement_text(lines: int) -> str:
    """A V2 settlement file of ``lines`` lines (summary included), DE-style decimal commas."""
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[str] = []
    total = 0
    for n in range(lines - 1):
        cents = rng.randrange(-50_000, 50_000)
        total += cents
        posted = start + timedelta(seconds=n * 7)
        order = f"302-{n // 4:07d}-{rng.randrange(10**7):07d}"
        rows.append(
            "\t".join(
                (
                    "24681357911",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "Refund" if cents < 0 else "Order",
                    order,
                    order,
                    f"{n}" if cents < 0 else "",
                    "D" + str(n // 4),
                    "Amazon.de",
                    "ItemPrice",
                    "Principal",
                    f"{cents / 100:.2f}".replace(".", ","),
                    "MFN",
                    posted.strftime("%m/%d/%y"),
                    posted.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    str(10**13 + n),
                    "",
                    f"R-{n}" if cents < 0 else "",
                    f"SKU-{n % 500}",
                    "1",
                )
            )
        )
    summary = [
        "24681357911",
        "2026-01-01 00:00:00 UTC",
        "2026-01-15 00:00:00 UTC",
        "2026-01-16 00:00:00 UTC",
        f"{total / 100:.2f}".replace(".", ","),
        "EUR",
    ]
    summary += [""] * (len(COLUMNS) - len(summary))
    return "\n".join(["\t".join(COLUMNS), "\t".join(summary), *rows]) + "\n"


def settlement_parse() -> None:
    """(b): parse a million lines, then iterate them as rows."""
    text = settlement_text(LINES)
    started, cpu = time.perf_counter(), time.process_time()
    parsed = parse_settlement(text, decimal_comma=True)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = len(parsed.lines)
    started = time.perf_counter()
    built = sum(1 for _line in parsed.lines)
    iterated = time.perf_counter() - started
    print(
        f"(b) settlement file, {LINES:,} lines ({len(text) / 1e6:.0f} MB): {rows:,} lines checked "
        f"and typed in {seconds:.2f} s = {rows / seconds:,.0f} rows/s   target >= 1,000,000 "
        f"rows/s ({len(parsed.problems)} problems; CPU {cpu:.2f} s over all threads: a shared "
        f"machine shows it)"
    )
    print(
        f"    then all {built:,} as SettlementLine rows (on demand): {iterated:.2f} s = "
        f"{built / iterated:,.0f} rows/s"
    )


def settlement_sync(lines: int = 100_000) -> None:
    """(c): parse, store and reconcile a settlement as the sync does."""
    text = settlement_text(lines)
    market = next(m for m in BY_ID.values() if m.code == "DE")
    with tempfile.TemporaryDirectory() as scratch:
        database = f"sqlite:///{Path(scratch) / 'bench-settlement.db'}"
        upgrade(database)
        engine = make_engine(database)
        started = time.perf_counter()
        parsed = parse_settlement(text, market.decimal_comma)
        parsing = time.perf_counter() - started
        with writing(engine) as tx:
            store_report(tx, "bench", market, "R1", parsed, len(parsed.problems))
            storing = time.perf_counter() - started - parsing
            result, _lines = reconciliation.reconcile(tx.conn, parsed.summary.settlement_id)
            reconciliation.record(tx, result, "bench", "amazon")
        seconds = time.perf_counter() - started
        engine.dispose()
    print(
        f"(c) settlement of {lines:,} lines parsed, stored and reconciled in {seconds:.2f} s "
        f"(parse {parsing:.2f} s, store {storing:.2f} s, reconcile and commit "
        f"{seconds - parsing - storing:.2f} s)"
    )


def main() -> None:
    """Both figures."""
    os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)
    # The seeded drop-off stores are not hub stores here: their warnings would drown the figures.
    logging.getLogger("hub.amazon.sync.expected").setLevel(logging.ERROR)
    settlement_parse()
    settlement_sync()
    backfill()


if __name__ == "__main__":
    main()
