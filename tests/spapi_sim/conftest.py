"""Fixtures: real simulators on free loopback ports, each recording what it answered.

Every SP-API response any test receives is checked against Amazon's official model after the
test (when the models are available), so no test can pass on a response Amazon's clients would
not understand.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from sp_api.auth import access_token_client

from spapi_sim import SimulatorSettings, create_app
from spapi_sim.accounts import SellerAccount
from spapi_sim.simulator import Simulator
from tests.spapi_sim import official
from tests.support.http_calls import http_post

ANCHOR = datetime(2026, 3, 1, tzinfo=UTC)
FAST = SimulatorSettings(
    seed=7, accounts=3, rate_factor=Decimal(1000), anchor=ANCHOR, history_days=90,
    orders_per_day=2, job_step_seconds=0.2, job_step_polls=1, refund_delay_seconds=0,
    settlement_delay_seconds=0, lag_seconds=0)


@dataclass
class Recorder:
    """ASGI wrapper keeping (method, path, status, body) of every response."""

    app: Any
    exchanges: list[tuple[str, str, int, bytes]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, chunks = [0], []

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, recording_send)
        self.exchanges.append((scope["method"], scope["path"], status[0], b"".join(chunks)))


@dataclass
class Running:
    """A simulator being served, with what a test needs to talk to it."""

    base_url: str
    simulator: Simulator
    recorder: Recorder

    @property
    def accounts(self) -> list[SellerAccount]:
        """Seeded accounts in seed order."""
        return list(self.simulator.accounts.values())

    def token(self, account: SellerAccount) -> str:
        """A fresh access token for `account`."""
        form = {"grant_type": "refresh_token", "client_id": account.client_id,
                "client_secret": account.client_secret, "refresh_token": account.refresh_token}
        response = http_post(f"{self.base_url}/auth/o2/token", data=form)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client(self, account: SellerAccount) -> httpx.Client:
        """An httpx client sending `account`'s access token."""
        return httpx.Client(base_url=self.base_url,
                            headers={"x-amz-access-token": self.token(account)})


RECORDERS: list[Recorder] = []
SKIPPED_PREFIXES = ("/sandbox/", "/_sim/", "/documents/", "/auth/")


def serve(settings: SimulatorSettings, **app_kwargs: Any) -> Generator[Running, None, None]:
    """Run a simulator on a free loopback port until the generator is closed."""
    app = create_app(settings, **app_kwargs)
    recorder = Recorder(app)
    RECORDERS.append(recorder)
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP; without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(recorder, log_level="warning", lifespan="off", ws="none",
                            http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    try:
        yield Running(f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.simulator, recorder)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive(), "the simulator did not stop"


@pytest.fixture(scope="session")
def sim() -> Iterator[Running]:
    """A shared fast simulator: seed 7, three accounts, rates x1000, instant lifecycles."""
    yield from serve(FAST)


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Running]]:
    """Start private simulators: `make_sim(**settings_overrides)`; stopped after the test."""
    running: list[Generator[Running, None, None]] = []

    def start(**overrides: Any) -> Running:
        clock = overrides.pop("clock", None)
        generator = serve(replace(FAST, **overrides), **({"clock": clock} if clock else {}))
        running.append(generator)
        return next(generator)

    yield start
    for generator in running:
        generator.close()


@pytest.fixture(autouse=True)
def _fresh_sp_api_token_cache() -> None:
    """python-amazon-sp-api caches access tokens process-wide; start each test clean."""
    access_token_client.cache.clear()


@pytest.fixture(autouse=True)
def _responses_match_official_models() -> Iterator[None]:
    """After each test: every SP-API response it received conforms to the official model."""
    marks = [len(r.exchanges) for r in RECORDERS]
    yield
    if not official.MODELS_DIR.is_dir():
        return
    problems = []
    for index, recorder in enumerate(RECORDERS):
        start = marks[index] if index < len(marks) else 0
        for method, path, status, body in recorder.exchanges[start:]:
            operation = official.find(method, path)
            if path.startswith(SKIPPED_PREFIXES) or operation is None:
                continue
            problems += official.schema_errors(operation, status, body)
    assert not problems, "responses not matching the official models:\n" + "\n".join(problems)
