"""Benchmark of the allocation rules' rollout (issue 13 point 5): a published version acknowledged
by 1,000 connected stores, simulated nodes on the real broker. Target: <= 30 s.

1. In process, no broker: 1,000 stores with one node each (rows as the fleet benchmark seeds
   them), a rules version published and the hub's store config pass
   (``hub.sync.config_push.sync_once``) run into a link that keeps the payloads: each store's
   config, with its part of the rules, built, hashed, encoded, handed over and recorded
   (``allocation_pushes``). Timed: the publish and the pass — the hub's own share of a rollout.
2. The real thing. A private Mosquitto with the dynamic-security plugin; the real hub app
   (``create_app`` with its MQTT runtime: config publisher, ingest writer) on it, over the same
   1,000 stores; 1,000 simulated nodes (``bench.rollout_nodes``), each with **its own broker
   identity** and ACL, connected and subscribed as the agent is, each decoding and checking its
   store's retained config as the agent does and answering with the ``node.status`` the agent
   sends — at once, where the agent itself reports at its next status turn
   (``status_interval_seconds``, 30 s by default).
   Every node first applies version 1; then version 2 is published through
   ``POST /api/inventory/rules`` (an admin's bearer token). Timed: from that request to the
   hub's tables saying 1,000 of 1,000 stores current (version 2 pushed, every node applying it;
   looked at every ``POLL_S``), with the way there: the hub's config pass, the first and the
   last config a node received, the last status sent. ``GET /api/inventory/rules/rollout`` then
   confirms the count.
   The node identities are written into the plugin's file before the broker starts (its own
   JSON form: PBKDF2-SHA512, 101 rounds, 12-byte salt, as ``mosquitto_ctrl dynsec init`` writes
   it): created through ``$CONTROL`` (50 nodes a message) they took 36 s for the first 600 on
   this machine, each batch slower than the one before, and then a command went unanswered in
   10 s. The hub provisions its own identity through ``$CONTROL`` as usual.
3. A store that was offline gets the version when it reconnects, at scale: every
   ``AWAY_EVERY``-th store's node says offline and disconnects (the broker keeps its session);
   version 3 is published; timed: the connected stores all current, then, once the away nodes
   reconnect, from their reconnect to every store current.
4. ``GET /api/inventory/rules/rollout`` over the 1,000 stores (admin token), 20 times: p50 / p95.

Prints figures beside the targets; asserts nothing. Run: ``.venv/bin/python -m bench rollout``
(SQLite) or with ``ACORN_BENCH_DB=postgresql+psycopg://…`` (an empty database of its own; part 1
then runs on a SQLite file, part 2 on that database).
"""

from __future__ import annotations

import logging
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, insert, select

from bench.fleet import fleet_rows
from bench.rollout_nodes import NODE, NODE_PROCESSES, Nodes, write_node_identities
from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.app import create_app
from hub.fleet.local_broker import LocalBroker
from hub.inventory.allocation import default_rules_text
from hub.inventory.allocation import store as rules_store
from hub.settings import Settings
from hub.storage.engine import make_engine, reading
from hub.storage.migrations import upgrade
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.inventory_rules import allocation_pushes
from hub.sync.config_push import sync_once
from tests.support.server import serving

POLL_S = 0.05
PUSH_TARGET_MS = 5_000.0  # the hub's pass: 1,000 configs built, handed over, recorded
ROLLOUT_TARGET_S = 30.0  # issue 13: acknowledged by 1,000 connected stores
PAGE_TARGET_MS = 500.0
SETUP_TIMEOUT_S = 300.0
AWAY_EVERY = 10  # part 4: every 10th store's node is offline at the publish
V2 = default_rules_text().replace("\nversion: 1\n", "\nversion: 2\n", 1)


class KeepingLink:
    """A connection that keeps what it is handed (topic -> payload)."""

    def __init__(self) -> None:
        self.sent: dict[str, bytes] = {}

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        self.sent[topic] = payload
        return True


def seed(engine: Engine) -> list[str]:
    """1,000 stores with one node each; their ids."""
    store_rows, node_rows, _ = fleet_rows()
    with engine.begin() as conn:
        conn.execute(insert(stores), store_rows)
        conn.execute(insert(nodes), [r for r in node_rows if r["node_id"] == NODE])
    return [r["store_id"] for r in store_rows]


