"""Picking fixtures: the edge's agent (real agent, real SQLite), the hub's database (SQLite and
PostgreSQL) and the SP-API simulator's."""

from tests.amazon.conftest import amazon_settings, lite, make_sim  # noqa: F401 - fixtures
from tests.edge.conftest import agent, settings  # noqa: F401 - fixtures
from tests.hub.conftest import db_url, engine  # noqa: F401 - fixtures
from tests.people.conftest import desk  # noqa: F401 - fixtures
