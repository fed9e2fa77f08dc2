"""Where each sync stopped: one cursor per account x job x marketplace, and the windows to fetch.

Rules:
- ``position`` is the moment up to which the job's data is stored; a job moves it forward in the
  same transaction as the rows it fetched, so a killed sync resumes from its last commit and
  re-fetches at most one page or one report window (upserts make that harmless);
- a job that is not per marketplace (refund events: Finances is per seller) uses ``"*"``;
- ``state`` holds what a job needs to resume without repeating a request, e.g. the report it
  already asked Amazon for;
- the first sync starts ``backfill_days`` ago; ``--since`` overrides the stored position for one
  run; ``overlap`` re-reads a little before the position (returns change after they are filed).

``start_from`` and ``windows`` are pure; ``load``/``save`` read and write ``amazon_cursors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from hub.storage.tables.amazon import amazon_cursors

ALL_MARKETPLACES = "*"


@dataclass(frozen=True, slots=True)
class Cursor:
    """One stored cursor."""

    account: str
    job: str
    marketplace_id: str
    position: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def moved(self, position: datetime | None, **state: Any) -> Cursor:
        """The cursor at a new position with a new state (``None`` values drop a key)."""
        merged = {k: v for k, v in {**self.state, **state}.items() if v is not None}
        return Cursor(self.account, self.job, self.marketplace_id, position, merged)


def start_from(
    position: datetime | None,
    since: datetime | None,
    now: datetime,
    backfill_days: int,
    overlap: timedelta = timedelta(0),
) -> datetime:
    """Where a run starts: ``since`` if given, else the position (less overlap), else backfill."""
    if since is not None:
        return since
    if position is None:
        return now - timedelta(days=backfill_days)
    return position - overlap


def windows(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of at most ``span``."""
    if span <= timedelta(0):
        raise ValueError("a window span must be positive")
    cut: list[tuple[datetime, datetime]] = []
    while start < end:
        stop = min(start + span, end)
        cut.append((start, stop))
        start = stop
    return cut


def load(conn: Connection, account: str, job: str, marketplace_id: str) -> Cursor:
    """The stored cursor, or a fresh one at no position."""
    row = conn.execute(
        select(amazon_cursors.c.position, amazon_cursors.c.state).where(
            amazon_cursors.c.account == account,
            amazon_cursors.c.job == job,
            amazon_cursors.c.marketplace_id == marketplace_id,
        )
    ).one_or_none()
    if row is None:
        return Cursor(account, job, marketplace_id)
    return Cursor(account, job, marketplace_id, row.position, dict(row.state or {}))


def save(conn: Connection, cursor: Cursor, now: datetime) -> None:
    """Store the cursor (insert or update); call it inside the job's writing transaction."""
    values = {"position": cursor.position, "state": cursor.state, "updated_at": now}
    moved = conn.execute(
        update(amazon_cursors)
        .where(
            amazon_cursors.c.account == cursor.account,
            amazon_cursors.c.job == cursor.job,
            amazon_cursors.c.marketplace_id == cursor.marketplace_id,
        )
        .values(values)
    )
    if moved.rowcount == 0:
        conn.execute(
            amazon_cursors.insert().values(
                account=cursor.account,
                job=cursor.job,
                marketplace_id=cursor.marketplace_id,
                **values,
            )
        )
