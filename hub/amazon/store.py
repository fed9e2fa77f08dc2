"""Idempotent upserts of synced rows, keyed by Amazon's ids, and the sync tallies.

Rules:
- a row's ``content_hash`` covers its business columns only; an upsert inserts rows whose key is
  new, updates rows whose hash changed (never ``first_seen_at`` or the columns in ``keep``, which
  ACORN owns) and does not touch the others: syncing the same data twice writes nothing;
- rows of one batch that share a key collapse to the last one;
- bad data is kept, not dropped: ``problem`` writes an ``amazon_problems`` row with the account,
  the report id and the line, next to the good rows of the same report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, select, tuple_, update

from hub.storage.audit_chain import jsonable
from hub.storage.tables.amazon import amazon_problems

Row = dict[str, Any]
CHUNK = 400


@dataclass
class Tally:
    """What jobs did for one account: rows fetched, new, updated; errors (bad data included);
    expected returns announced to stores and those waiting for a store the hub does not know."""

    fetched: int = 0
    new: int = 0
    updated: int = 0
    errors: int = 0
    announced: int = 0
    unknown_stores: int = 0

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        for name in ("fetched", "new", "updated", "errors", "announced", "unknown_stores"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def content_hash(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """SHA-256 of the canonical JSON of ``fields`` of ``row``."""
    data = jsonable({name: row.get(name) for name in fields})
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def hashed(rows: Sequence[Row], fields: Sequence[str]) -> list[Row]:
    """The rows with their ``content_hash`` set."""
    return [{**row, "content_hash": content_hash(row, fields)} for row in rows]


def upsert(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    rows: Sequence[Row],
    now: datetime,
    keep: Sequence[str] = (),
) -> tuple[int, int]:
    """Write ``rows`` (each with ``content_hash``); return (new, updated)."""
    unique = list({tuple(row[k] for k in keys): row for row in rows}.values())
    new = updated = 0
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        known = _hashes(conn, table, keys, chunk)
        fresh = [
            {**r, "first_seen_at": now, "updated_at": now}
            for r in chunk
            if tuple(r[k] for k in keys) not in known
        ]
        changed = [
            r
            for r in chunk
            if known.get(tuple(r[k] for k in keys), r["content_hash"]) != r["content_hash"]
        ]
        if fresh:
            conn.execute(table.insert(), fresh)
        if changed:
            _update(conn, table, keys, changed, now, keep)
        new, updated = new + len(fresh), updated + len(changed)
    return new, updated


def _hashes(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Row]
) -> dict[tuple[Any, ...], str]:
    columns = [table.c[k] for k in keys]
    wanted = [tuple(row[k] for k in keys) for row in rows]
    found = conn.execute(select(*columns, table.c.content_hash).where(tuple_(*columns).in_(wanted)))
    return {tuple(r[:-1]): r[-1] for r in found}


def _update(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    rows: Sequence[Row],
    now: datetime,
    keep: Sequence[str],
) -> None:
    fixed = {*keys, *keep, "first_seen_at"}
    columns = [name for name in rows[0] if name not in fixed]
    statement = (
        update(table)
        .where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
        .values({name: bindparam(f"v_{name}") for name in [*columns, "updated_at"]})
    )
    conn.execute(
        statement,
        [
            {
                **{f"k_{k}": row[k] for k in keys},
                **{f"v_{c}": row[c] for c in columns},
                "v_updated_at": now,
            }
            for row in rows
        ],
    )


def problem(
    conn: Connection,
    now: datetime,
    account: str,
    job: str,
    message: str,
    report_id: str | None = None,
    line: int | None = None,
    sample: str | None = None,
) -> None:
    """Record a piece of bad data from Amazon, where it was, and a short sample of it."""
    conn.execute(
        amazon_problems.insert().values(
            at=now,
            account=account,
            job=job,
            report_id=report_id,
            line=line,
            message=message,
            sample=sample[:500] if sample else None,
        )
    )