def in_process(url: str) -> None:
    """Part 1: publish + the config pass into a link that keeps the payloads."""
    upgrade(url)
    engine = make_engine(url)
    try:
        seed(engine)
        rules_store.ensure_seeded(engine)
        link = KeepingLink()
        sync_once(engine, link)  # version 1 everywhere first
        started = time.perf_counter()
        rules_store.publish(engine, V2, "bench", "admin", "bench")
        pushed = sync_once(engine, link)
        push_ms = (time.perf_counter() - started) * 1000
        largest = max(len(p) for p in link.sent.values())
    finally:
        engine.dispose()
    print(f"in process: rules version pushed to {pushed} stores (publish + config pass): "
          f"{push_ms:.0f} ms (target <= {PUSH_TARGET_MS:.0f} ms); largest config {largest} bytes",
          flush=True)


# -- the hub side -----------------------------------------------------------------------------

def current_stores(engine: Engine, version: int) -> int:
    """Stores pushed ``version`` whose one node reports applying it (the rollout's rule)."""
    applied = nodes.c.status["allocation_version"].as_integer()
    with reading(engine) as conn:
        return int(conn.execute(
            select(func.count()).select_from(nodes.join(
                allocation_pushes, allocation_pushes.c.store_id == nodes.c.store_id))
            .where(allocation_pushes.c.version == version, applied == version)).scalar_one())


def offline_nodes(engine: Engine) -> int:
    """Nodes the hub holds offline."""
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(nodes)
                                .where(nodes.c.online.is_(False))).scalar_one())


def wait_for(what: Callable[[], bool], timeout: float, label: str) -> float:
    """Seconds until ``what()`` holds (looked at every POLL_S); SystemExit after ``timeout``."""
    started = time.perf_counter()
    while not what():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"rollout bench: {label} did not happen within {timeout:.0f} s")
        time.sleep(POLL_S)
    return time.perf_counter() - started


class PassLog(logging.Handler):
    """Keeps the hub's config pass log lines with the time they were written."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.created, record.getMessage()))


def start_broker(state_dir: Path, passwords: dict[str, str]) -> LocalBroker:
    """A private Mosquitto whose plugin knows every store's node (see the module)."""
    broker = LocalBroker(state_dir)
    broker.prepare()
    write_node_identities(broker.state_dir, passwords)
    broker.start()
    return broker


def hub_on(broker: LocalBroker, url: str) -> Settings:
    """The hub's settings on ``url``, with its own broker identity provisioned as usual."""
    password = secrets.token_urlsafe(12)
    with broker.admin() as admin:
        user = admin.provision_hub(password, client_id="acorn-hub-bench")
    return Settings(database_url=url, mqtt_enabled=True, mqtt_host=broker.host,
                    mqtt_port=broker.port, mqtt_username=user, mqtt_password=password,
                    mqtt_client_id="acorn-hub-bench")


def rollout_on_broker(tmp: Path, url: str) -> None:
    """Parts 2, 3 and 4 (see the module)."""
    upgrade(url)
    engine = make_engine(url)
    ids = seed(engine)
    token = create_token(engine, "bench-admin", Role.ADMIN)
    rules_store.ensure_seeded(engine)
    passwords = {store: secrets.token_urlsafe(12) for store in ids}
    away = set(ids[::AWAY_EVERY])
    broker = start_broker(tmp / "mosquitto", passwords)
    passes = PassLog()
    pass_logger = logging.getLogger("hub.sync.config_push")
    pass_logger.addHandler(passes)
    pass_logger.setLevel(logging.INFO)
    try:
        with serving(create_app(hub_on(broker, url))) as base, httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as api:
            started = time.time()
            procs = Nodes(broker.host, broker.port, passwords, away)
            try:
                connect(procs, engine, len(ids), started)
                all_connected(api, engine, procs, passes, len(ids))
                some_away(api, engine, procs, len(ids), len(away))
                page(api, len(ids))
            finally:
                procs.close()
    finally:
        pass_logger.removeHandler(passes)
        broker.stop()
        engine.dispose()


def connect(procs: Nodes, engine: Engine, count: int, started: float) -> None:
    """Wait for every node connected, subscribed and on version 1."""

    def all_ready() -> bool:
        procs.collect()
        return procs.ready == count

    connect_s = wait_for(all_ready, SETUP_TIMEOUT_S, "every node connected")
    wait_for(lambda: current_stores(engine, 1) == count, SETUP_TIMEOUT_S, "version 1 everywhere")
    print(f"{count} simulated nodes ({NODE_PROCESSES} processes, one broker identity each) "
          f"connected and subscribed {connect_s:.1f} s after their processes were started "
          f"({max(procs.started) - started:.1f} s of it importing); all on version 1 after "
          f"{time.time() - started:.1f} s", flush=True)


