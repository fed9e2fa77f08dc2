"""Fixtures: a real SP-API simulator on a free loopback port, a hub database, seller accounts.

The simulator runs in a thread under uvicorn with a high rate factor and instant lifecycles;
``make_sim`` starts private ones (with overrides, or with an ASGI wrapper that tampers with the
documents of one seller, for the bad-data tests). The hub database comes from the hub's own
``db_url`` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sp_api.auth import access_token_client
from sqlalchemy import Engine

from hub.amazon.settings import AmazonSettings
from hub.storage.engine import make_engine
from spapi_sim import SimulatorSettings, create_app
from spapi_sim.accounts import SellerAccount
from spapi_sim.simulator import Simulator
from tests.hub.conftest import db_url, engine  # noqa: F401 - fixtures
from tests.support.databases import migrated
from tests.support.http_calls import http_get

FACTOR = Decimal(1000)
SIM = SimulatorSettings(
    seed=11,
    accounts=3,
    rate_factor=FACTOR,
    history_days=40,
    orders_per_day=2,
    job_step_seconds=0.2,
    job_step_polls=1,
    refund_delay_seconds=0,
    settlement_delay_seconds=0,
    lag_seconds=0,
    gzip_min_bytes=10**9,
)
Wrap = Callable[[Any, Simulator], Any]


@dataclass
class Sim:
    """A running simulator."""

    url: str
    simulator: Simulator

    @property
    def sellers(self) -> list[SellerAccount]:
        """Seeded sellers in seed order (0: NA, 1: EU, 2: FE)."""
        return list(self.simulator.accounts.values())

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests and 429s per ``<seller>/<operation>``."""
        answer: dict[str, dict[str, int]] = http_get(f"{self.url}/_sim/stats").json()["operations"]
        return answer

    def requests(self, seller: SellerAccount, operation: str) -> int:
        """How many ``operation`` requests ``seller`` made."""
        return self.stats().get(f"{seller.seller_id}/{operation}", {}).get("requests", 0)


def serve(settings: SimulatorSettings, wrap: Wrap | None = None) -> Generator[Sim, None, None]:
    """Serve a simulator on a free loopback port until the generator is closed."""
    app = create_app(settings)
    simulator = app.state.simulator
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        wrap(app, simulator) if wrap else app,
        log_level="warning",
        lifespan="off",
        ws="none",
        http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="test-spapi-sim"
    )
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    try:
        yield Sim(f"http://127.0.0.1:{sock.getsockname()[1]}", simulator)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Sim]]:
    """Start private simulators: ``make_sim(wrap=None, **setting_overrides)``."""
    running: list[Generator[Sim, None, None]] = []

    def start(wrap: Wrap | None = None, **overrides: Any) -> Sim:
        generator = serve(replace(SIM, **overrides), wrap)
        running.append(generator)
        return next(generator)

    yield start
    for generator in running:
        generator.close()


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    """A fresh fast simulator for one test (its state changes as refunds are sent)."""
    return make_sim()


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> None:
    """python-amazon-sp-api caches access tokens process-wide: start each test clean."""
    access_token_client.cache.clear()


@pytest.fixture
def amazon_settings(tmp_path: Path) -> AmazonSettings:
    """Hub-side settings matching the simulator: same rate factor, fast polling."""
    return AmazonSettings(
        secrets_file=tmp_path / "amazon-secrets.yaml",
        rate_factor=float(FACTOR),
        backfill_days=30,
        report_poll_seconds=0.02,
        posted_lag_seconds=0,
        feed_lease_seconds=60,
        report_timeout_seconds=30,
    )


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for tests where the backend does not matter."""
    url = f"sqlite:///{tmp_path / 'hub-lite.db'}"
    migrated(url)
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
