"""Which stores run which allocation rules version, and since when (the rollout of a version).

Rules:
- one row per store in the caller's scope (a SQL condition the caller builds from a store id
  column, ``hub.fleet.stores.in_scope``, which this layer may not import):
  the rules version its store config was last pushed with, the config version that carried it
  and when (``allocation_pushes``), and per node the version it reports applying and since when
  (its last ``node.status``: ``allocation_version``, ``allocation_since``), online or not;
- a store is ``current`` when it was pushed the active version and every node it has applies
  it; ``pending`` lists the nodes still on another version (or none: an older agent);
- pure reads, no writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.sql.elements import ColumnElement

from hub.storage.tables.core import nodes, stores
from hub.storage.tables.inventory_rules import allocation_pushes
from protocol import to_utc


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _node(row: Any) -> dict[str, Any]:
    status = row.status if isinstance(row.status, dict) else {}
    version = status.get("allocation_version")
    config = status.get("config_version")
    return {
        "node_id": row.node_id,
        "online": bool(row.online),
        "applied_version": version if isinstance(version, int) else None,
        "since": _when(status.get("allocation_since")),
        "config_version": config if isinstance(config, int) else None,
        "last_seen_at": row.last_seen_at,
    }


def rollout(conn: Connection, in_scope: Callable[[Any], ColumnElement[bool]],
            active_version: int | None) -> list[dict[str, Any]]:
    """Per store where ``in_scope(store column)`` holds: version pushed, when, and each node's
    applied version."""
    where = in_scope(stores.c.store_id)
    p = allocation_pushes.c
    heads = conn.execute(
        select(stores.c.store_id, stores.c.name, stores.c.config_version, p.version,
               p.config_version.label("pushed_in_config"), p.pushed_at)
        .select_from(stores.outerjoin(allocation_pushes, p.store_id == stores.c.store_id))
        .where(where).order_by(stores.c.store_id)
    ).all()
    by_store: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(
        select(nodes.c.store_id, nodes.c.node_id, nodes.c.online, nodes.c.status,
               nodes.c.last_seen_at)
        .where(in_scope(nodes.c.store_id))
        .order_by(nodes.c.store_id, nodes.c.node_id)
    ):
        by_store.setdefault(row.store_id, []).append(_node(row))
    out = []
    for head in heads:
        members = by_store.get(head.store_id, [])
        pending = [n["node_id"] for n in members if n["applied_version"] != active_version]
        out.append({
            "store_id": head.store_id,
            "store_name": head.name,
            "pushed_version": head.version,
            "pushed_in_config": head.pushed_in_config,
            "pushed_at": head.pushed_at,
            "config_published": head.config_version,
            "nodes": members,
            "pending": pending,
            "current": active_version is not None and head.version == active_version
            and not pending,
        })
    return out
