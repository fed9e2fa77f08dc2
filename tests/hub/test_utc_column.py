"""Timestamps in the hub's tables are stored and read back in UTC (``hub.storage.types``):
a UTC datetime goes in as it is, one in another zone as the same instant in UTC, a naive one is
refused; on SQLite and PostgreSQL, through SQLAlchemy and through the ingest's bulk insert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from hub.errors import StorageError
from hub.storage.bulk import insert_rows
from hub.storage.engine import reading, writing
from hub.storage.tables.core import stores

PARIS_WINTER = timezone(timedelta(hours=1))


def test_every_zone_is_stored_as_its_instant_in_utc(engine: Engine) -> None:
    given = {"s1": datetime(2026, 12, 7, 12, 0, 0, 5, tzinfo=UTC),
             "s2": datetime(2026, 12, 7, 13, 0, 0, 5, tzinfo=PARIS_WINTER),
             "s3": datetime(2026, 12, 7, 12, 0, 0, 5, tzinfo=UTC).astimezone(PARIS_WINTER)}
    with writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": "s1", "created_at": given["s1"]}])
        insert_rows(tx.conn, stores, [{"store_id": s, "created_at": given[s]}
                                      for s in ("s2", "s3")])
    with reading(engine) as conn:
        back = dict(conn.execute(select(stores.c.store_id, stores.c.created_at)).all())
    for store, at in back.items():
        assert at == given["s1"] and at.tzinfo is not None and at.utcoffset() == timedelta(0), (
            store, at)


def test_a_naive_timestamp_is_refused(engine: Engine) -> None:
    with pytest.raises(StorageError, match="naive datetime refused"), writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": "s1",
                                           "created_at": datetime(2026, 12, 7, 12)}])
