"""Fixtures for staff sign-in, the store config and the access rule: real SQLite, real uvicorn.

PIN hashes are made by the hub's own function (``hub.access.passwords.hash_pin``), so these tests
prove the edge checks exactly what the hub produces. Hashing costs ~50 ms, so the few hashes are
made once per session.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from edge_agent.app import AgentServer, create_app
from edge_agent.settings import EdgeSettings
from edge_agent.staff import store_config
from hub.access.passwords import hash_pin
from protocol import CONFIG_NODE_ID, Money, StaffPin, StoreConfig, encode, make_envelope, utc_now
from tests.edge.conftest import NODE, STORE, Running, make_settings

__all__ = ["NODE", "STORE"]

POS_KEY = "pos-key-0123456789abcdef-till-3"
STAFF = {"ann": ("store_staff", "4711"), "max": ("store_manager", "8080")}
LIMIT = Money.of("50.00", "EUR")


@cache
def pin_hash(pin: str) -> str:
    """The hub's hash of ``pin`` (made once per PIN and session)."""
    return hash_pin(pin)


def staff_pins(staff: dict[str, tuple[str, str]] | None = None) -> list[StaffPin]:
    """StaffPin entries for ``staff`` (id -> (role, PIN)), hashed by the hub's function."""
    return [StaffPin(staff_id=sid, role=role, pin_hash=pin_hash(pin))
            for sid, (role, pin) in (STAFF if staff is None else staff).items()]


def config_payload(version: int, staff: list[StaffPin] | None = None,
                   limit: Money | None = LIMIT, store: str = STORE,
                   node: str = CONFIG_NODE_ID, seq: int | None = None) -> bytes:
    """A ``store.config`` envelope as the hub publishes it (node ``hub``, seq == version)."""
    body = StoreConfig(version=version, issued_at=utc_now(), offline_refund_limit=limit,
                       staff=staff_pins() if staff is None else staff, policy_version=3)
    return encode(make_envelope(store, node, version if seq is None else seq, body))


def apply_config(run: Running, version: int = 1, **kwargs: Any) -> str:
    """Apply a config straight through the agent's receiver (what the link does)."""
    result = store_config.receive(run.agent.store, STORE, config_payload(version, **kwargs),
                                  utc_now())
    return result.result


def auth_settings(tmp_path: Path, **overrides: Any) -> EdgeSettings:
    """Settings of a Berlin store with one POS key, plus ``overrides``."""
    values: dict[str, Any] = {"currency": "EUR", "pos_api_keys": POS_KEY}
    return make_settings(tmp_path, **(values | overrides))


def lan_address() -> str | None:
    """This machine's address on its LAN (not loopback), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@contextmanager
def serving_on(app: FastAPI, host: str, timeout: float = 10.0) -> Iterator[int]:
    """Run ``app`` with a real uvicorn bound to ``host``; yield its port."""
    server = AgentServer(uvicorn.Config(app, host=host, port=0, log_config=None,
                                        access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout)


@contextmanager
def running_on(settings: EdgeSettings, host: str) -> Iterator[tuple[Running, str]]:
    """An agent (no MQTT) served on ``host``; yields it and the URL to reach it there."""
    app = create_app(settings, connect=False)
    with serving_on(app, host) as port:
        url = f"http://{lan_address() if host == '0.0.0.0' else host}:{port}"
        with httpx.Client(base_url=url, timeout=10) as http:
            yield Running(http, app.state.agent, url), url


def sign_in(http: httpx.Client, staff_id: str = "ann", pin: str | None = None) -> httpx.Response:
    """POST /api/session with the staff member's PIN (from ``STAFF`` unless given)."""
    return http.post("/api/session", json={"staff_id": staff_id,
                                           "pin": pin or STAFF[staff_id][1]})


@pytest.fixture
def settings(tmp_path: Path) -> EdgeSettings:
    """Settings of an agent with no broker and one POS key."""
    return auth_settings(tmp_path)


@pytest.fixture
def agent(settings: EdgeSettings) -> Iterator[Running]:
    """An agent without an MQTT link (its hub link is down), on loopback."""
    from tests.edge.conftest import running_agent

    with running_agent(settings, connect=False) as run:
        yield run


@pytest.fixture
def enrolled(agent: Running) -> Running:
    """The agent with a config naming ann (staff) and max (manager), limit 50 EUR."""
    assert apply_config(agent) == "applied"
    return agent
