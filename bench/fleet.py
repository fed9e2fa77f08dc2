"""Benchmarks of the fleet (issue 12): the fleet page of 1,000 stores x 2 nodes, filtered (p95),
and the enrolment of 100 nodes in a row (p99 per enrolment).

1. Seeds 1,000 stores in 4 regions with 2 nodes each (rows as ingest and enrolment leave them:
   a mix of online and offline, unsent events of all ages, printers out of paper, certificates
   near their end, a few revoked), serves the real app on loopback, and times
   ``GET /api/fleet/nodes`` pages of 50 with a technician's bearer token, rotating filters and
   sorts, for an unscoped technician and one scoped to a region. Target: p95 <= 300 ms.
2. Starts a real Mosquitto with the dynamic-security plugin and a mutual-TLS listener (the fleet
   CA), and enrols 100 nodes one after another the way a store machine does: a code made through
   the API, then ``POST /api/fleet/enrol`` with a fresh key's CSR (the hub checks the code,
   signs the certificate, creates the node's broker client and role, records and audits it).
   The enrolment request is timed; the node's key generation is not (it happens on the store
   machine). Target: p99 <= 1 s.

Prints figures beside the targets; asserts nothing.
Run: ``.venv/bin/python -m bench fleet`` (SQLite) or ``ACORN_BENCH_DB=postgresql+psycopg://…``
(an empty database of its own: the page part fills it).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert
from sqlalchemy.engine import make_url

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.app import create_app
from hub.fleet import pki
from hub.fleet.local_broker import LocalBroker, write_tls_files
from hub.settings import Settings
from hub.storage.engine import make_engine
from hub.storage.migrations import upgrade
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.fleet import node_certificates
from protocol import NodeStatus, utc_now
from tests.fleet.conftest import csr_for
from tests.support.server import serving

STORES = 1_000
NODES_PER_STORE = 2
REQUESTS = 300
PAGE_TARGET_MS = 300.0
ENROLMENTS = 100
ENROL_TARGET_MS = 1000.0
REGIONS = ["north", "south", "east", "west"]
FILTERS: list[dict[str, str | int]] = [
    {},
    {"state": "offline"},
    {"state": "online", "sort": "last_seen", "order": "desc"},
    {"alert": "any"},
    {"alert": "unsent", "sort": "unsent_age", "order": "desc"},
    {"alert": "offline", "region": "south"},
    {"alert": "certificate", "sort": "cert_expiry"},
    {"region": "east", "sort": "outbox", "order": "desc"},
    {"store": "st0421"},
    {"sort": "version"},
    {"sort": "alerts", "order": "desc"},
    {"offset": 1500},
]


def pct(values: list[float], q: int) -> float:
    """The q-th percentile."""
    return statistics.quantiles(values, n=100)[q - 1]


def fleet_rows(seed: int = 12) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                         list[dict[str, Any]]]:
    """Store, node and certificate rows of the seeded fleet."""
    rng, now = random.Random(seed), utc_now()
    store_rows, node_rows, cert_rows = [], [], []
    for n in range(STORES):
        store = f"st{n:04d}"
        store_rows.append({"store_id": store, "name": f"Store {n}", "region": REGIONS[n % 4],
                           "city": f"city{n % 37}", "created_at": now, "config_version": 3})
        for k in range(1, NODES_PER_STORE + 1):
            online = rng.random() < 0.85
            seen = now - timedelta(seconds=rng.uniform(0, 30 if online else 86_400))
            pending = 0 if rng.random() < 0.7 else rng.randint(1, 400)
            oldest = now - timedelta(seconds=rng.uniform(1, 20_000)) if pending else None
            status = NodeStatus(state="online" if online else "offline",
                                version=rng.choice(["1.3.2", "1.4.0", "1.4.1"]),
                                outbox_pending=pending, last_acked_seq=rng.randint(0, 50_000),
                                oldest_unsent_at=oldest, config_version=rng.choice([2, 3]),
                                printer=rng.choice(["ok"] * 8 + ["paper_low", "paper_out"]),
                                scanner=rng.choice(["connected"] * 9 + ["disconnected"]))
            node_rows.append({"store_id": store, "node_id": f"counter-{k}",
                              "contiguous_seq": 0, "highest_seq": 0, "command_seq": 0,
                              "online": online, "status": status.model_dump(
                                  mode="json", exclude={"kind"}),
                              "status_at": seen, "last_seen_at": seen, "created_at": now})
            not_after = now + timedelta(hours=rng.uniform(-24, 24 * 7))
            revoked = rng.random() < 0.01
            cert_rows.append({"store_id": store, "node_id": f"counter-{k}", "serial": "ab" * 8,
                              "not_after": not_after, "issued_at": not_after - timedelta(days=7),
                              "revoked_at": now if revoked else None,
                              "revoked_by": "admin" if revoked else None,
                              "revoked_reason": "stolen" if revoked else None})
    return store_rows, node_rows, cert_rows


def seed_fleet(engine: Engine) -> None:
    """The 1,000 stores and their nodes, in bulk."""
    store_rows, node_rows, cert_rows = fleet_rows()
    with engine.begin() as conn:
        conn.execute(insert(stores), store_rows)
        conn.execute(insert(nodes), node_rows)
        conn.execute(insert(node_certificates), cert_rows)
        if engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
            conn.exec_driver_sql("ANALYZE")


def measure_page(base: str, token: str) -> tuple[list[float], str]:
    """Latencies (ms) of REQUESTS filtered fleet pages of 50, and the slowest filter (median)."""
    latencies = []
    by_filter: dict[int, list[float]] = {}
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        client.get("/api/fleet/nodes").raise_for_status()  # warm up
        for n in range(REQUESTS):
            params = {"limit": 50, **FILTERS[n % len(FILTERS)]}
            started = time.perf_counter()
            answer = client.get("/api/fleet/nodes", params=params)
            latencies.append((time.perf_counter() - started) * 1000)
            by_filter.setdefault(n % len(FILTERS), []).append(latencies[-1])
            answer.raise_for_status()
    slow = max(by_filter, key=lambda k: statistics.median(by_filter[k]))
    return latencies, f"{FILTERS[slow] or 'no filter'} {statistics.median(by_filter[slow]):.0f} ms"


def measure_enrolment(base: str, token: str) -> list[float]:
    """Latencies (ms) of ENROLMENTS enrolments in a row (codes made first, untimed)."""
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(ENROLMENTS):
            made = client.post("/api/fleet/codes", json={"store_id": f"st{n % 10:04d}"},
                               headers={"Authorization": f"Bearer {token}"})
            made.raise_for_status()
            body = {"code": made.json()["code"], "csr": csr_for(pki.new_key()),
                    "serial": f"SN-BENCH-{n}"}
            started = time.perf_counter()
            answer = client.post("/api/fleet/enrol", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return latencies


def main() -> None:
    """Print the fleet page's p95 and the enrolment's p99."""
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("ACORN_BENCH_DB") or f"sqlite:///{Path(tmp) / 'fleet.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            seed_fleet(engine)
            tech = create_token(engine, "bench-tech", Role.TECHNICIAN)
            north = create_token(engine, "bench-tech-north", Role.TECHNICIAN,
                                 scope=Scope(region="north"))
        finally:
            engine.dispose()
        ca, _ = pki.load_or_create_ca(Path(tmp) / "fleet", utc_now())
        broker = LocalBroker(Path(tmp) / "mosquitto")
        broker.tls = write_tls_files(Path(tmp) / "mosquitto" / "tls", ca, ["127.0.0.1"], 0,
                                     utc_now())
        broker.prepare()
        broker.start()
        try:
            assert broker.tls is not None
            settings = Settings(database_url=url, mqtt_enabled=False,
                                fleet_dir=Path(tmp) / "fleet", fleet_mqtts_host="127.0.0.1",
                                fleet_mqtts_port=broker.tls.port, mqtt_host=broker.host,
                                mqtt_port=broker.port,
                                broker_admin_username=broker.admin_user,
                                broker_admin_password=broker.admin_password)
            backend = make_url(url).get_backend_name()
            with serving(create_app(settings)) as base:
                for name, token in (("unscoped technician", tech), ("technician, north", north)):
                    lat, slowest = measure_page(base, token)
                    print(f"fleet page, {STORES} stores x {NODES_PER_STORE} nodes, {name} "
                          f"({backend}): p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms "
                          f"(target <= {PAGE_TARGET_MS:.0f} ms), max {max(lat):.1f} ms over "
                          f"{len(lat)} filtered pages; slowest filter (median): {slowest}",
                          flush=True)
                lat = measure_enrolment(base, tech)
                print(f"enrolment of {ENROLMENTS} nodes in a row ({backend}, real broker): "
                      f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms "
                      f"(target <= {ENROL_TARGET_MS:.0f} ms), max {max(lat):.1f} ms")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
