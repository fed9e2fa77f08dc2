"""Packages near their ship-by time that have not shipped yet (the desk list and ``/metrics``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from hub.storage.tables.picking import package_shipments, pick_tasks

NEAR = timedelta(hours=24)


def due_soon(conn: Connection, now: datetime, within: timedelta = NEAR) -> list[dict[str, Any]]:
    """Open pick tasks whose ship-by is within ``within`` of ``now`` (or past), soonest first."""
    p = pick_tasks.c
    rows = conn.execute(select(p.package_id, p.account, p.order_id, p.store_id, p.ship_by)
                        .where(p.status == "open", p.ship_by.is_not(None),
                               p.ship_by <= now + within)
                        .order_by(p.ship_by, p.package_id)).all()
    return [{**r._mapping, "overdue": r.ship_by <= now} for r in rows]


def unconfirmed_counts(conn: Connection) -> dict[str, int]:
    """Shipped packages not confirmed to Amazon, by state (every state named, zero or not);
    ``held``: shipped twice, waiting for a person (``hub.inventory.picking``)."""
    s = package_shipments.c
    held: dict[str, int] = {str(state): int(n) for state, n in conn.execute(
        select(s.confirm_state, func.count()).where(s.confirm_state != "confirmed")
        .group_by(s.confirm_state)).all()}
    return {state: held.get(state, 0) for state in ("pending", "sending", "failed", "held")}
