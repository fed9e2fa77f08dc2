"""People tests: a hub per test (or module) on both databases, users who sign in for real."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

import httpx
import pytest
from sqlalchemy import Engine

from hub.access import passwords, users
from hub.access.permissions import Role, Scope
from hub.access.users import Actor
from hub.app import create_app
from hub.fleet import stores
from hub.settings import Settings
from hub.storage.engine import make_engine
from tests.hub.conftest import (  # noqa: F401  (fixtures shared with the hub tests)
    api_hub,
    db_url,
    engine,
    hub_settings,
    mqtt_hub,
)
from tests.support.databases import migrated
from tests.support.server import http_client, serving

PASSWORD = "a long enough secret"
SETUP = Actor("test-setup", "operator")
# Users made by ``add_user`` are hashed at a low scrypt cost: a hash carries its cost and sign-in
# verifies what is stored, so they sign in through the same code at a thousandth of the CPU
# (OWASP's cost is 0.25 s a hash here; a page test makes five users and signs three in).
# ``tests/people/test_passwords.py`` holds the production cost to OWASP's; users made through the
# API or the CLI in a test get it as in production.
FIXTURE_COST = passwords.Cost(2**10, 8, 1)


@dataclass
class DeskHub:
    """A running hub (API only) and the users signed in to it."""

    url: str
    engine: Engine
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Client:
        """A browser-like client with the user's session cookie and CSRF header."""
        client = http_client(self.url, timeout=10)
        answer = client.post("/api/session", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf"]
        self.clients[username] = client
        return client

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def add_user(db: Engine, username: str, role: Role, scope: Scope = Scope()) -> None:
    """A user with the test password (hashed at ``FIXTURE_COST``)."""
    with patch.object(passwords, "PASSWORD_COST", FIXTURE_COST):
        users.add_user(db, username, username.title(), PASSWORD, role, scope, SETUP)


def describe_stores(db: Engine) -> None:
    """s1, s2 in region north (Oslo, Bergen), s3 in region south; s1 may refund 150 USD offline."""
    stores.set_store(
        db, "s1", SETUP, region="north", city="oslo", limit=Decimal("150.00"), currency="USD"
    )
    stores.set_store(db, "s2", SETUP, region="north", city="bergen")
    stores.set_store(db, "s3", SETUP, region="south", city="rome")


def running(url: str, tmp: Path, settings: Settings | None = None) -> Iterator[DeskHub]:
    """Migrate ``url``, serve the app on it (API only), yield the running hub."""
    migrated(url)
    app = create_app(settings or hub_settings(url))
    engine_ = make_engine(url)
    try:
        with serving(app) as base:
            hub = DeskHub(base, engine_)
            try:
                yield hub
            finally:
                hub.close()
    finally:
        engine_.dispose()


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[DeskHub]:  # noqa: F811
    """A hub of its own on SQLite and on PostgreSQL, with the three stores described."""
    for hub in running(db_url, tmp_path):
        describe_stores(hub.engine)
        yield hub
