"""Desk tests reuse the people fixtures: a hub on both databases with stores s1, s2, s3."""

from __future__ import annotations

from tests.hub.conftest import (  # noqa: F401  (fixtures)
    api_hub,
    db_url,
    engine,
)
from tests.people.conftest import desk  # noqa: F401  (fixture)
