"""Tables of device enrolment (migration ``0014``, which also adds the store settings a node
receives at enrolment to ``stores`` in ``hub.storage.tables.core``) and of node certificates
(migration ``0015``).

Rules:
- ``enrolment_codes`` is keyed by the SHA-256 of the code: the code itself is never stored, so a
  copy of the table enrols nothing; a row is used once (``used_at``) and only before
  ``expires_at``; ``node_id`` is the node the code was made for, or empty until it is used;
- ``enrolment_failures`` holds the guessing throttle's counts: one row per subject (a client
  address, or ``*`` for every client together), see ``hub.fleet.enrolment``;
- ``node_certificates`` holds one row per node that has had a certificate or was revoked: the
  serial (lower-case hex) and expiry of its CURRENT certificate (the only one the hub renews: an
  older one, e.g. after a rotation, is refused), the public key it certifies (PEM, migration
  ``0026``: the hub verifies the node's signed stock snapshots with it; renewal keeps the key, a
  new enrolment replaces it), and once revoked who, when and why. A revoked
  row is never un-revoked: the node id stays retired (``hub.fleet.lifecycle``);
- ``replayed_events`` (migration ``0017``) holds one row per dead-lettered event an admin
  applied: its dead letter (once: UNIQUE), the node, the hub's own sequence of that node's
  replays (``replay_seq`` 1, 2, ...; apart from the node's seq, which its wiped database reuses),
  the seq and message id the node gave it (a message id is replayed once: UNIQUE), who and when
  (``hub.sync.ingest.replay``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from hub.storage.tables.core import NODE, metadata
from hub.storage.types import UtcDateTime

enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE),
    Column("created_by", String(200), nullable=False),
    Column("created_role", String(30), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("used_from", String(200)),
    Column("serial", String(200)),
    Index("ix_enrolment_codes_store_id", "store_id"),
)

enrolment_failures = Table(
    "enrolment_failures",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", UtcDateTime, nullable=False),
)

node_certificates = Table(
    "node_certificates",
    metadata,
    Column("store_id", NODE, primary_key=True),
    Column("node_id", NODE, primary_key=True),
    Column("serial", String(40)),
    Column("not_after", UtcDateTime),
    Column("issued_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("revoked_by", String(200)),
    Column("revoked_role", String(30)),
    Column("revoked_reason", String(500)),
    Column("public_key", String(500)),
)

replayed_events = Table(
    "replayed_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("dead_letter_id", BigInteger, nullable=False),
    Column("store_id", NODE, nullable=False),
    Column("node_id", NODE, nullable=False),
    Column("replay_seq", BigInteger, nullable=False),
    Column("original_seq", BigInteger, nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("replayed_at", UtcDateTime, nullable=False),
    Column("replayed_by", String(200), nullable=False),
    UniqueConstraint("dead_letter_id", name="uq_replayed_events_dead_letter_id"),
    UniqueConstraint("store_id", "node_id", "replay_seq", name="uq_replayed_events_replay_seq"),
    UniqueConstraint("store_id", "node_id", "message_id", name="uq_replayed_events_message"),
)
