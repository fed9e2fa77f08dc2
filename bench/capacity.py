"""Capacity (issue 16): many nodes, each with its own broker identity, against one hub.

    python -m bench capacity
    CAPACITY_NODES=200 CAPACITY_RATES=1000,3000 CAPACITY_STORM=100 CAPACITY_DBS=sqlite \
        python -m bench capacity
    CAPACITY_EVENT_BATCH=1 python -m bench capacity    # one event per message, as before
    CAPACITY_HUB_WORKERS=2 CAPACITY_DBS=pg python -m bench capacity    # two hub workers
    CAPACITY_LIVE_NODES=0 python -m bench capacity    # a storm without live stores beside it
    CAPACITY_MIX=lifecycle python -m bench capacity    # each return received, inspected, disposed
    CAPACITY_MIX=sales python -m bench capacity    # every event a sale's stock move
    CAPACITY_PREFILL=300000 python -m bench capacity    # against a database of 300,000 events
    CAPACITY_SECONDS=120 python -m bench capacity       # phases long enough for the reasons pass

Every node has its own dynsec client bound to its client id (as the fleet provisions them) and
publishes valid ``return.received`` events through the real Mosquitto to one ``acorn-hub serve``
(SQLite, then a PostgreSQL database the bench creates and drops). The nodes live in a few
processes (``WORKERS``), each driving its paho clients from one selector loop, and pace
themselves exactly as the edge link does (``SendWindow`` + ``edge_agent.sync.pace.Pace``).

Figures per phase: events ingested per second, publish -> ack p50/p99 (first publish of a seq
until a retained ack covers it; over the whole phase, and again without the events first sent
in its first ``STEADY_AFTER_S`` seconds, while all the nodes connect, say they are online and
send what they wrote meanwhile: the sustained figure the target is about), hub CPU per event
(process CPU time from /proc over the events confirmed, so other load on the machine does not
blur it), hub CPU share, where the machine's CPU went over the phase (hub workers, the
generator's processes, Mosquitto, every PostgreSQL process, the rest, idle: in cores, from
/proc), broker drops (the "dropped" lines of mosquitto's log), and how many events the
database held when the phase began (the phases share one database, which grows) and how many
returns still waited for their reasons when it ended (the hub's reasons pass runs every
minute: only a phase longer than that, ``CAPACITY_SECONDS``, carries its cost). Phases: steady
rates
(``CAPACITY_RATES`` ev/s offered in total), then a storm: every node connects at once holding
``CAPACITY_STORM`` buffered events.
With ``CAPACITY_HUB_WORKERS`` > 1 (PostgreSQL only) that many ``acorn-hub serve`` workers
share the ingest, each with its own broker identity, the stores registered first as enrolment
registers them; CPU and batch figures are the workers' summed.
Beside the storm, ``CAPACITY_LIVE_NODES`` (100) more nodes are stores that never lost their
link: they hold nothing and record ``CAPACITY_LIVE_RATE`` (100) ev/s between them for
``LIVE_SECONDS``, and their publish -> ack figures are printed apart (the hub's live lane,
``hub.sync.ingest.lanes``, serves them before the backlogs).
Prints figures beside the targets; asserts nothing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.finance.reasons.store import queued_returns
from hub.storage.engine import make_engine, reading, writing
from hub.storage.tables.core import stores
from hub.sync.partitions import PARTITIONS, fair_share
from tests.support.broker import TestBroker
from tests.support.databases import migrated, pg_database
from tests.support.fleet_nodes import STEADY_AFTER_S, NodeCreds, provision, run_nodes
from tests.support.procs import Proc, health_of, hub_proc, stop_all
from tests.workers.conftest import worker_creds

WORKERS = 4
TICKS = os.sysconf("SC_CLK_TCK")
PHASE_SECONDS = float(os.environ.get("CAPACITY_SECONDS", "20"))  # a steady phase's offer
# as the edges do when their hub's config says it reads batches (ACORN_HUB_INGEST_EVENT_BATCH)
EVENT_BATCH = int(os.environ.get("CAPACITY_EVENT_BATCH", "100"))
HUB_BATCH = os.environ.get("CAPACITY_HUB_BATCH", "")  # the hub's INGEST_BATCH_SIZE ("": its own)
HUB_WORKERS = int(os.environ.get("CAPACITY_HUB_WORKERS", "1"))
MIXES = ("returns", "lifecycle", "sales")
# returns: receipts only; lifecycle: each return received, inspected, disposed (updates too)
MIX = os.environ.get("CAPACITY_MIX", "returns")
GIVE_UP_S = 1800.0  # a phase's nodes stop waiting for acks after this (a storm may be slow)
LIVE_NODES = int(os.environ.get("CAPACITY_LIVE_NODES", "100"))  # beside the storm
PREFILL = int(os.environ.get("CAPACITY_PREFILL", "0"))  # events of other stores stored first
LIVE_RATE = float(os.environ.get("CAPACITY_LIVE_RATE", "100"))
LIVE_SECONDS = 60.0


def _worker(out: Any, *load: Any) -> None:
    """One generator process: its share of the nodes; its figures go on ``out``."""
    out.put(run_nodes(*load))


def _cpu_seconds(pid: int) -> float:
    return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def _stat_cpu(stat: str) -> float:
    """User + system CPU seconds from a /proc/PID/stat text."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (the generator's processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process now running (server and backends)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if text[text.index("(") + 1:text.rindex(")")] == "postgres":
            total += _stat_cpu(text)
    return total


