"""Benchmark of the allocation rules' rollout (issue 13 point 5): a published version pushed to
1,000 stores and acknowledged by 1,000 simulated nodes, then the rollout page read.

1. Seeds 1,000 stores with one node each (rows as the fleet benchmark seeds them), publishes a
   rules version and runs the hub's store config pass (``hub.sync.config_push.sync_once``) into
   a link that keeps the payloads: each store's config, with its part of the rules, built,
   hashed, encoded and recorded (``allocation_pushes``). Timed: the publish and the pass.
2. 1,000 simulated nodes take their store's payload the way the agent does (decode, check) and
   answer with a ``node.status`` naming the version applied; the hub's ingest classifies them and
   stores them in batches of 100, as its MQTT path does. Timed: the whole acknowledgement.
   The broker's delivery is not in these figures (see the fleet test with real agents).
3. ``GET /api/inventory/rules/rollout`` over the 1,000 stores (a viewer's bearer token), 20
   times: p50 / p95; it must say 1,000 of 1,000 stores current.

Prints figures beside the targets; asserts nothing. Run: ``.venv/bin/python -m bench rollout``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, insert

from bench.fleet import fleet_rows
from edge_agent.staff import store_config as edge_config
from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.app import create_app
from hub.inventory.allocation import default_rules_text
from hub.inventory.allocation import store as rules_store
from hub.settings import Settings
from hub.storage.engine import make_engine, writing
from hub.storage.migrations import upgrade
from hub.storage.tables.core import nodes, stores
from hub.sync.config_push import sync_once
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import (
    KINDS_ON_TOPIC,
    NodeStatus,
    TopicKind,
    decode,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)
from tests.support.server import serving

NODE = "counter-1"
BATCH = 100
PUSH_TARGET_MS = 5_000.0  # 1,000 configs built and handed to the connection
ACK_TARGET_MS = 5_000.0  # 1,000 statuses ingested
PAGE_TARGET_MS = 500.0


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


def acknowledge(engine: Engine, sent: dict[str, bytes], ids: list[str]) -> int:
    """Each node applies its store's config and reports it; the hub ingests the statuses."""
    statuses = []
    for store in ids:
        envelope = decode(sent[f"acorn/v1/stores/{store}/config"],
                          expect=KINDS_ON_TOPIC[TopicKind.CONFIG])
        config = edge_config.check(envelope, store)
        assert config.allocation is not None
        body = NodeStatus(state="online", config_version=config.version,
                          allocation_version=config.allocation.version,
                          allocation_since=utc_now(), since=utc_now())
        statuses.append(classify(node_topic(store, NODE, TopicKind.STATUS),
                                 encode(make_envelope(store, NODE, 0, body))))
    for start in range(0, len(statuses), BATCH):
        with writing(engine) as tx:
            store_batch(tx, statuses[start:start + BATCH])
    return len(statuses)


def main() -> None:
    """Print the push, the acknowledgement and the rollout page's figures."""
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("ACORN_BENCH_DB") or f"sqlite:///{Path(tmp) / 'rollout.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            ids = seed(engine)
            token = create_token(engine, "bench-viewer", Role.ADMIN)
            rules_store.ensure_seeded(engine)
            link = KeepingLink()
            sync_once(engine, link)  # version 1 everywhere first
            text = default_rules_text().replace("\nversion: 1\n", "\nversion: 2\n", 1)
            started = time.perf_counter()
            rules_store.publish(engine, text, "bench", "admin", "bench")
            pushed = sync_once(engine, link)
            push_ms = (time.perf_counter() - started) * 1000
            largest = max(len(p) for p in link.sent.values())
            started = time.perf_counter()
            acked = acknowledge(engine, link.sent, ids)
            ack_ms = (time.perf_counter() - started) * 1000
        finally:
            engine.dispose()
        print(f"rules version pushed to {pushed} stores (publish + config pass): {push_ms:.0f} ms "
              f"(target <= {PUSH_TARGET_MS:.0f} ms); largest config {largest} bytes", flush=True)
        print(f"{acked} simulated nodes apply it and report it, ingested in batches of {BATCH}: "
              f"{ack_ms:.0f} ms (target <= {ACK_TARGET_MS:.0f} ms)", flush=True)
        settings = Settings(database_url=url, mqtt_enabled=False)
        with serving(create_app(settings)) as base, httpx.Client(
                base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            client.get("/api/inventory/rules/rollout").raise_for_status()  # warm up
            latencies, current = [], 0
            for _ in range(20):
                started = time.perf_counter()
                answer = client.get("/api/inventory/rules/rollout")
                latencies.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
                current = answer.json()["current"]
        p95 = statistics.quantiles(latencies, n=100)[94]
        print(f"rollout page over {len(ids)} stores: p50 {statistics.median(latencies):.0f} ms, "
              f"p95 {p95:.0f} ms (target <= {PAGE_TARGET_MS:.0f} ms); {current} of {len(ids)} "
              "stores current")
