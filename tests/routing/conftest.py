"""Fixtures of the routing tests: the hub's database fixtures (SQLite and PostgreSQL) and the
SP-API simulator's."""

from __future__ import annotations

from tests.amazon.conftest import amazon_settings, make_sim  # noqa: F401 - fixtures
from tests.hub.conftest import db_url, engine  # noqa: F401 - fixtures
from tests.people.conftest import desk  # noqa: F401 - fixtures