def _machine() -> tuple[float, float]:
    """The machine's busy and idle CPU seconds so far (/proc/stat, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICKS, idle / TICKS


def _dropped(broker: TestBroker) -> int:
    log = broker.local.state_dir / "mosquitto.log"
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text(errors="replace").splitlines() if "dropped" in line)


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (nan when empty)."""
    if len(values) < 2:
        return float("nan") if not values else values[0]
    return statistics.quantiles(values, n=100)[q - 1]


def row(name: str, value: str, target: str) -> None:
    print(f"  {name:<58} {value:>16}   target {target}", flush=True)


def _metrics(hubs: list[Proc], db_url: str) -> dict[str, float]:
    """The hubs' counters and histogram sums, added up (a viewer token made for this read)."""
    engine = make_engine(db_url)
    try:
        token = create_token(engine, f"bench-{time.time_ns()}", Role.VIEWER)
    finally:
        engine.dispose()
    out: dict[str, float] = {}
    for hub in hubs:
        text = httpx.get(
            f"{hub.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).text
        for line in text.splitlines():
            if line.startswith("acorn_hub_ingest_") and "_bucket{" in line:  # le="0.25" -> :0.25
                le = line.split('"')[1]
                name = f"{line.split('{', 1)[0]}:{le}"
                out[name] = out.get(name, 0.0) + float(line.split()[1])
            elif line.startswith("acorn_hub_") and "{" not in line and len(line.split()) == 2:
                out[line.split()[0]] = out.get(line.split()[0], 0.0) + float(line.split()[1])
    return out


def _reasons_queued(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with reading(engine) as conn:
            return queued_returns(conn)
    finally:
        engine.dispose()


def register_stores(db_url: str, creds: list[tuple[int, NodeCreds]]) -> None:
    """The stores as the fleet knows them before their nodes enrol (``acorn-hub stores add``):
    several workers subscribe to a store's events once its row exists, and a store first heard
    of by its status loses its first events to nobody until the nodes resend them."""
    migrated(db_url)
    engine = make_engine(db_url)
    try:
        with writing(engine) as tx:
            tx.conn.execute(stores.insert(), [{"store_id": c.store_id, "created_at": tx.now}
                                              for _, c in creds])
    finally:
        engine.dispose()


def _hubs(tmp: Path, broker: TestBroker, db_url: str, creds: list[tuple[int, NodeCreds]],
          **extra: str) -> list[Proc]:
    """One hub, or ``HUB_WORKERS`` workers sharing the ingest (each its own broker identity)."""
    if HUB_WORKERS == 1:
        return [hub_proc(tmp, broker.hub_creds(), db_url, **extra).start(timeout=120)]
    register_stores(db_url, creds)
    hubs = []
    for n in range(1, HUB_WORKERS + 1):
        hub = hub_proc(tmp, worker_creds(broker, f"acorn-hub-w{n}"), db_url,
                       hub_workers=str(HUB_WORKERS), **extra)
        hub.log_path = tmp / f"acorn-hub-w{n}.log"
        hubs.append(hub.start(timeout=120))
    _settled(hubs, len({c.store_id for _, c in creds}))
    return hubs


def _settled(hubs: list[Proc], store_count: int, timeout: float = 60.0) -> None:
    """Wait until the workers have shared out the partitions and subscribed to every store.

    A worker that starts first takes all 64 partitions and hands half over a round or two after
    the next one joins; a phase begun before that would measure the handover (events published
    between the giver's unsubscribe and the taker's subscribe wait for the nodes' resends)."""
    deadline = time.monotonic() + timeout
    while True:
        shares = [(health_of(h) or {}).get("ingest", {}) for h in hubs]
        held = [int(s.get("partitions", 0)) for s in shares]
        if (all(s.get("members") == len(hubs) for s in shares) and sum(held) == PARTITIONS
                and max(held) <= fair_share(len(hubs))
                and sum(int(s.get("stores", 0)) for s in shares) == store_count):
            print(f"  {len(hubs)} workers hold {' / '.join(map(str, held))} partitions, "
                  f"{' / '.join(str(s['stores']) for s in shares)} stores", flush=True)
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the workers did not share out the partitions in {timeout:.0f} s: "
                             f"{shares}")
        time.sleep(0.5)


def _phase(
    broker: TestBroker,
    hub_pids: list[int],
    creds: list[tuple[int, NodeCreds, int]],
    rate: float,
    buffered: int,
    live: list[tuple[int, NodeCreds, int]] | None = None,
) -> tuple[dict[str, float], dict[int, int]]:
    """One phase; ``live``: nodes that record ``LIVE_RATE`` ev/s beside it (figures apart)."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 1.0
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                out,
                creds[w::WORKERS],
                broker.host,
                broker.port,
                rate / WORKERS,
                buffered,
                PHASE_SECONDS,
                start_at,
                GIVE_UP_S,
                EVENT_BATCH,
                MIX,
            ),
        )
        for w in range(WORKERS)
    ]
    live_out = ctx.Queue()
    if live:
        procs.append(ctx.Process(target=_worker, args=(
            live_out, live, broker.host, broker.port, LIVE_RATE, 0, LIVE_SECONDS, start_at,
            GIVE_UP_S, EVENT_BATCH, MIX)))
    dropped_before = _dropped(broker)
    broker_pid = broker.local.process.pid if broker.local.process is not None else None
    parts_before = (_children_cpu(), _postgres_cpu(),
                    _cpu_seconds(broker_pid) if broker_pid else 0.0, *_machine())
    cpu_before, wall_before = sum(_cpu_seconds(p) for p in hub_pids), time.monotonic()
    for p in procs:
        p.start()
    results = [out.get(timeout=PHASE_SECONDS + GIVE_UP_S + 300)
               for _ in range(len(procs) - (1 if live else 0))]
    beside = live_out.get(timeout=LIVE_SECONDS + GIVE_UP_S + 300) if live else None
    for p in procs:
        p.join(30)
    cpu = sum(_cpu_seconds(p) for p in hub_pids) - cpu_before
    wall = time.monotonic() - wall_before
    parts_after = (_children_cpu(), _postgres_cpu(),
                   _cpu_seconds(broker_pid) if broker_pid else 0.0, *_machine())
    generator, postgres, mosquitto, busy, idle = (
        (a - b) / wall for a, b in zip(parts_after, parts_before, strict=True))
    latencies = [x for r in results for x in r["latencies"]]
    steady = [x for r in results for x in r["steady_latencies"]]
    acked = sum(r["acked"] for r in results)
    seconds = max(r["seconds"] for r in results)
    written = {i: w for r in results for i, w in r["written"].items()}
    before = sum(b for _i, _c, b in creds)
    beside_figures = {} if beside is None else {
        "live_acked": beside["acked"], "live_p50": pct(beside["latencies"], 50),
        "live_p99": pct(beside["latencies"], 99)}
    if beside is not None:
        written.update(beside["written"])
    return beside_figures | {
        "acked": acked,
        "written": sum(written.values()) - before,
        "rate": acked / seconds,
        "seconds": seconds,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "steady_p50": pct(steady, 50) if steady else float("nan"),
        "steady_p99": pct(steady, 99) if steady else float("nan"),
        "cpu_ms": cpu / max(acked, 1) * 1000,
        "cpu_share": cpu / wall,
        "generator_share": generator, "postgres_share": postgres, "broker_share": mosquitto,
        "other_share": busy - cpu / wall - generator - postgres - mosquitto, "idle_share": idle,
        "dropped": _dropped(broker) - dropped_before,
    }, written


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    """A SQLite file, or a PostgreSQL database made and dropped (as the hub tests make theirs)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'hub.db'}"
    else:
        yield from pg_database()


