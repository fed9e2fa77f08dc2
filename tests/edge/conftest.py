"""Edge fixtures: settings in a temp dir, the app with or without its MQTT link, a hub stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.agent import Agent
from edge_agent.app import create_app
from edge_agent.settings import EdgeSettings
from tests.edge.hub_standin import HubStandIn
from tests.edge.server import serving
from tests.support.broker import MqttCreds, TestBroker
from tests.support.server import http_client

STORE, NODE = "store-a", "counter-1"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it is truthy (returning its value) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def make_settings(tmp_path: Path, creds: MqttCreds | None = None, **overrides: Any) -> EdgeSettings:
    """Settings for the test node in ``tmp_path`` (broker credentials when given)."""
    values: dict[str, Any] = {
        "store_id": STORE, "node_id": NODE, "store_name": "Store A", "data_dir": tmp_path / "edge",
        "store_timezone": "Europe/Berlin", "resend_after_seconds": 5.0,
        "status_interval_seconds": 30.0, "http_port": 0,
    }
    if creds is not None:
        values.update(mqtt_host=creds.host, mqtt_port=creds.port, mqtt_username=creds.username,
                      mqtt_password=creds.password)
    values.update(overrides)
    return EdgeSettings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> EdgeSettings:
    """Settings of an agent with no broker."""
    return make_settings(tmp_path)


@dataclass
class Running:
    """A running agent: its HTTP client, the agent object (store, link) and its base URL."""

    http: httpx.Client
    agent: Agent
    url: str

    def rows(self, table: str) -> int:
        """Row count of one table of the agent's database."""
        with self.agent.store.read() as tx:
            return int(tx.scalar(f"SELECT count(*) FROM {table}"))


@contextmanager
def running_agent(settings: EdgeSettings, connect: bool = True) -> Iterator[Running]:
    """Start an agent (real uvicorn, real SQLite, MQTT link if ``connect``) for one test."""
    app = create_app(settings, connect=connect)
    with serving(app) as url, http_client(url, timeout=10) as http:
        yield Running(http, app.state.agent, url)


@pytest.fixture
def agent(settings: EdgeSettings) -> Iterator[Running]:
    """An agent without an MQTT link (events wait in its outbox)."""
    with running_agent(settings, connect=False) as run:
        yield run


@pytest.fixture
def node_creds(broker: TestBroker) -> MqttCreds:
    """The test node's own broker credentials."""
    return broker.node_creds(STORE, NODE)


@pytest.fixture
def hub(broker: TestBroker) -> Iterator[HubStandIn]:
    """A hub stand-in acking the test node's events."""
    stand_in = HubStandIn(broker.hub_creds(), STORE, NODE)
    try:
        yield stand_in
    finally:
        stand_in.close()
