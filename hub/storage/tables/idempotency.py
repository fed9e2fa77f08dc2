"""The API's idempotency keys, on the hub's one ``metadata`` (migration ``0009`` creates them).

Rules:
- one row per (caller ``scope``, ``key``): the request's ``fingerprint`` (method, path, body
  hash) and the first answer (``status``, ``body``), written in the same transaction as the write
  it answers (``hub.web.api.idempotency``);
- rows older than the documented lifetime (24 h) are treated as absent and pruned by later writes.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table

from hub.storage.tables.core import metadata
from hub.storage.types import UtcDateTime

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(600), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
