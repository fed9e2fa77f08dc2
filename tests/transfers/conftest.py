"""Transfer tests: the end-to-end system (broker, hub, two stores) and a hub database of their
own per test on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.e2e.conftest import system  # noqa: F401  (broker, hub and two stores)
from tests.edge.conftest import agent, settings  # noqa: F401  (a store agent, offline)
from tests.hub.conftest import db_url, engine  # noqa: F401  (shared fixtures)
from tests.people.conftest import desk  # noqa: F401  (a hub, users who sign in for real)