def _run_db(kind: str, nodes: int, rates: list[int], storm: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = TestBroker(tmp / "mosquitto")
        try:
            started = time.monotonic()
            extra = LIVE_NODES if storm else 0  # the live stores beside the storm
            creds = provision(broker, nodes + extra, kind)
            sent: dict[int, int] = {}
            print(
                f"  {len(creds)} node identities provisioned in {time.monotonic() - started:.1f} s",
                flush=True,
            )
            with _database(kind, tmp) as db_url:
                if PREFILL:
                    _prefill(db_url, PREFILL)
                hubs = _hubs(tmp, broker, db_url, creds, log_level="WARNING",
                             **({"ingest_batch_size": HUB_BATCH} if HUB_BATCH else {}))
                try:
                    pids = [h.popen.pid for h in hubs if h.popen is not None]
                    for rate, buffered in [(r, 0) for r in rates] + ([(0, storm)] if storm else []):
                        before = _metrics(hubs, db_url)
                        stored = PREFILL + sum(sent.values())  # the database grows
                        at = [(i, c, sent.get(i, 0)) for i, c in creds]
                        figures, written = _phase(
                            broker,
                            pids,
                            at[:nodes],
                            rate,
                            buffered,
                            (at[nodes:] or None) if buffered else None,
                        )
                        sent.update(written)
                        after = _metrics(hubs, db_url)
                        _print(kind, nodes, rate, buffered, figures)
                        row("  events already stored when the phase began", f"{stored:,}", "-")
                        row("  returns waiting for their reasons when it ended",
                            f"{_reasons_queued(db_url):,}", "- (the hub's pass runs every 60 s)")
                        _print_batches(before, after)
                finally:
                    stop_all(hubs)
        finally:
            broker.kill()


def _prefill(db_url: str, events: int) -> None:
    """Store ``events`` receipts of 1,000 other stores first, through the writer's own batch
    path (``bench.ingest``), and classify their reasons as a running hub would have, so the
    phases run against a database of that size."""
    from bench.ingest import ingest, messages
    from hub.finance.reasons.store import classify_pending

    started = time.monotonic()
    migrated(db_url)
    ingest(db_url, messages("returns", events, 1000))
    engine = make_engine(db_url)
    try:
        classify_pending(engine)
    finally:
        engine.dispose()
    print(f"  {events:,} events of 1,000 other stores stored (and their reasons classified) "
          f"first in {time.monotonic() - started:.0f} s", flush=True)


def _print(kind: str, nodes: int, rate: int, buffered: int, f: dict[str, float]) -> None:
    if buffered:
        what = f"{kind}: storm, {nodes} nodes x {buffered} buffered"
        row(f"{what}: all confirmed in", f"{f['seconds']:.1f} s", "<= 300 s (1,000 x 1,000)")
    else:
        what = f"{kind}: {nodes} nodes offering {rate:,} ev/s"
    row(f"{what}: ingested", f"{f['rate']:,.0f} ev/s", ">= 5,000 ev/s")
    row(f"{what}: confirmed / written", f"{f['acked']:,.0f} / {f['written']:,.0f}", "all")
    row(f"{what}: publish -> ack p50 / p99", f"{f['p50']:.0f} / {f['p99']:.0f} ms", "p99 <= 250 ms")
    if not buffered:
        row(f"    the same after the first {STEADY_AFTER_S:.0f} s (connects done)",
            f"{f['steady_p50']:.0f} / {f['steady_p99']:.0f} ms", "sustained: p99 <= 250 ms")
    row(f"{what}: hub CPU per event", f"{f['cpu_ms']:.3f} ms", "was 0.43 ms")
    row(f"{what}: hub CPU share", f"{f['cpu_share']:.2f} core", "-")
    print(f"    machine, cores: hubs {f['cpu_share']:.2f}, generator {f['generator_share']:.2f},"
          f" mosquitto {f['broker_share']:.2f}, postgres {f['postgres_share']:.2f},"
          f" other {f['other_share']:.2f}, idle {f['idle_share']:.2f}", flush=True)
    if "live_p50" in f:
        row(f"{what}: {LIVE_NODES} live stores beside it ({LIVE_RATE:,.0f} ev/s): "
            "p50 / p99", f"{f['live_p50']:.0f} / {f['live_p99']:.0f} ms", "-")
        row(f"{what}: live events confirmed", f"{f['live_acked']:,.0f}", "all")
    row(f"{what}: broker drops (log lines)", f"{f['dropped']:.0f}", "0")


def _print_batches(before: dict[str, float], after: dict[str, float]) -> None:
    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    batches = delta("acorn_hub_ingest_batch_size_count") or 1
    row(
        "  hub batches: count / mean size / mean seconds",
        f"{batches:.0f} / {delta('acorn_hub_ingest_batch_size_sum') / batches:.0f} / "
        f"{delta('acorn_hub_ingest_batch_seconds_sum') / batches * 1000:.0f} ms",
        "-",
    )
    within = {le: delta(f"acorn_hub_ingest_batch_seconds_bucket:{le}") for le in
              ("0.1", "0.25", "0.5", "+Inf")}
    row(
        "  hub batches over 0.1 / 0.25 / 0.5 s",
        " / ".join(f"{within['+Inf'] - within[le]:.0f}" for le in ("0.1", "0.25", "0.5")),
        "-",
    )
    waits = {float(name.rsplit(":", 1)[1]): delta(name) for name in after
             if name.startswith("acorn_hub_ingest_wait_seconds_bucket:")}
    row(
        "  hub wait, arrival -> PUBACK, p50 / p99 (at most)",
        " / ".join(_bucket_quantile(waits, q) for q in (0.5, 0.99)),
        "-",
    )
    row(
        "  gaps opened / duplicates",
        f"{delta('acorn_hub_seq_gaps_total'):.0f} / "
        f"{delta('acorn_hub_events_duplicate_total'):.0f}",
        "-",
    )


def _bucket_quantile(cumulative: dict[float, float], q: float) -> str:
    """The upper bound of the histogram bucket the ``q`` quantile falls in (from cumulative
    bucket counts by bound), as "<= N ms"; "-" without observations."""
    total = cumulative.get(float("inf"), 0.0)
    if total <= 0:
        return "-"
    bounds = sorted(cumulative)
    bound = next(b for b in bounds if cumulative[b] >= q * total)
    if bound == float("inf"):  # past the last finite bucket
        return f"> {bounds[-2] * 1000:.0f} ms" if len(bounds) > 1 else "-"
    return f"<= {bound * 1000:.0f} ms"


def main() -> None:
    """Run every phase on each database and print the figures."""
    nodes = int(os.environ.get("CAPACITY_NODES", "1000"))
    rates = [int(r) for r in os.environ.get("CAPACITY_RATES", "1000,5000").split(",") if r]
    storm = int(os.environ.get("CAPACITY_STORM", "1000"))
    if MIX not in MIXES:
        raise SystemExit(f"CAPACITY_MIX={MIX!r}: choose one of {', '.join(MIXES)}")
    print(f"capacity (issue 16): {nodes} nodes, {WORKERS} generator processes, up to "
          f"{EVENT_BATCH} events a message, {HUB_WORKERS} hub worker(s), events: {MIX}",
          flush=True)
    for kind in os.environ.get("CAPACITY_DBS", "sqlite,pg").split(","):
        if HUB_WORKERS > 1 and kind == "sqlite":
            print("  sqlite: skipped (several hub workers need PostgreSQL)", flush=True)
            continue
        _run_db(kind, nodes, rates, storm)


if __name__ == "__main__":
    main()
