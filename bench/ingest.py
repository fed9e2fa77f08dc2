"""CPU per ingested event (issue 16 point 1): the writer's batch path, without the network.

    python -m bench ingest                       both mixes on SQLite and PostgreSQL
    python -m bench.ingest --profile sqlite      one run under cProfile, the top functions
    python -m bench.ingest --profile pg --mix refunds
    python -m bench.ingest --instructions        instructions an event (callgrind; ~3 minutes)
    python -m bench.ingest --writer              the writer thread alone, its queue full

Mixes: ``returns`` (receipts only), ``mixed`` (every other event a stock move), ``refunds``
(each return received, refunded, inspected and disposed in turn: a quarter of the events are
refund requests, which the hub decides, audits and answers with a command; half of them are
Amazon returns that wait for their inspection to be decided).

N valid events from many nodes (interleaved, as a thousand stores send them) go through exactly
what ``hub.sync.ingest.writer`` does per batch: ``classify`` each payload, then one ``writing``
transaction around ``store_batch``, in batches of the writer's default size, on a real SQLite
file and on a PostgreSQL database made and dropped for the run, with the garbage collector set
as ``acorn-hub serve`` sets it (``hub.heap``). The figures are process CPU
(``time.process_time``) per event, this process only (PostgreSQL's own CPU is not in it), and
the batches' wall time per event (their waits on the database included).
``--writer`` (and the last rows of the default run) measures the real ``IngestWriter``
thread on PostgreSQL: its queue filled with receipts from 1,000 nodes before it starts, in
batches of the hub's default size, acks dropped (no broker), timed until every event is
stored: wall time, CPU and the rest (its waits for the server) an event, the median of a few
runs. Unlike the live bench (``python -m bench capacity``) it has no load generator, broker or
network thread beside it, so it tells apart changes to the writer's own path of ~10 %.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import psycopg

from hub import heap
from hub.metrics import HubMetrics
from hub.settings import Settings
from hub.storage.engine import is_sqlite, make_engine, writing
from hub.storage.migrations import upgrade
from hub.sync.ingest.batch import BatchResult, store_batch
from hub.sync.ingest.classify import Incoming, classify
from hub.sync.ingest.writer import IngestWriter
from protocol import (
    Channel,
    Disposition,
    DispositionRecorded,
    Envelope,
    Grade,
    InspectionRecorded,
    Money,
    MoveReason,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    StockMoved,
    StockState,
    TopicKind,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)

EVENTS = 20_000
NODES = 200
BATCH = Settings.model_fields["ingest_batch_size"].default
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# This harness on main at 4a396fd (before issue 16 point 1), ms of CPU per event; on the shared
# 2-core machine figures swing by +-20 % from run to run with the other load.
BEFORE = {("sqlite", "returns"): 0.53, ("sqlite", "mixed"): 0.47,
          ("pg", "returns"): 0.65, ("pg", "mixed"): 0.68}
MIXES = ("returns", "mixed", "refunds")

Message = tuple[str, bytes]


def received(store: str, seq: int) -> Envelope:
    """A one-line ``return.received``, as a counter sends it."""
    return make_envelope(store, "n1", seq, ReturnReceived(
        return_id=f"R{seq}", channel=Channel.POS, reason="too small", received_at=utc_now(),
        items=[ReturnItem(sku=f"SKU-{seq % 40}", quantity=1,
                          unit_price=Money.of("12.50", "EUR"))]))


def moved(store: str, seq: int, held: int) -> Envelope:
    """A ``stock.moved`` of one returned unit into QC hold (``held`` after it)."""
    return make_envelope(store, "n1", seq, StockMoved(
        move_id=f"M{seq}", sku="SKU-1", quantity=1, from_state=None, to_state=StockState.QC_HOLD,
        reason=MoveReason.RETURN_RECEIVED, at=utc_now(), balance={StockState.QC_HOLD: held}))


def lifecycle(store: str, seq: int) -> Envelope:
    """Event ``seq`` of a node that receives, refunds, inspects and disposes each return in
    turn; every other return is an Amazon one, whose refund waits for the inspection."""
    n, step = divmod(seq - 1, 4)
    return_id = f"R{n}"
    amazon = n % 2 == 1
    now = utc_now()
    if step == 0:
        return make_envelope(store, "n1", seq, ReturnReceived(
            return_id=return_id, channel=Channel.AMAZON_MFN if amazon else Channel.POS,
            reason="too small", received_at=now,
            order_id=f"302-{store[-4:]}-{n:07d}" if amazon else None,
            items=[ReturnItem(sku=f"SKU-{n % 40}", quantity=1,
                              unit_price=Money.of("12.50", "EUR"))]))
    if step == 1:
        return make_envelope(store, "n1", seq, RefundRequested(
            refund_id=f"F{n}", return_id=return_id, amount=Money.of("12.50", "EUR"),
            channel=Channel.AMAZON_MFN if amazon else Channel.POS,
            order_id=f"302-{store[-4:]}-{n:07d}" if amazon else None,
            requested_by="clerk-1", requested_at=now))
    if step == 2:
        return make_envelope(store, "n1", seq, InspectionRecorded(
            return_id=return_id, grade=Grade.LIKE_NEW, inspected_at=now))
    return make_envelope(store, "n1", seq, DispositionRecorded(
        return_id=return_id, disposition=Disposition.RESTOCK_SELLABLE, decided_at=now))


def messages(mix: str, events: int = EVENTS, nodes: int = NODES) -> list[Message]:
    """``events`` payloads from ``nodes`` nodes, interleaved; ``mixed``: every other one is a
    stock move; ``refunds``: each node's returns go through their lifecycle."""
    out: list[Message] = []
    for n in range(events):
        store, seq = f"bench-{n % nodes:04d}", n // nodes + 1
        if mix == "refunds":
            envelope = lifecycle(store, seq)
        elif mix == "mixed" and seq % 2 == 0:
            envelope = moved(store, seq, (seq + 1) // 2)
        else:
            envelope = received(store, seq)
        out.append((node_topic(store, "n1", TopicKind.EVENTS), encode(envelope)))
    return out


def ingest(url: str, payloads: list[Message], batch: int = BATCH,
           walls: list[float] | None = None) -> float:
    """CPU seconds to classify and store ``payloads`` in batches of ``batch`` on ``url``, as one
    hub's writer does (on PostgreSQL it takes the audit tip with its first reads); ``walls``
    gets each batch's wall time (its waits on the database included)."""
    engine = make_engine(url)
    tip_last = not is_sqlite(engine)
    try:
        spent = 0.0
        for start in range(0, len(payloads), batch):
            chunk = payloads[start:start + batch]
            began, began_wall = time.process_time(), time.perf_counter()
            classified = [classify(topic, payload) for topic, payload in chunk]
            with writing(engine, tip_last=tip_last) as tx:
                result = store_batch(tx, classified)
            spent += time.process_time() - began
            if walls is not None:
                walls.append(time.perf_counter() - began_wall)
            if result.applied != len(chunk) or result.dead:
                raise SystemExit(f"bench events were refused: {result.dead[:3]}")
        return spent
    finally:
        engine.dispose()


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A migrated empty database of ``kind`` (sqlite file or PostgreSQL), dropped after."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'hub.db'}"
            upgrade(url)
            yield url
        return
    name = f"acorn_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(kind: str, mix: str, run: Callable[[str, list[Message]], float] = ingest) -> float:
    """ms of CPU per event for one database kind and mix."""
    payloads = messages(mix)
    heap.settle()  # the collector as ``acorn-hub serve`` sets it (the payloads are frozen too)
    with database(kind) as url:
        return run(url, payloads) / len(payloads) * 1000


def row(name: str, value: str, target: str) -> None:
    print(f"  {name:<52} {value:>14}   {target}", flush=True)


def profile(kind: str, mix: str, top: int = 40) -> None:
    """One run under cProfile; print the functions that cost the most (own time)."""
    profiler = cProfile.Profile()

    def run(url: str, payloads: list[Message]) -> float:
        profiler.enable()
        try:
            return ingest(url, payloads)
        finally:
            profiler.disable()

    per_event = measure(kind, mix, run)
    print(f"{kind} {mix}: {per_event:.3f} ms CPU/event under the profiler")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


WRITER_EVENTS, WRITER_ROUNDS = 20_000, 3


class _Dropped:
    """The writer's link without a broker: acks and publishes are dropped."""

    def ack(self, mid: int, qos: int, generation: int) -> None:
        """Nothing to send."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                wait: float = 0.0) -> bool:
        return True

    def one_wake(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def writer_run(url: str, payloads: list[Message]) -> tuple[float, float]:
    """(wall, CPU) seconds for the writer thread to store ``payloads``, queued before it starts."""
    engine = make_engine(url)
    stored, done = [0], threading.Event()

    def on_batch(result: BatchResult) -> None:
        stored[0] += result.stored
        if stored[0] >= len(payloads):
            done.set()

    writer = IngestWriter(engine, _Dropped(), HubMetrics(),
                          batch_size=BATCH, on_batch=on_batch)
    now = utc_now()
    for mid, (topic, payload) in enumerate(payloads, start=1):
        writer.submit(Incoming(topic, payload, mid, 1, 1, now))
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        writer.start()
        if not done.wait(600):
            raise SystemExit(f"the writer stored {stored[0]:,} of {len(payloads):,} events")
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        writer.stop()
        engine.dispose()


def writer_figures() -> None:
    """The writer thread alone with its queue full: wall, CPU and waits an event (medians)."""
    payloads = messages("returns", WRITER_EVENTS, 1000)
    heap.settle()
    runs = []
    for _ in range(WRITER_ROUNDS):
        with database("pg") as url:
            runs.append(writer_run(url, payloads))
    for name, values in (("wall", [w for w, _ in runs]), ("CPU", [c for _, c in runs]),
                         ("waits", [w - c for w, c in runs])):
        ms = sorted(v / WRITER_EVENTS * 1000 for v in values)[len(values) // 2]
        row(f"pg, writer thread alone, queue full: {name} an event", f"{ms:.3f} ms",
            f"median of {WRITER_ROUNDS}" + ("; wall less the process's CPU"
                                            if name == "waits" else ""))


COUNTED_BATCH = 500  # events a batch in the instruction count
COUNTED = (2, 6)  # batches after the first, in the two counted runs (their difference counts)


def count_run(batches: int, url: str) -> None:
    """What ``instructions`` counts: the first batch and ``batches`` more of the same payloads
    (made alike for every run, so making them cancels out of the difference)."""
    payloads = messages("returns", COUNTED_BATCH * (max(COUNTED) + 1), NODES)
    heap.settle()
    ingest(url, payloads[:COUNTED_BATCH * (batches + 1)], COUNTED_BATCH)


def instructions() -> float:
    """Instructions an event of classify + ``store_batch`` on PostgreSQL, counted by valgrind's
    callgrind: unlike CPU time, the count does not move with the other load of a shared machine
    (timings here swing by 25 % from run to run; the count by about 1 %), so it tells apart
    changes of a few percent. Two runs, of 1 + 2 and 1 + 6 batches of ``COUNTED_BATCH`` receipts,
    each on a fresh database; their difference is the four batches' work alone (start-up, imports
    and making the payloads cancel out). About three minutes."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    counts = []
    for batches in COUNTED:
        with database("pg") as url:
            done = subprocess.run(
                ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                 sys.executable, "-m", "bench.ingest", "--count-run", str(batches), url],
                capture_output=True, text=True, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or found is None:
            raise SystemExit(f"the counted run failed:\n{done.stderr[-2000:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / ((COUNTED[1] - COUNTED[0]) * COUNTED_BATCH)


def main(argv: list[str] | None = None) -> None:
    """Print CPU per event per database and mix, beside the figure before this work."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["sqlite", "pg"], help="profile one database")
    parser.add_argument("--mix", choices=MIXES, default="returns")
    parser.add_argument("--writer", action="store_true",
                        help="the writer thread alone, its queue full")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions an event with callgrind (PostgreSQL, receipts)")
    parser.add_argument("--count-run", nargs=2, metavar=("BATCHES", "URL"),
                        help=argparse.SUPPRESS)  # one counted run (what --instructions starts)
    args = parser.parse_args(argv or [])
    if args.count_run:
        count_run(int(args.count_run[0]), args.count_run[1])
        return
    if args.instructions:
        row(f"pg, returns: instructions an event (callgrind, batches of {COUNTED_BATCH})",
            f"{instructions():,.0f}", "748,227 at 80a496d (2026-12-07)")
        return
    if args.profile:
        profile(args.profile, args.mix)
        return
    if args.writer:
        writer_figures()
        return
    print(f"  {EVENTS:,} events from {NODES} nodes, batches of {BATCH} "
          "(classify + store_batch, process CPU)")
    for kind in ("sqlite", "pg"):
        for mix in MIXES:
            walls: list[float] = []
            per_event = measure(kind, mix, partial(ingest, walls=walls))
            before = BEFORE.get((kind, mix))
            said = (f"before {before:.2f} ms ({per_event / before - 1:+.0%})" if before
                    else "no earlier figure")
            row(f"{kind}, {mix}: CPU per event", f"{per_event:.3f} ms", said)
            row(f"{kind}, {mix}: wall time per event", f"{sum(walls) / EVENTS * 1000:.3f} ms",
                "the batches' own, their waits on the database included")
    writer_figures()


if __name__ == "__main__":
    main(sys.argv[1:])
