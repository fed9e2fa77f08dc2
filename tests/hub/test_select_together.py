"""``hub.storage.bulk.select_together``: independent reads in one round trip on PostgreSQL,
their rows as the driver gives them, or, for the queries named in ``mapped``, as SQLAlchemy's
``conn.execute`` would (each column through its type's result processing)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, bindparam, select

from hub.storage.bulk import at_pairs, pairs_params, select_together
from hub.storage.engine import reading
from hub.storage.tables.core import return_items, returns
from tests.hub.helpers import ON_PG, ingest, received

ITEMS_OF = select(return_items).where(return_items.c.store_id == bindparam("store"))  # Amount


def test_mapped_rows_are_the_rows_conn_execute_gives(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1", price="12.50"),
           received("s1", "n1", 2, "R2", price="3.00", currency="EUR"))
    with reading(engine) as conn:
        expected = [dict(r._mapping) for r in conn.execute(ITEMS_OF, {"store": "s1"})]
        plain, mapped = select_together(conn, [(ITEMS_OF, {"store": "s1"})] * 2, mapped={1})
    assert mapped == expected
    assert sorted(r["unit_price"] for r in mapped) == [Decimal("3.00"), Decimal("12.50")]
    assert not isinstance(plain[0], dict)  # not named in ``mapped``: the driver's row


@ON_PG
def test_returns_found_by_key_pairs_come_as_conn_execute_gives_them(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n1", 2, "R2"))
    pairs = [("s1", "R1"), ("s1", "R2"), ("s1", "R9")]
    by_key = at_pairs(returns, ("store_id", "return_id"))
    with reading(engine) as conn:
        expected = [dict(r._mapping) for r in conn.execute(by_key, pairs_params(pairs))]
        [found] = select_together(conn, [(by_key, pairs_params(pairs))], mapped={0})

    def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: str(r["return_id"]))

    assert ordered(found) == ordered(expected)
    assert [r["return_id"] for r in ordered(found)] == ["R1", "R2"]  # R9 is not stored
    assert all(r["received_at"].tzinfo is UTC for r in found)  # as UtcDateTime gives it
