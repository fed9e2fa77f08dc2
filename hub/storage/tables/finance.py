"""Finance tables, on the hub's one ``metadata`` (migration ``0012`` creates them).

Rules:
- ``fx_rates``: ECB euro reference rates imported (``acorn-hub fx import``) or fetched (the
  scheduled fetch): ``1 EUR = per_euro currency`` on ``day``, exact decimal text as ECB wrote it,
  with the ``source`` sentence a decision records; one row per currency and day, a newer import
  of the same day replaces it. The history bundled with the hub is read from its package, not
  stored here (``hub.finance.fx_rates``).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, String, Table

from hub.storage.tables.core import metadata
from hub.storage.types import UtcDateTime

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("currency", String(3), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("per_euro", String(30), nullable=False),
    Column("source", String(300), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)
