"""The newest change, or newest accepted change, of each listing key, read from
``amazon_listing_heads`` (migration 0043) and fetched by primary key: never a grouping of every
change ever queued (``hub.storage.tables.amazon_listings``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, select

from hub.storage.bulk import among, key_chunks, rows_at_pairs
from hub.storage.tables.amazon_listings import amazon_listing_changes as t
from hub.storage.tables.amazon_listings import amazon_listing_heads as h

CHUNK = 500  # ids a statement on SQLite (PostgreSQL takes them as one array)


def head_rows(conn: Connection, accepted: bool = False, account: str | None = None,
              skus: Collection[str] | None = None) -> list[Any]:
    """The ``amazon_listing_changes`` rows that are their key's newest (``accepted``: newest
    accepted) change, of one account and of ``skus`` when given, in no particular order."""
    column = h.c.accepted_id if accepted else h.c.newest_id
    query = select(column, h.c.account).where(column.is_not(None))
    if account is not None:
        query = query.where(h.c.account == account)
    if skus is not None:
        if not skus:
            return []
        query = query.where(among(conn, h.c.sku, sorted(set(skus))))
    return _fetch(conn, [(row_id, account_id) for row_id, account_id in conn.execute(query)])


def newest_and_accepted(conn: Connection) -> tuple[list[Any], list[Any]]:
    """Every key's newest change and newest accepted change (``head_rows`` both ways), from one
    read of the heads and one fetch of their rows."""
    heads = conn.execute(select(h.c.newest_id, h.c.accepted_id, h.c.account)).all()
    rows = {row.id: row for row in _fetch(conn, list(
        {(row_id, account) for newest, taken, account in heads
         for row_id in (newest, taken) if row_id is not None}))}
    return ([rows[newest] for newest, _, _ in heads],
            [rows[taken] for _, taken, _ in heads if taken is not None])


def _fetch(conn: Connection, wanted: list[tuple[int, str]]) -> list[Any]:
    """The changes of these (id, account) pairs: the ``rows_at_pairs`` probes, one a row however
    large the planner believes the table (a plain ``id = ANY(ids)`` was a scan of it at 40,000
    changes)."""
    return [row for chunk in key_chunks(conn, wanted, CHUNK)
            for row in conn.execute(rows_at_pairs(conn, t, ("id", "account"), chunk))]
