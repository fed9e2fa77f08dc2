"""A return's lines, inspections and dispositions always belong to a stored return (migration
0038 took away their FOREIGN KEY: the projector is what keeps this now).

The batches mix events about returns the hub holds, returns it never heard of, and a return
id that exists in another store only (the key is (store, return)); afterwards no row of the
three tables lacks its return, every refused event is dead-lettered with its reason, and the
events about held returns are all there.
"""

from __future__ import annotations

from sqlalchemy import Engine, Table, and_, exists, func, inspect, select

from hub.storage.engine import reading
from hub.storage.tables.core import dead_letters, dispositions, inspections, return_items, returns
from tests.hub.helpers import disposed, ingest, inspected, received


def orphans(engine: Engine, table: Table) -> int:
    """Rows of ``table`` whose (store, return) is not in ``returns``."""
    held = exists().where(and_(returns.c.store_id == table.c.store_id,
                               returns.c.return_id == table.c.return_id))
    with reading(engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(~held)) or 0)


def count(engine: Engine, table: Table) -> int:
    with reading(engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_no_line_inspection_or_disposition_is_written_without_its_return(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), inspected("s1", "n1", 2, "R1"),
           inspected("s1", "n1", 3, "GHOST"), disposed("s1", "n1", 4, "GHOST"))
    ingest(engine, inspected("s2", "n1", 1, "R1"),  # R1 is s1's: s2 never received it
           disposed("s2", "n1", 2, "R1"), received("s2", "n1", 3, "R2"),
           disposed("s1", "n1", 5, "R1"), inspected("s2", "n1", 4, "R2"))

    for table in (return_items, inspections, dispositions):
        assert orphans(engine, table) == 0, table.name
    assert count(engine, return_items) == 2  # R1 of s1, R2 of s2
    assert count(engine, inspections) == 2 and count(engine, dispositions) == 1
    with reading(engine) as conn:
        reasons = list(conn.scalars(select(dead_letters.c.reason)))
    assert len(reasons) == 4
    assert sum("never reported as received" in r for r in reasons) == 4


def test_the_three_tables_have_no_foreign_key_and_refunds_keep_theirs(engine: Engine) -> None:
    schema = inspect(engine)
    for table in (return_items, inspections, dispositions):
        assert schema.get_foreign_keys(table.name) == [], table.name
    (key,) = schema.get_foreign_keys("refunds")
    assert key["referred_table"] == "returns"
