"""Hub test fixtures: a database per test on SQLite AND PostgreSQL, a running hub."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from hub.app import create_app
from hub.settings import Settings
from hub.storage.engine import make_engine
from hub.web.api.deps import HubContext
from tests.support.broker import TestBroker
from tests.support.databases import migrated, pg_database
from tests.support.server import http_client, serving

_MIGRATING = frozenset({"engine", "api_hub", "mqtt_hub"})  # fixtures that migrate ``db_url``


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a PostgreSQL database made and dropped."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
    else:  # a test that migrates it through a fixture gets it migrated at once (a clone)
        yield from pg_database(schema=not _MIGRATING.isdisjoint(request.fixturenames))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database's engine."""
    migrated(db_url)
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def hub_settings(db_url: str, broker: TestBroker | None = None, **extra: object) -> Settings:
    """Settings for a hub on ``db_url``, connected to ``broker`` when one is given."""
    values: dict[str, object] = {"database_url": db_url, "mqtt_enabled": broker is not None,
                                 "ingest_batch_ms": 5, "command_poll_seconds": 0.2}
    if broker is not None:
        creds = broker.hub_creds(client_id=f"acorn-hub-{uuid.uuid4().hex[:6]}")
        values |= {"mqtt_host": creds.host, "mqtt_port": creds.port,
                   "mqtt_username": creds.username, "mqtt_password": creds.password,
                   "mqtt_client_id": creds.client_id}
    return Settings(**(values | extra))  # type: ignore[arg-type]


@dataclass
class RunningHub:
    """A hub app running in-process (lifespan started) and its parts."""

    client: httpx.Client
    context: HubContext

    @property
    def engine(self) -> Engine:
        return self.context.engine


def start_hub(settings: Settings) -> Iterator[RunningHub]:
    """Run ``create_app(settings)`` through its lifespan for one test."""
    migrated(settings.database_url)
    app = create_app(settings)
    with serving(app) as url, http_client(url, timeout=10) as client:
        yield RunningHub(client, app.state.hub)


@pytest.fixture
def api_hub(db_url: str) -> Iterator[RunningHub]:
    """A hub serving only its API (MQTT disabled)."""
    yield from start_hub(hub_settings(db_url))


@pytest.fixture
def mqtt_hub(db_url: str, broker: TestBroker) -> Iterator[RunningHub]:
    """A hub connected to the test broker, ingesting."""
    yield from start_hub(hub_settings(db_url, broker))
