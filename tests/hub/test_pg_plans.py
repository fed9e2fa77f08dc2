"""Plans that follow the tables as they grow (issue 16), on the real PostgreSQL.

psycopg prepares a statement on the server after a few executions, and PostgreSQL then keeps one
generic plan for it, made with the table's size at that moment, until an ANALYZE of the table
invalidates it. A hub installed empty that meets a storm of a million returns kept the plan it
made for an empty ``returns``: every batch's lookup of the returns it touches scanned the whole
table (60-140 ms a batch and growing, with the audit tip held, measured with auto_explain). The
hub's connections plan each execution for the tables as they are (``plan_cache_mode``), and the
ingest's lookup is one index probe a key whatever the planner knows of the table
(``hub.storage.bulk.rows_at_pairs``), so it stays that however the table grew and whether
autovacuum runs or not.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, select

from hub.storage.bulk import pairs_among
from hub.storage.engine import Tx
from hub.storage.tables.core import returns
from hub.sync.ingest import state
from protocol import utc_now
from tests.hub.helpers import ON_PG, received

STORE = "s1"
LOOKUPS = 20  # well past psycopg's prepare threshold (5) and PostgreSQL's custom-plan tries (5)


def _add_returns(engine: Engine, first: int, last: int) -> None:
    """Returns ``R<first>`` .. ``R<last>`` of ``STORE``, made by the server (fast)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO stores (store_id, created_at) VALUES (%s, now()) "
                             "ON CONFLICT DO NOTHING", (STORE,))
        conn.exec_driver_sql(
            "INSERT INTO returns (store_id, return_id, node_id, state, channel, reason, mismatch,"
            " received_at, created_at, updated_at) SELECT %s, 'R' || g, 'n1', 'received', 'pos',"
            " 'too small', false, now(), now(), now() FROM generate_series(%s::int, %s::int) AS g",
            (STORE, first, last))


def _load(conn: Connection, numbers: tuple[int, ...]) -> int:
    """The ingest's lookup of the returns a batch mentions (``state.load``): how many it found."""
    events = [received(STORE, "n1", n, f"R{n}") for n in numbers]
    with conn.begin():
        return len(state.load(Tx(conn, utc_now()), events).returns)


def _pairs(conn: Connection, numbers: tuple[int, ...]) -> int:
    """A plain ``(store_id, return_id) IN pairs`` lookup (``pairs_among``): how many it found."""
    pairs = [(STORE, f"R{n}") for n in numbers]
    with conn.begin():
        return len(conn.execute(select(returns).where(
            pairs_among(conn, (returns.c.store_id, returns.c.return_id), pairs))).all())


INGEST, PLAIN = "SELECT t.store_id", "SELECT returns.store_id"  # how each statement starts


def _prepared(conn: Connection, start: str) -> tuple[str, int]:
    """The name psycopg gave the statement starting with ``start`` on ``conn``, and how often
    the server ran it on a generic plan (``pg_prepared_statements.generic_plans``)."""
    name, generic = conn.exec_driver_sql(
        "SELECT name, generic_plans FROM pg_prepared_statements"
        " WHERE starts_with(statement, %s)", (start,)).one()
    return name, generic


def _plan_of(conn: Connection, start: str) -> str:
    """The plan the server would run now for that prepared statement."""
    name, _ = _prepared(conn, start)
    rows = conn.exec_driver_sql(
        f"EXPLAIN EXECUTE {name}('{{{STORE}}}'::varchar[], '{{R7}}'::varchar[])").scalars()
    return "\n".join(rows)


def _lookups(conn: Connection) -> None:
    """Both lookups, again and again, while ``returns`` holds ten rows."""
    for n in range(LOOKUPS):
        assert _load(conn, (n % 10 + 1, 99_999)) == 1
        assert _pairs(conn, (n % 10 + 1, 99_999)) == 1


@ON_PG
def test_the_hub_looks_returns_up_by_index_after_the_table_grew(engine: Engine) -> None:
    _add_returns(engine, 1, 10)
    with engine.connect() as conn:  # one connection: psycopg prepares per connection
        _lookups(conn)
        _add_returns(engine, 11, 40_000)  # (on another of the pool's connections)
        assert _load(conn, (7, 39_999)) == 2
        # every run of either planned for the table as it was
        assert _prepared(conn, INGEST)[1] == _prepared(conn, PLAIN)[1] == 0
        plan = _plan_of(conn, INGEST)
    assert "Index Scan" in plan and "Seq Scan on returns" not in plan, plan


@ON_PG
def test_without_it_the_server_keeps_one_plan_made_for_the_nearly_empty_table(
        engine: Engine, db_url: str) -> None:
    """What the setting prevents, on the same server: a plain connection runs a plain lookup on
    a generic plan, made for ten rows (a scan of the whole table). The server keeps that plan until
    something invalidates it, such as an ANALYZE of ``returns``; with autovacuum off or lagging a
    storm, it scanned all of a growing table for every batch. (Whether it is still the cached plan
    after the table grew depends on invalidations from the whole cluster, so that is not asserted
    here: the hub test above holds however the table grew.)"""
    _add_returns(engine, 1, 10)
    plain = create_engine(db_url)  # the migrated database, without the hub's settings
    try:
        with plain.connect() as conn:
            _lookups(conn)
            assert _prepared(conn, PLAIN)[1] > 0
            plan = _plan_of(conn, PLAIN)
    finally:
        plain.dispose()
    assert "Seq Scan on returns" in plan, plan
