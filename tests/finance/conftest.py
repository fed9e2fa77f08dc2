"""Fixtures of the finance tests: the hub's database fixtures (SQLite and PostgreSQL), a running
API hub and the desk hub."""

from __future__ import annotations

from tests.hub.conftest import api_hub, db_url, engine  # noqa: F401 - fixtures
from tests.people.conftest import desk  # noqa: F401 - fixtures
