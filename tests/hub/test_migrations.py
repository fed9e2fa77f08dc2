"""Migrations on SQLite and PostgreSQL: they build exactly ``schema.py``, and go down and up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from hub.storage import audit_log as audit_store
from hub.storage.engine import make_engine, reading, writing
from hub.storage.migrations import current, downgrade, head, upgrade
from hub.storage.tables import metadata
from hub.storage.tables.amazon_listings import amazon_listing_changes, amazon_listing_heads
from hub.storage.tables.core import refunds, returns, stores
from hub.storage.tables.inventory import node_stock, stock_moves
from hub.storage.tables.reasons import reason_queue, return_reasons
from tests.finance.reasons_seed import T0, store_return


def test_upgrade_builds_every_table_and_matches_the_schema(db_url: str) -> None:
    assert upgrade(db_url) == head() == "0045"
    engine = make_engine(db_url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], f"migrations and hub/storage/tables/core.py differ: {diff}"
        with reading(engine) as conn:
            assert audit_store.read_tip(conn) == (0, "0" * 64)
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    upgrade(db_url)
    assert downgrade(db_url, "base") is None
    engine = make_engine(db_url)
    try:
        assert "returns" not in inspect(engine).get_table_names()
        assert upgrade(db_url) == head()
        assert current(engine) == head()
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    assert upgrade(db_url) == upgrade(db_url) == head()


def _put_return(engine: Engine, when: datetime) -> None:
    with writing(engine) as tx:
        tx.conn.execute(stores.insert().values(store_id="s1", created_at=tx.now))
        tx.conn.execute(returns.insert().values(
            store_id="s1", return_id="R1", node_id="n1", state="received", channel="pos",
            reason="r", mismatch=False, received_at=when, created_at=tx.now, updated_at=tx.now))
        tx.conn.execute(refunds.insert().values(
            store_id="s1", refund_id="F1", return_id="R1", node_id="n1", origin="pos",
            amount=Decimal("1234567.89"), currency="USD", channel="pos", state="requested",
            reasons=[], requested_at=when, created_at=tx.now, updated_at=tx.now))


def test_money_is_exact_and_time_is_utc_on_both_databases(engine: Engine) -> None:
    berlin = timezone(timedelta(hours=2))
    when = datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=berlin)
    _put_return(engine, when)
    with reading(engine) as conn:
        row = conn.execute(select(refunds)).one()
    assert row.amount == Decimal("1234567.89") and isinstance(row.amount, Decimal)
    assert row.requested_at == when and row.requested_at.tzinfo is UTC
    assert row.requested_at.hour == 21


def test_naive_datetimes_and_float_money_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        _put_return(engine, datetime(2025, 1, 1))  # naive: the point of the test
    with pytest.raises(Exception, match="never floats"), writing(engine) as tx:
        tx.conn.execute(refunds.insert().values(
            store_id="s1", refund_id="F2", return_id="R1", node_id="n1", origin="pos", amount=1.5,
            currency="USD", channel="pos", state="requested", reasons=[],
            requested_at=tx.now, created_at=tx.now, updated_at=tx.now))


def test_refunds_stored_before_0011_get_their_origin_from_what_is_known(db_url: str) -> None:
    """A hub request's ``H`` id -> hub; a POS sale's refund -> pos; any other -> store."""
    assert upgrade(db_url, "0010") == "0010"
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # the 0010 schema, as a hub of that version wrote it
            conn.execute(text("INSERT INTO stores (store_id, created_at) VALUES ('s1', :at)"),
                         {"at": "2025-01-01 00:00:00"})
            conn.execute(text(
                "INSERT INTO returns (store_id, return_id, node_id, state, channel, reason, "
                "mismatch, received_at, created_at, updated_at) VALUES ('s1', 'R1', 'n1', "
                "'received', 'pos', 'r', false, :at, :at, :at)"), {"at": "2025-01-01 00:00:00"})
            for refund_id, channel in (("HABC", "pos"), ("F1", "pos"), ("F2", "amazon_mfn"),
                                       ("F3", "web")):
                conn.execute(text(
                    "INSERT INTO refunds (store_id, refund_id, return_id, node_id, amount, "
                    "currency, channel, state, reasons, requested_at, created_at, updated_at) "
                    "VALUES ('s1', :id, 'R1', 'n1', 1, 'USD', :channel, 'requested', '[]', :at, "
                    ":at, :at)"), {"id": refund_id, "channel": channel,
                                   "at": "2025-01-01 00:00:00"})
        assert upgrade(db_url) == head()
        with reading(engine) as conn:
            origins = dict(conn.execute(select(refunds.c.refund_id, refunds.c.origin)).all())
        assert origins == {"HABC": "hub", "F1": "pos", "F2": "store", "F3": "store"}
        with pytest.raises(Exception, match=r"(?i)null"), writing(engine) as tx:
            tx.conn.execute(text(  # every refund from now on must say where it came from
                "INSERT INTO refunds (store_id, refund_id, return_id, node_id, amount, "
                "currency, channel, state, reasons, requested_at, created_at, updated_at) "
                "VALUES ('s1', 'F4', 'R1', 'n1', 1, 'USD', 'pos', 'requested', '[]', :at, :at, "
                ":at)"), {"at": "2025-01-01 00:00:00"})
    finally:
        engine.dispose()


def test_lines_stored_before_0039_without_a_reason_are_queued_by_it(db_url: str) -> None:
    """The reasons' queue starts with every return that has a line without a reason: R1 (its
    second line), not R2 (classified); from then on the trigger queues what is stored."""
    assert upgrade(db_url, "0038") == "0038"
    engine = make_engine(db_url)
    try:
        store_return(engine, "s1", "R1", "pos", "broken", T0, [("SKU-A", 1), ("SKU-B", 1)])
        store_return(engine, "s1", "R2", "pos", "broken", T0, [("SKU-A", 1)])
        with engine.begin() as conn:
            for return_id, line_no in (("R1", 1), ("R2", 1)):
                conn.execute(return_reasons.insert().values(
                    source="store", line_key=f"s1/{return_id}/{line_no}", store_id="s1",
                    return_id=return_id, line_no=line_no, channel="pos", sku="SKU-A",
                    quantity=1, occurred_at=T0, month="2026-03", raw_reason="broken",
                    reason="defective", sub_reason="stopped_working", method="counter",
                    classified_at=T0))
        assert upgrade(db_url) == head()
        store_return(engine, "s1", "R3", "pos", "broken", T0, [("SKU-A", 1)])
        with reading(engine) as conn:
            queued = conn.execute(select(reason_queue.c.store_id, reason_queue.c.return_id)
                                  .order_by(reason_queue.c.return_id)).all()
        assert [tuple(row) for row in queued] == [("s1", "R1"), ("s1", "R3")]
        assert downgrade(db_url, "0038") == "0038"  # the trigger goes with the table
        store_return(engine, "s1", "R4", "pos", "broken", T0, [("SKU-A", 1)])
    finally:
        engine.dispose()


def test_moves_stored_before_0040_are_summed_by_it_and_later_ones_by_the_trigger(
        db_url: str) -> None:
    """``node_stock`` starts as the sum of each node's moves already stored; from then on every
    inserted move adds to it; going down takes the trigger with the table."""
    assert upgrade(db_url, "0039") == "0039"
    engine = make_engine(db_url)
    try:
        moves = [("n1", 1, "M1", "SKU-A", 5, None, "sellable"),
                 ("n1", 2, "M2", "SKU-A", 2, "sellable", None),
                 ("n2", 1, "M3", "SKU-A", 4, None, "sellable"),
                 ("n1", 3, "M4", "SKU-A", 1, "sellable", "reserved")]

        def put(rows: list[tuple[str, int, str, str, int, str | None, str | None]]) -> None:
            with engine.begin() as conn:
                conn.execute(stock_moves.insert(), [
                    {"store_id": "s1", "node_id": node, "seq": seq, "move_id": move, "sku": sku,
                     "quantity": quantity, "from_state": frm, "to_state": to, "reason": "count",
                     "at": T0, "applied_at": T0}
                    for node, seq, move, sku, quantity, frm, to in rows])

        def held() -> dict[tuple[str, str, str], int]:
            with reading(engine) as conn:
                return {(r.node_id, r.sku, r.state): r.quantity
                        for r in conn.execute(select(node_stock))}

        put(moves[:3])
        assert upgrade(db_url) == head()
        assert held() == {("n1", "SKU-A", "sellable"): 3, ("n2", "SKU-A", "sellable"): 4}
        put(moves[3:])
        assert held() == {("n1", "SKU-A", "sellable"): 2, ("n2", "SKU-A", "sellable"): 4,
                          ("n1", "SKU-A", "reserved"): 1}
        assert downgrade(db_url, "0039") == "0039"  # the trigger goes with the table
        put([("n1", 4, "M5", "SKU-A", 1, None, "sellable")])
    finally:
        engine.dispose()


def test_listing_changes_before_0043_get_their_heads_and_later_ones_keep_them(
        db_url: str) -> None:
    """Each key's newest change and newest accepted change: summed from what is stored by the
    migration, then kept by the triggers as changes are queued and accepted."""
    assert upgrade(db_url, "0042") == "0042"
    engine = make_engine(db_url)
    try:
        def put(sku: str, change_id: int, status: str) -> int:
            with engine.begin() as conn:
                return int(conn.execute(amazon_listing_changes.insert().values(
                    account="acc", marketplace_id="M1", sku=sku, change_id=change_id,
                    quantity=change_id, status=status, attempts=0, created_at=T0)
                    .returning(amazon_listing_changes.c.id)).scalar_one())

        def accept(row_id: int) -> None:
            with engine.begin() as conn:
                conn.execute(amazon_listing_changes.update().where(
                    amazon_listing_changes.c.id == row_id).values(status="accepted"))

        def heads() -> dict[str, tuple[int, int | None]]:
            with reading(engine) as conn:
                return {r.sku: (r.newest_id, r.accepted_id)
                        for r in conn.execute(select(amazon_listing_heads))}

        put("A", 1, "accepted")
        a2, a3 = put("A", 2, "accepted"), put("A", 3, "pending")
        b1 = put("B", 1, "invalid")
        assert upgrade(db_url) == head()
        assert heads() == {"A": (a3, a2), "B": (b1, None)}
        a4, b2 = put("A", 4, "sending"), put("B", 2, "pending")
        assert heads() == {"A": (a4, a2), "B": (b2, None)}
        accept(a4)
        accept(b2)
        accept(a3)  # an older change accepted late: the newer accepted one stays
        assert heads() == {"A": (a4, a4), "B": (b2, b2)}
        assert downgrade(db_url, "0042") == "0042"  # the triggers go with the table
        put("A", 5, "pending")
    finally:
        engine.dispose()
