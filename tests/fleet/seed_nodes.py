"""Nodes as the hub stores them: a ``nodes`` row as ingest leaves it after the node's last
``node.status``, and a ``node_certificates`` row as enrolment (and revocation) leave it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from hub.storage.tables.core import nodes
from hub.storage.tables.fleet import node_certificates
from protocol import NodeStatus, utc_now


def seed_node(engine: Engine, store: str, node: str, *, online: bool,
              last_seen: datetime | None, oldest_unsent: datetime | None = None,
              pending: int = 0, version: str = "1.4.0", config_version: int | None = 3,
              printer: str | None = "ok", scanner: str | None = "connected",
              **selftest: Any) -> None:
    """A node row as ingest leaves it after the node's last status (``selftest``: the
    self-test's NodeStatus fields)."""
    status = NodeStatus(state="online" if online else "offline", version=version,
                        outbox_pending=pending, oldest_unsent_at=oldest_unsent,
                        config_version=config_version, printer=printer, scanner=scanner,
                        **selftest)
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(insert(nodes).values(
            store_id=store, node_id=node, contiguous_seq=0, highest_seq=0, command_seq=0,
            online=online, status=status.model_dump(mode="json", exclude={"kind"}),
            status_at=last_seen, last_seen_at=last_seen, created_at=now))


def seed_cert(engine: Engine, store: str, node: str, not_after: datetime,
              revoked: bool = False) -> None:
    """A node's current certificate (and its revocation) as enrolment and revocation store it."""
    with engine.begin() as conn:
        conn.execute(insert(node_certificates).values(
            store_id=store, node_id=node, serial="ab" * 8, not_after=not_after,
            issued_at=not_after - timedelta(days=7),
            revoked_at=utc_now() if revoked else None, revoked_by="admin" if revoked else None,
            revoked_reason="stolen" if revoked else None))
