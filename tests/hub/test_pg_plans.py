"""Plans that follow the tables as they grow (issue 16), on the real PostgreSQL.

psycopg prepares a statement on the server after a few executions, and PostgreSQL then keeps one
generic plan for it, made with the table's size at that moment, until an ANALYZE of the table
invalidates it. A hub installed empty that meets a storm of a million returns kept the plan it
made for an empty ``returns``: every batch's lookup of the returns it touches scanned the whole
table (60-140 ms a batch and growing, with the audit tip held, measured with auto_explain). The
hub's connections plan each execution for the tables as they are (``plan_cache_mode``), so the
lookup stays one index probe a key however the table grew and whether autovacuum runs or not.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection, Engine, create_engine

from hub.storage.engine import make_engine, writing
from hub.storage.tables.core import returns
from hub.sync.ingest import state
from protocol import Envelope
from tests.hub.helpers import received
from tests.support.databases import PG_ADMIN, pg_database

pytestmark = pytest.mark.pg

STORE = "s1"
LOOKUPS = 20  # well past psycopg's prepare threshold (5) and PostgreSQL's custom-plan tries (5)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_database(schema=True)


def _add_returns(url: str, first: int, last: int) -> None:
    """Returns ``R<first>`` .. ``R<last>`` of ``STORE``, made by the server (fast)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", autocommit=True) as conn:
        conn.execute("INSERT INTO stores (store_id, created_at) VALUES (%s, now()) "
                     "ON CONFLICT DO NOTHING", (STORE,))
        conn.execute(
            "INSERT INTO returns (store_id, return_id, node_id, state, channel, reason, mismatch,"
            " received_at, created_at, updated_at) SELECT %s, 'R' || g, 'n1', 'received', 'pos',"
            " 'too small', false, now(), now(), now() FROM generate_series(%s::int, %s::int) AS g",
            (STORE, first, last))


def _events(*numbers: int) -> list[Envelope]:
    return [received(STORE, "n1", n, f"R{n}") for n in numbers]


def _load(engine: Engine, numbers: tuple[int, ...]) -> int:
    """The ingest's lookup of the returns a batch mentions (``state.load``): how many it found."""
    with writing(engine) as tx:
        return len(state.load(tx, _events(*numbers)).returns)


def _plan_of_the_lookup(conn: Connection) -> str:
    """The plan the server would run now for the lookup psycopg prepared on ``conn``."""
    name = conn.exec_driver_sql(
        "SELECT name FROM pg_prepared_statements"
        " WHERE starts_with(statement, 'SELECT returns.store_id')"
    ).scalar_one()
    rows = conn.exec_driver_sql(
        f"EXPLAIN EXECUTE {name}('{{{STORE}}}'::varchar[], '{{R7}}'::varchar[])").scalars()
    return "\n".join(rows)


def _lookups_then_growth(engine: Engine, url: str) -> str:
    """Look returns up while the table is nearly empty, grow it, look again: the plan now."""
    _add_returns(url, 1, 10)
    with engine.connect() as conn:  # one connection: psycopg prepares per connection
        for n in range(LOOKUPS):
            assert _load_on(conn, (n % 10 + 1, 99_999)) == 1
        _add_returns(url, 11, 40_000)
        assert _load_on(conn, (7, 39_999)) == 2
        return _plan_of_the_lookup(conn)


def _load_on(conn: Connection, numbers: tuple[int, ...]) -> int:
    with conn.begin():
        return len(state._rows(conn, returns, "return_id",  # the lookup, as load makes it
                               {(STORE, f"R{n}") for n in numbers}))


def test_the_hub_looks_returns_up_by_index_after_the_table_grew(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        assert _load(engine, (1,)) == 0  # the real load path, before anything is stored
        plan = _lookups_then_growth(engine, pg_url)
    finally:
        engine.dispose()
    assert "Index Scan" in plan and "Seq Scan on returns" not in plan, plan


def test_without_it_the_plan_made_for_an_empty_table_scans_the_grown_one(pg_url: str) -> None:
    """What the setting prevents, on the same server: a connection that keeps generic plans
    scans all 40,000 returns to find two."""
    engine = create_engine(pg_url)
    try:
        plan = _lookups_then_growth(engine, pg_url)
    finally:
        engine.dispose()
    assert "Seq Scan on returns" in plan, plan
