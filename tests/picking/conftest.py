"""Picking fixtures: the edge's agent (real agent, real SQLite), the hub's database (SQLite and
PostgreSQL) and the SP-API simulator's."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.amazon.conftest import amazon_settings, lite, make_sim  # noqa: F401 - fixtures
from tests.edge.conftest import (  # noqa: F401 - fixtures
    Running,
    agent,
    make_settings,
    running_agent,
    settings,
)
from tests.hub.conftest import db_url, engine  # noqa: F401 - fixtures
from tests.people.conftest import desk  # noqa: F401 - fixtures


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Running]:
    """Store B's agent (real agent, its own SQLite), no broker."""
    store_b = make_settings(tmp_path / "b", store_id="store-b", store_name="Store B")
    with running_agent(store_b, connect=False) as run:
        yield run
