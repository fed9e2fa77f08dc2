"""The table of the pairing-code flow (migration ``0018``): a node with no identity asks for a
code, a technician enters it on the desk (``hub.fleet.pairing``).

Rules:
- ``pairing_requests`` keeps the SHA-256 of the code (what the technician types) and of the
  poll token (what the node holds), never either itself;
- ``state`` moves ``pending`` → ``approving`` → ``paired`` (or back to ``pending`` when the
  approval failed); ``answer`` is the enrolment the node fetches with its token (certificate,
  CA, store settings: nothing secret);
- a row is only usable before ``expires_at``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from hub.storage.tables.core import NODE, metadata
from hub.storage.types import UtcDateTime

pairing_requests = Table(
    "pairing_requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csr", Text, nullable=False),
    Column("serial", String(200), nullable=False),
    Column("client", String(200)),
    Column("state", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("store_id", NODE),
    Column("node_id", NODE),
    Column("approved_by", String(200)),
    Column("approved_role", String(30)),
    Column("approved_at", UtcDateTime),
    Column("answer", Text),
    Column("fetched_at", UtcDateTime),
    Index("ix_pairing_requests_code_hash", "code_hash"),
    Index("ix_pairing_requests_client", "client", "created_at"),
)
