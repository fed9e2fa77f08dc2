"""Inventory tests: a hub of their own per test on SQLite and PostgreSQL (the people tests'
fixtures), users who sign in for real."""

from __future__ import annotations

from tests.hub.conftest import db_url, engine  # noqa: F401  (shared fixtures)
from tests.people.conftest import desk  # noqa: F401
