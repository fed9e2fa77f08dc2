"""Benchmark of the approvals desk (issue 5): a filtered page of a 10,000-refund queue, p95.

Seeds 10,000 refunds that all wait for approval through the real ingest (so the policy decides
them and fills the rule index), serves the real app with uvicorn on loopback, and times
``GET /api/desk/queue`` pages with a bearer token, rotating the filters (level, store,
marketplace, reason, age, manual review, combinations) for an HQ token and a regional one.
Prints figures beside the target (p95 ≤ 200 ms); asserts nothing.

Run: ``.venv/bin/python -m bench desk`` (SQLite) or ``ACORN_BENCH_DB=postgresql+psycopg://…``.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.access.users import Actor
from hub.app import create_app
from hub.fleet import stores
from hub.settings import Settings
from hub.storage.engine import make_engine
from hub.storage.migrations import upgrade
from protocol import Channel
from tests.desk.seed import Ask, events, ingest
from tests.support.server import serving

REFUNDS = 10_000
REQUESTS = 300
TARGET_MS = 200.0
STORES = [f"st{n:02d}" for n in range(40)]
REGIONS = ["north", "south", "east", "west"]
MARKETS = [None, "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1F83G8C2ARO7P"]
FILTERS: list[dict[str, str | int]] = [
    {},
    {"level": 1},
    {"level": 2},
    {"store": "st07"},
    {"marketplace": "ATVPDKIKX0DER"},
    {"reason": "risk.item_mismatch"},
    {"reason": "tier.finance"},
    {"min_age_hours": 24},
    {"max_age_hours": 6},
    {"review": "true"},
    {"level": 1, "store": "st03"},
    {"level": 2, "marketplace": "none", "min_age_hours": 12},
    {"offset": 4000},
]


def asks(count: int, seed: int = 11) -> list[Ask]:
    """``count`` refund requests that all need a person (50 USD and up, or a mismatch)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        market = rng.choice(MARKETS)
        amount = Decimal(rng.choice([rng.randint(5000, 50000), rng.randint(50001, 200000)]))
        out.append(
            Ask(
                rng.choice(STORES),
                f"{n:05d}",
                f"{amount / 100:.2f}",
                hours_ago=rng.uniform(0, 72),
                mismatch=rng.random() < 0.08,
                channel=Channel.AMAZON_MFN if market else Channel.POS,
                marketplace=market,
                order=f"O-{rng.randint(1, 4000)}",
            )
        )
    return out


def pct(values: list[float], q: int) -> float:
    """The q-th percentile."""
    return statistics.quantiles(values, n=100)[q - 1]


def seed(url: str) -> tuple[str, str, float]:
    """Migrate, describe stores, seed the refunds; return an HQ and a regional token."""
    upgrade(url)
    engine = make_engine(url)
    actor = Actor("bench", "operator")
    try:
        for n, store in enumerate(STORES):
            stores.set_store(engine, store, actor, region=REGIONS[n % 4], city=f"c{n % 9}")
        started = time.perf_counter()
        ingest(engine, events(asks(REFUNDS)))
        seconds = time.perf_counter() - started
        if engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        hq = create_token(engine, "bench-hq", Role.FINANCE)
        regional = create_token(
            engine, "bench-north", Role.REGIONAL_MANAGER, scope=Scope(region="north")
        )
    finally:
        engine.dispose()
    return hq, regional, seconds


def measure(base: str, token: str) -> list[float]:
    """Latencies (ms) of REQUESTS filtered pages of 50."""
    latencies = []
    with httpx.Client(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        client.get("/api/desk/queue")  # warm up
        for n in range(REQUESTS):
            params = {"limit": 50, **FILTERS[n % len(FILTERS)]}
            started = time.perf_counter()
            answer = client.get("/api/desk/queue", params=params)
            latencies.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
    return latencies


def main() -> None:
    """Print the desk's p95 for a filtered page over 10,000 waiting refunds."""
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("ACORN_BENCH_DB") or f"sqlite:///{Path(tmp) / 'desk.db'}"
        hq, regional, seconds = seed(url)
        print(
            f"seeded {REFUNDS} waiting refunds through the ingest in {seconds:.1f} s "
            f"({make_url(url).get_backend_name()})"
        )
        app = create_app(Settings(database_url=url, mqtt_enabled=False))
        with serving(app) as base:
            for name, token in (("HQ (all stores)", hq), ("regional (scoped)", regional)):
                lat = measure(base, token)
                print(
                    f"desk queue page, {name}: p50 {pct(lat, 50):.1f} ms, "
                    f"p95 {pct(lat, 95):.1f} ms (target <= {TARGET_MS:.0f} ms), "
                    f"max {max(lat):.1f} ms over {len(lat)} filtered pages"
                )


if __name__ == "__main__":
    main()
