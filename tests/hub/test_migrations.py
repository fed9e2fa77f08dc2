"""Migrations on SQLite and PostgreSQL: they build exactly ``schema.py``, and go down and up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from hub.storage import audit_log as audit_store
from hub.storage.engine import make_engine, reading, writing
from hub.storage.migrations import current, downgrade, head, upgrade
from hub.storage.tables import metadata
from hub.storage.tables.core import refunds, returns, stores


def test_upgrade_builds_every_table_and_matches_the_schema(db_url: str) -> None:
    assert upgrade(db_url) == head() == "0010"
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
            store_id="s1", refund_id="F1", return_id="R1", node_id="n1",
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
            store_id="s1", refund_id="F2", return_id="R1", node_id="n1", amount=1.5,
            currency="USD", channel="pos", state="requested", reasons=[],
            requested_at=tx.now, created_at=tx.now, updated_at=tx.now))
