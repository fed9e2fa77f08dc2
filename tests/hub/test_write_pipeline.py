"""Writes sent in PostgreSQL's pipeline mode (``hub.storage.write_pipeline``): they go out at
once, their answers are taken at the next statement or the commit, a refused one fails its
transaction there, and a connection never goes back to the pool still in pipeline mode."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from psycopg.pq import PipelineStatus, TransactionStatus
from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.exc import IntegrityError

from hub.errors import StorageError
from hub.storage.bulk import insert_rows, update_rows
from hub.storage.engine import reading, writing
from hub.storage.tables.core import stores
from tests.hub.helpers import ON_PG

pytestmark = ON_PG  # the hub's ``engine`` fixture, on PostgreSQL
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def store(store_id: str, region: str | None = None) -> dict[str, object]:
    return {"store_id": store_id, "region": region, "created_at": NOW}


def count(engine: Engine) -> int:
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(stores)).scalar_one())


def in_pipeline(engine: Engine) -> list[bool]:
    """For each connection the pool holds: is it still in pipeline mode?"""
    held = []
    with engine.connect() as a, engine.connect() as b:
        for conn in (a, b):
            driver = conn.connection.driver_connection
            held.append(driver.pgconn.pipeline_status != PipelineStatus.OFF)  # type: ignore[union-attr]
    return held


def test_a_refused_write_is_raised_at_the_next_statement_and_nothing_commits(
        engine: Engine) -> None:
    sent = False
    with pytest.raises(StorageError) as failed, writing(engine) as tx:
        insert_rows(tx.conn, stores, [store("s1"), store("s2")])
        insert_rows(tx.conn, stores, [store("s2")])  # the same key: refused, but not yet said
        sent = True
        tx.conn.execute(text("SELECT 1"))  # the pipeline is answered here
    assert sent  # the duplicate went out without waiting for its answer
    assert isinstance(failed.value.__cause__, IntegrityError)
    assert "stores" in str(failed.value)
    assert count(engine) == 0  # s1 was rolled back with the rest
    assert in_pipeline(engine) == [False, False]


def test_a_refused_write_just_before_the_commit_fails_the_commit(engine: Engine) -> None:
    with pytest.raises(StorageError) as failed, writing(engine) as tx:
        insert_rows(tx.conn, stores, [store("s1")])
        insert_rows(tx.conn, stores, [store("s1")])
    assert isinstance(failed.value.__cause__, IntegrityError)
    assert count(engine) == 0
    with writing(engine) as tx:  # the connection is fine afterwards
        insert_rows(tx.conn, stores, [store("s3")])
    assert count(engine) == 1


def test_reads_see_the_writes_sent_before_them_and_the_commit_keeps_them(
        engine: Engine) -> None:
    with writing(engine) as tx:
        insert_rows(tx.conn, stores, [store(f"s{n}") for n in range(5)])
        update_rows(tx.conn, stores, ("store_id",), [
            {"store_id": "s1", "region": "north"}, {"store_id": "s2", "region": "south"}])
        regions = dict(tx.conn.execute(select(stores.c.store_id, stores.c.region)
                                       .where(stores.c.region.is_not(None))).all())
    assert regions == {"s1": "north", "s2": "south"}
    assert count(engine) == 5
    assert in_pipeline(engine) == [False, False]


def test_the_commit_is_answered_with_the_writes_in_one_round_trip(engine: Engine) -> None:
    states: list[TransactionStatus] = []

    def after_ours(conn: Connection) -> None:  # runs after the write pipeline's own listener
        states.append(conn.connection.driver_connection.pgconn.transaction_status)  # type: ignore[union-attr]

    event.listen(engine, "commit", after_ours)
    try:
        with writing(engine) as tx:
            insert_rows(tx.conn, stores, [store("s1"), store("s2")])
        with writing(engine) as tx:  # nothing pending at the commit: the driver commits
            tx.conn.execute(text("SELECT 1"))
    finally:
        event.remove(engine, "commit", after_ours)
    # committed already when the driver's own commit comes: it has nothing left to send
    assert states == [TransactionStatus.IDLE, TransactionStatus.INTRANS]
    assert count(engine) == 2
    assert in_pipeline(engine) == [False, False]


def test_a_commit_the_server_refuses_fails_the_transaction_and_keeps_nothing(
        engine: Engine) -> None:
    with engine.begin() as conn:  # a check made at the commit, as a deferred constraint is
        conn.execute(text("ALTER TABLE stores ADD CONSTRAINT one_region UNIQUE (region) "
                          "DEFERRABLE INITIALLY DEFERRED"))
    with pytest.raises(StorageError) as failed, writing(engine) as tx:
        insert_rows(tx.conn, stores, [store("s1", "north"), store("s2", "north")])
    refused = failed.value.__cause__
    assert isinstance(refused, IntegrityError) and "one_region" in str(refused)
    assert (refused.statement or "").endswith("COMMIT")  # named among the pipelined statements
    assert count(engine) == 0
    assert in_pipeline(engine) == [False, False]
    with writing(engine) as tx:  # the connection is fine afterwards
        insert_rows(tx.conn, stores, [store("s3", "north")])
    assert count(engine) == 1


def test_an_error_between_writes_rolls_them_back_and_frees_the_connection(
        engine: Engine) -> None:
    for _ in range(3):  # more than once: the connection is used again after each
        with pytest.raises(RuntimeError), writing(engine) as tx:
            insert_rows(tx.conn, stores, [store("s1")])
            raise RuntimeError("a bug between two writes")
    assert count(engine) == 0
    assert in_pipeline(engine) == [False, False]
    with writing(engine) as tx:
        insert_rows(tx.conn, stores, [store("s1"), store("s2")])
    assert count(engine) == 2


def test_rows_identical_in_every_column_are_each_inserted(engine: Engine) -> None:
    # every column holds one object in every row: the statement has no array to unnest
    with writing(engine) as tx:
        insert_rows(tx.conn, stores, [store("only")])
    with writing(engine) as tx:
        same = {"store_id": "twin", "region": None, "created_at": NOW}
        with pytest.raises(IntegrityError), tx.conn.begin_nested():
            insert_rows(tx.conn, stores, [same, same])
            tx.conn.execute(text("SELECT 1"))
    assert count(engine) == 1


def test_a_value_too_long_for_its_column_is_refused_not_cut(engine: Engine) -> None:
    # the arrays are cast to the column's type without its length: an explicit cast to
    # varchar(n) would cut the value silently; the column's own assignment refuses it
    with writing(engine) as tx:
        insert_rows(tx.conn, stores, [store("s1"), store("s2")])
    for write in (
        lambda conn: insert_rows(conn, stores, [store("s3", "r" * 41), store("s4")]),
        lambda conn: update_rows(conn, stores, ("store_id",), [
            {"store_id": "s1", "region": "r" * 41}, {"store_id": "s2", "region": "south"}]),
        lambda conn: update_rows(conn, stores, ("store_id",), [  # one value for every row
            {"store_id": "s1", "region": "r" * 41}]),
    ):
        with pytest.raises(StorageError, match="value too long"), writing(engine) as tx:
            write(tx.conn)
    with reading(engine) as conn:
        assert dict(conn.execute(select(stores.c.store_id, stores.c.region)).all()) == {
            "s1": None, "s2": None}


def test_a_streamed_read_after_writes_sees_them(engine: Engine) -> None:
    # a server-side cursor cannot run in a pipeline: the writes are answered first
    with writing(engine) as tx:
        insert_rows(tx.conn, stores, [store(f"s{n}") for n in range(3)])
        streamed = tx.conn.execution_options(stream_results=True, yield_per=2).execute(
            select(stores.c.store_id).order_by(stores.c.store_id))
        assert [r.store_id for r in streamed] == ["s0", "s1", "s2"]
    assert in_pipeline(engine) == [False, False]
