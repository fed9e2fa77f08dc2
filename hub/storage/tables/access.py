"""Tables of people, policy versions and the approvals desk, on the hub's one ``metadata``.

Migration ``0003`` creates exactly these (and the columns it adds to ``stores``, ``refunds`` and
``api_tokens`` in ``hub.storage.tables.core``).

Rules:
- ``users.password_hash`` and ``staff_pins.pin_hash`` hold scrypt hashes (``hub.access.passwords``),
  never a secret; ``sessions`` are keyed by the SHA-256 of the session id, so a copy of the
  table opens no browser session;
- ``policies`` is append-only: one row per published version, the highest is active;
- ``refund_rules`` indexes the rule ids a decision fired, so the desk filters the queue by reason
  with an index instead of searching JSON;
- ``login_failures`` (migration ``0006``) holds the sign-in throttle's counts: one row per
  (kind ``user`` | ``client``, subject: a case-folded username or a client address), see
  ``hub.access.throttle``; never a password.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from hub.storage.tables.core import ID, NODE, metadata
from hub.storage.types import Amount, UtcDateTime

users = Table(
    "users",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(30), nullable=False),
    Column("region", String(40)),
    Column("city", String(60)),
    Column("store_id", NODE),
    Column("active", Boolean, nullable=False),
    Column("bulk_limit", Amount),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("password_changed_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_sessions_username", "username"),
    Index("ix_sessions_expires_at", "expires_at"),
)

staff_pins = Table(
    "staff_pins",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("staff_id", ID, primary_key=True),
    Column("pin_hash", String(200), nullable=False),
    Column("role", String(30), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("yaml", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("published_by", String(100), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Column("reason", Text),
)

refund_rules = Table(
    "refund_rules",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("refund_id", ID, primary_key=True),
    Column("rule_id", String(60), primary_key=True),
    Index("ix_refund_rules_rule", "rule_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("kind", String(10), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failed_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
)