def publish(api: httpx.Client, version: int) -> float:
    """Publish the default rules as ``version`` through the API; the request's ms."""
    text = default_rules_text().replace("\nversion: 1\n", f"\nversion: {version}\n", 1)
    started = time.perf_counter()
    api.post("/api/inventory/rules", json={"yaml": text, "reason": "bench"}).raise_for_status()
    return (time.perf_counter() - started) * 1000


def all_connected(api: httpx.Client, engine: Engine, procs: Nodes, passes: PassLog,
                  count: int) -> None:
    """Part 2: version 2 to every connected store, timed to every store current."""
    procs.collect()
    procs.applied.clear()
    passes.lines.clear()
    t0_wall, t0 = time.time(), time.perf_counter()
    post_ms = publish(api, 2)
    wait_for(lambda: current_stores(engine, 2) == count, SETUP_TIMEOUT_S, "version 2 everywhere")
    total_s = time.perf_counter() - t0
    procs.collect()
    rollout = api.get("/api/inventory/rules/rollout")
    rollout.raise_for_status()
    report(f"{count} connected stores ({engine.dialect.name})", total_s, post_ms, t0_wall,
           passes.lines, [r for r in procs.applied if r[0] == 2], rollout.json()["current"])


def some_away(api: httpx.Client, engine: Engine, procs: Nodes, count: int, away: int) -> None:
    """Part 3: version 3 while ``away`` stores' nodes are offline; then they come back."""
    procs.leave()
    wait_for(lambda: offline_nodes(engine) == away, SETUP_TIMEOUT_S, "the away nodes offline")
    t0 = time.perf_counter()
    publish(api, 3)
    wait_for(lambda: current_stores(engine, 3) == count - away, SETUP_TIMEOUT_S,
             "version 3 at every connected store")
    connected_s = time.perf_counter() - t0
    time.sleep(1.0)  # nothing more arrives while they are away
    still = current_stores(engine, 3)
    t1 = time.perf_counter()
    procs.come_back()
    wait_for(lambda: current_stores(engine, 3) == count, SETUP_TIMEOUT_S,
             "version 3 everywhere after the reconnect")
    print(f"version 3 with {away} stores offline: the {count - away} connected current in "
          f"{connected_s:.2f} s ({still} a second later); the {away} back current "
          f"{time.perf_counter() - t1:.2f} s after they reconnect (retained config, kept "
          "sessions)", flush=True)


def report(who: str, total_s: float, post_ms: float, t0: float, passes: list[tuple[float, str]],
           applied: list[tuple[Any, ...]], confirmed: int) -> None:
    """Print the rollout's figure beside the target, and the way there."""
    print(f"rules version 2 acknowledged by {who} (publish through the API to the hub recording "
          f"every store current): {total_s:.2f} s "
          f"(target <= {ROLLOUT_TARGET_S:.0f} s); the API confirms {confirmed} current",
          flush=True)
    hub_passes = "; ".join(f"+{at - t0:.2f} s: {line}" for at, line in passes) or "none logged"
    print(f"  publish request {post_ms:.0f} ms; hub config pass(es): {hub_passes}", flush=True)
    if applied:
        got = sorted(r[1] - t0 for r in applied)
        sent = max(r[2] for r in applied) - t0
        print(f"  nodes received version 2: first +{got[0]:.2f} s, median "
              f"+{statistics.median(got):.2f} s, last +{got[-1]:.2f} s ({len(got)} nodes); "
              f"last status sent +{sent:.2f} s", flush=True)


def page(api: httpx.Client, count: int) -> None:
    """Part 4: the rollout page's latency over every store."""
    latencies, current = [], 0
    api.get("/api/inventory/rules/rollout").raise_for_status()  # warm up
    for _ in range(20):
        started = time.perf_counter()
        answer = api.get("/api/inventory/rules/rollout")
        latencies.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        current = answer.json()["current"]
    p95 = statistics.quantiles(latencies, n=100)[94]
    print(f"rollout page over {count} stores: p50 {statistics.median(latencies):.0f} ms, "
          f"p95 {p95:.0f} ms (target <= {PAGE_TARGET_MS:.0f} ms); {current} of {count} "
          "stores current")


def main() -> None:
    """Print the in-process pass, the rollout on the real broker and the rollout page."""
    with tempfile.TemporaryDirectory() as tmp:
        in_process(f"sqlite:///{Path(tmp) / 'in-process.db'}")
        url = os.environ.get("ACORN_BENCH_DB") or f"sqlite:///{Path(tmp) / 'rollout.db'}"
        rollout_on_broker(Path(tmp), url)
