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
    # by (id, account): the rows_at_pairs probes, one a row however large the planner
    # believes the table (a plain ``id = ANY(ids)`` was a scan of it at 40,000 changes)
    wanted = [(row_id, account_id) for row_id, account_id in conn.execute(query)]
    return [row for chunk in key_chunks(conn, wanted, CHUNK)
            for row in conn.execute(rows_at_pairs(conn, t, ("id", "account"), chunk))]
