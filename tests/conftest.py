"""Shared fixtures: a private broker per test; and, for every test folder, the one leak guard
(``tests.support.leaks``: no thread or child process outlives its test)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import TestBroker, broker_fixture

pytest_plugins = ["tests.support.leaks"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TestBroker]:
    """A real mosquitto with dynamic security on a free loopback port."""
    yield from broker_fixture(tmp_path)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Drop the PostgreSQL test databases a killed run left (``tests.support.db_sweep``): once
    per run, in the process that runs the session (not again in each xdist worker)."""
    if not hasattr(session.config, "workerinput"):
        from tests.support.db_sweep import sweep

        sweep()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A browser test runs on one hub database: PostgreSQL, the production one, when it is
    parametrized on both. The page is what it tests; what is under the page (the API on SQLite
    and on PostgreSQL) the API tests check on both. A browser test parametrized on SQLite only
    keeps it. Deselected twins are reported ("N deselected")."""
    ids = {item.nodeid for item in items}
    dropped = [item for item in items if item.get_closest_marker("browser") is not None
               and _db_of(item) == "sqlite" and _pg_twin(item) in ids]
    if dropped:
        gone = {id(item) for item in dropped}
        items[:] = [item for item in items if id(item) not in gone]
        config.hook.pytest_deselected(items=dropped)


def _db_of(item: pytest.Item) -> object:
    spec = getattr(item, "callspec", None)
    return spec.params.get("db_url") if spec is not None else None


def _pg_twin(item: pytest.Item) -> str:
    """The node id of the same test on PostgreSQL (``db_url``'s id "sqlite" -> "pg")."""
    spec = item.callspec  # type: ignore[attr-defined]
    twin = "-".join("pg" if part == "sqlite" else part for part in spec.id.split("-"))
    return item.nodeid[:-len(spec.id) - 2] + f"[{twin}]"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Close the shared Chromium before a test that is not a browser test: Playwright's sync API
    leaves its event loop running in this thread, where ``asyncio.run`` and zeroconf's sync API
    then refuse to work. Browser tests that follow one another share it."""
    browser = sys.modules.get("tests.support.browser")
    if browser is not None and item.get_closest_marker("browser") is None:
        browser.close_shared()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the shared Chromium; drop the test databases still queued and the migrated
    templates (each only if this process made one)."""
    browser = sys.modules.get("tests.support.browser")
    if browser is not None:
        browser.close_shared()
    databases = sys.modules.get("tests.support.databases")
    if databases is not None:
        databases.finish()
