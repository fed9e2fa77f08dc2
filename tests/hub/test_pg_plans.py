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

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select

from hub.amazon.listings.outbox import last_queued
from hub.amazon.refunds import matching
from hub.amazon.shipments.due import due_soon, unconfirmed_counts
from hub.finance.evidence import store as evidence
from hub.inventory import picking
from hub.inventory.check import hub_figures
from hub.inventory.differences import amazon_listings
from hub.inventory.routing import service
from hub.inventory.stock_source import pos_sales
from hub.storage.bulk import _delete_at_pairs, delete_at_pairs, pairs_among
from hub.storage.engine import Tx
from hub.storage.tables.amazon import OPEN_ORDERS
from hub.storage.tables.core import returns
from hub.storage.tables.reasons import reason_queue
from hub.sync.ingest import state
from protocol import StockSnapshot, utc_now
from tests.hub.helpers import ON_PG, received
from tests.support.databases import statements_sent

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


def _queue(engine: Engine, count: int) -> None:
    """``count`` queued returns ``s<n % 50>/Q<n>`` (the queue's rows alone: no trigger fires)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("INSERT INTO reason_queue (store_id, return_id) SELECT "
                                 "'s' || (g %% 50), 'Q' || g FROM generate_series(1, %s) AS g",
                                 (count,))
        else:
            conn.execute(reason_queue.insert(), [{"store_id": f"s{n % 50}", "return_id": f"Q{n}"}
                                                 for n in range(1, count + 1)])


def test_delete_at_pairs_deletes_exactly_the_pairs_named(engine: Engine) -> None:
    _queue(engine, 1_000)
    gone = [("s7", "Q7"), ("s8", "Q958"), ("s7", "Q7"), ("s9", "Q8"), ("s0", "Q5000")]
    with engine.begin() as conn:  # named twice: once; ("s9", "Q8") and Q5000: not queued
        assert delete_at_pairs(conn, reason_queue, ("store_id", "return_id"), gone) == 2
        assert delete_at_pairs(conn, reason_queue, ("store_id", "return_id"), []) == 0
    with engine.connect() as conn:
        left = {tuple(r) for r in conn.execute(select(reason_queue.c.store_id,
                                                      reason_queue.c.return_id))}
    assert len(left) == 998 and ("s7", "Q7") not in left and ("s8", "Q958") not in left
    assert ("s8", "Q8") in left and ("s9", "Q9") in left


@ON_PG
def test_a_delete_at_pairs_probes_the_key_of_a_table_the_planner_believes_empty(
        engine: Engine) -> None:
    """The reasons pass deletes the returns it classified from ``reason_queue``, which it finds
    with no statistics (autovacuum off, or a queue filled since the last ANALYZE). As
    ``(a, b) IN pairs`` PostgreSQL hashed the whole queue for every batch (60-90 ms a batch of
    2,000 at 100,000 queued, growing while the pass lags); ``delete_at_pairs`` probes the key's
    index once a pair, then deletes by ``ctid``."""
    _queue(engine, 40_000)
    wanted = [(f"s{n % 50}", f"Q{n}") for n in range(1, 2_001)]
    stmt = _delete_at_pairs(reason_queue, ("store_id", "return_id"))
    with engine.connect() as conn:
        compiled = stmt.compile(conn)
        plan = "\n".join(conn.exec_driver_sql(
            f"EXPLAIN {compiled}", {"pairs_a": [a for a, _ in wanted],
                                    "pairs_b": [b for _, b in wanted]}).scalars())
        plain = "\n".join(conn.exec_driver_sql(
            "EXPLAIN DELETE FROM reason_queue WHERE (store_id, return_id) IN "
            "(SELECT * FROM unnest(%(a)s::varchar[], %(b)s::varchar[]))",
            {"a": [a for a, _ in wanted], "b": [b for _, b in wanted]}).scalars())
    assert "Tid Scan on reason_queue" in plan and "Index" in plan, plan
    assert "Hash" not in plan and "Seq Scan on reason_queue" not in plan, plan
    # what it replaced, planned on the same table: the whole queue read for the hash
    assert "Hash" in plain, plain
    with engine.begin() as conn:
        assert delete_at_pairs(conn, reason_queue, ("store_id", "return_id"), wanted) == 2_000
        assert conn.execute(select(func.count()).select_from(reason_queue)).scalar() == 38_000


def _rows_read(plan: dict[str, Any], table: str) -> int:
    """The rows a plan node (and those under it) read from ``table``: returned and filtered."""
    own = 0
    if plan.get("Relation Name") == table:
        own = (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
               + plan.get("Rows Removed by Index Recheck", 0)) * plan.get("Actual Loops", 1)
    return own + sum(_rows_read(child, table) for child in plan.get("Plans", ()))


@contextmanager
def _sent(target: Connection | Engine, selects_only: bool = False
          ) -> Iterator[list[tuple[str, Any]]]:
    """The statements ``target`` sends meanwhile with their parameters (``statements_sent``),
    filled in when the block ends; ``selects_only``: the SELECTs."""
    statements: list[tuple[str, Any]] = []
    parameters: list[Any] = []
    with statements_sent(target, parameters=parameters) as sent:
        yield statements
    statements.extend((sql, params) for sql, params in zip(sent, parameters, strict=True)
                      if not selects_only or sql.lstrip().upper().startswith("SELECT"))


def _plan(conn: Connection, sql: str, params: Any) -> dict[str, Any]:
    """The executed plan of ``sql`` (EXPLAIN ANALYZE), as JSON."""
    plan: dict[str, Any] = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}",
                                                params).scalar_one()[0]["Plan"]
    return plan


@ON_PG
def test_a_snapshot_page_reads_the_moves_after_its_count_not_the_node_s_history(
        engine: Engine) -> None:
    """A store's year of sales is a million moves of its node; each snapshot page was compared
    with the sum of all of them (300 ms a page at a million, inside the ingest's transaction).
    The check now starts from the node's running figures and reads back only the moves after the
    page's ``as_of_seq``: here 5 of 40,000, found by the node's seq index with no statistics."""
    with engine.begin() as conn:  # 40,000 moves of s1/n1 over 20 SKUs, one unit each
        conn.exec_driver_sql(
            "INSERT INTO stock_moves (store_id, node_id, seq, move_id, sku, quantity,"
            " to_state, reason, at, applied_at) SELECT 's1', 'n1', g, 'M' || g,"
            " 'SKU-' || (g %% 20), 1, 'sellable', 'count', now(), now()"
            " FROM generate_series(1, 40000) AS g")
    page = StockSnapshot.model_construct(as_of_seq=39_995, after_sku=None, last_sku=None)
    with engine.connect() as conn:
        with _sent(conn) as statements:
            figures = hub_figures(conn, "s1", "n1", page)
        reads = [_rows_read(_plan(conn, sql, params), "stock_moves")
                 for sql, params in statements]
    # 2,000 a SKU, less the units of the 5 moves after the count (seqs 39,996-40,000)
    assert figures == {(f"SKU-{n}", "sellable"): 2_000 - (n in (16, 17, 18, 19, 0))
                       for n in range(20)}
    assert sum(reads) == 5, reads


@ON_PG
def test_the_sales_window_reads_the_window_s_sales_not_every_move(engine: Engine) -> None:
    """The sales velocity sums the POS sales of the last 28 days; it read every stock move ever
    stored. Here a year of 40,000 moves, 20 of them sales inside the window: it reads those."""
    with engine.begin() as conn:  # a move every ~13 minutes over a year, every other a sale
        conn.exec_driver_sql(
            "INSERT INTO stock_moves (store_id, node_id, seq, move_id, sku, quantity, from_state,"
            " to_state, reason, at, applied_at) SELECT 's1', 'n1', g, 'M' || g, 'SKU-' || (g %% 7),"
            " 1, CASE WHEN g %% 2 = 0 THEN 'sellable' END, CASE WHEN g %% 2 = 1 THEN 'sellable'"
            " END, CASE WHEN g %% 2 = 0 THEN 'pos_sale' ELSE 'count' END,"
            " now() - interval '365 days' + g * interval '788 seconds', now()"
            " FROM generate_series(1, 40000) AS g")
    with engine.connect() as conn:
        now = conn.exec_driver_sql("SELECT now()").scalar_one()
        with _sent(conn) as statements:
            sales = pos_sales(conn, now - timedelta(days=337), 1)  # one day, early in the year
        sold = conn.exec_driver_sql(  # the same, counted by the server (109-110 moves a day)
            "SELECT sum(quantity) FROM stock_moves WHERE reason = 'pos_sale' AND at BETWEEN"
            " %(now)s - interval '338 days' AND %(now)s - interval '337 days'",
            {"now": now}).scalar_one()
        (sql, params), = statements
        plan = _plan(conn, sql, params)
    assert sum(sales.units.values()) == sold and 50 < sold < 60, (sales, sold)
    assert _rows_read(plan, "stock_moves") <= 60, plan


def _explained_reads(engine: Engine, run: Any, tables: tuple[str, ...]
                     ) -> list[tuple[str, dict[str, int]]]:
    """Run ``run(conn)`` in a transaction, then EXPLAIN ANALYZE each SELECT it sent: each
    statement with the rows it read from each of ``tables``."""
    with engine.connect() as conn:
        with _sent(conn, selects_only=True) as statements, conn.begin():
            run(conn)
        plans = [_plan(conn, sql, params) for sql, params in statements]
    return [(sql, {table: _rows_read(plan, table) for table in tables})
            for (sql, _), plan in zip(statements, plans, strict=True)]


def _total(reads: list[tuple[str, dict[str, int]]], table: str) -> int:
    return sum(each[table] for _, each in reads)


@ON_PG
def test_a_page_s_sku_range_is_found_in_the_node_s_figures_by_their_key(engine: Engine) -> None:
    """Pages compare SKUs in byte order (collation "C"); ``node_stock``'s SKUs sort so too, so a
    page of 100 SKUs reads those of a node holding 5,000, not all of them."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO node_stock (store_id, node_id, sku, state, quantity) SELECT 's1', 'n1',"
            " 'SKU-' || lpad(g::text, 5, '0'), 'sellable', 1 FROM generate_series(1, 5000) AS g")
    page = StockSnapshot.model_construct(as_of_seq=0, after_sku="SKU-01000", last_sku="SKU-01100")
    found: dict[Any, int] = {}
    reads = _explained_reads(engine, lambda conn: found.update(
        hub_figures(conn, "s1", "n1", page)), ("node_stock",))
    assert len(found) == 100 and _total(reads, "node_stock") <= 101, (len(found), reads)


@ON_PG
def test_routing_and_a_shipped_package_read_the_open_orders_not_every_order(
        engine: Engine) -> None:
    """A year of 20,000 shipped orders, each routed with its package and shipment, beside 3 open
    ones: routing's inputs and the twice-shipped check of an ``order.shipped`` read the open
    orders and the order's own rows (migration 0042), not the history."""
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO amazon_orders (account, order_id, marketplace_id, status, fulfilled_by,"
            " purchased_at, last_updated_at, items, content_hash, first_seen_at, updated_at)"
            " SELECT 'acc', 'O' || g, 'ATVPDKIKX0DER', CASE WHEN g <= 3 THEN 'UNSHIPPED'"
            " ELSE 'SHIPPED' END, 'MFN', now(), now(), '[{\"sku\": \"SKU-1\", \"quantity\": 1}]',"
            " 'h', now(), now() FROM generate_series(1, 20000) AS g",
            "INSERT INTO routed_orders (account, order_id, marketplace_id, status, given_back,"
            " decision, rules_version, attempt, routed_at, routed_by) SELECT 'acc', 'O' || g,"
            " 'ATVPDKIKX0DER', 'routed', '[]', '{}', 1, 1, now(), 'system'"
            " FROM generate_series(1, 20000) AS g",
            "INSERT INTO routed_packages (account, order_id, store_id, ship_date, lines)"
            " SELECT 'acc', 'O' || g, 's' || (g %% 50), current_date - (g %% 300),"
            " '[{\"sku\": \"SKU-1\", \"quantity\": 1}]' FROM generate_series(1, 20000) AS g",
            "INSERT INTO package_shipments (package_id, account, order_id, marketplace_id,"
            " reference_id, store_id, node_id, carrier, tracking_number, shipped_at, lines,"
            " confirm_state, attempts, recorded_at) SELECT 'P' || g, 'acc', 'O' || g,"
            " 'ATVPDKIKX0DER', 1, 's1', 'n1', 'UPS', 'T' || g, now(),"
            " '[{\"sku\": \"SKU-1\", \"quantity\": 1}]', 'confirmed', 1, now()"
            " FROM generate_series(4, 20000) AS g"):
            conn.exec_driver_sql(sql)
    with engine.connect() as conn:  # as autovacuum would have by then (it is off here)
        conn.exec_driver_sql("ANALYZE amazon_orders, routed_orders, routed_packages,"
                             " package_shipments")
        conn.commit()
    reads = _explained_reads(engine, lambda conn: service.load_inputs(
        conn, utc_now(), ["SKU-1"]), ("amazon_orders", "routed_packages", "pick_tasks"))
    assert _total(reads, "routed_packages") <= 400, reads  # loads: ~133 shipping since yesterday
    # the statements of open orders read those; the loads' join to the orders of its ~133
    # packages is the planner's to choose: at this size it hashes all 20,000 (cheaper than 133
    # probes by its costs), at a chain's millions it probes
    assert sum(each["amazon_orders"] for sql, each in reads if "ship_date >=" not in sql) <= 20
    shipped = _explained_reads(engine, lambda conn: picking._over_shipped(
        Tx(conn, utc_now()), "acc", "O2", "P2", [{"sku": "SKU-1", "quantity": 1}]),
        ("package_shipments",))
    assert _total(shipped, "package_shipments") <= 2, shipped
    # the index's statuses are routing's open ones
    assert "status IN ({})".format(
        ", ".join(f"'{s}'" for s in ("PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED"))) == OPEN_ORDERS
    assert {"PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED"} == service.OPEN


@ON_PG
def test_the_newest_listing_change_of_each_key_is_read_by_its_id_not_by_grouping_all(
        engine: Engine) -> None:
    """A year of listing changes: 200 keys with 200 changes each. The listings pass, the
    oversell check and the issues read each key's newest (accepted) row: 200 rows, not the
    40,000 the grouping read."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO amazon_listing_changes (account, marketplace_id, sku, change_id,"
            " quantity, status, attempts, created_at) SELECT 'acc', 'M1', 'SKU-' || (g %% 200),"
            " g / 200 + 1, g, CASE WHEN g >= 39800 THEN 'pending' ELSE 'accepted' END, 1, now()"
            " FROM generate_series(0, 39999) AS g")
    newest: dict[Any, Any] = {}
    reads = _explained_reads(engine, lambda conn: newest.update(
        last_queued(conn, "acc")), ("amazon_listing_changes",))
    assert len(newest) == 200 and {change for change, _ in newest.values()} == {200}
    assert _total(reads, "amazon_listing_changes") <= 200, reads
    listed: list[Any] = []
    reads = _explained_reads(engine, lambda conn: listed.extend(amazon_listings(conn)),
                             ("amazon_listing_changes",))
    assert len(listed) == 200 and all(item.in_flight for item in listed)
    assert {item.quantity for item in listed} == set(range(39_600, 39_800))  # change 199
    assert _total(reads, "amazon_listing_changes") <= 400, reads


@ON_PG
def test_metrics_and_refund_matching_read_what_is_open_not_every_row(engine: Engine) -> None:
    """20,000 tasks shipped and confirmed, 20,000 refund submissions settled, beside a few still
    open: ``/metrics``' due packages and unconfirmed shipments, and the refunds job's open
    submissions and the adjustment ids their orders took, read the open ones (migration 0044)."""
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO pick_tasks (package_id, account, order_id, store_id, node_id,"
            " command_id, lines, ship_by, status, sent_at) SELECT 'P' || g, 'acc', 'O' || g, 's1',"
            " 'n1', 'C' || g, '[]', now() + interval '1 hour', CASE WHEN g <= 3 THEN 'open'"
            " ELSE 'shipped' END, now() FROM generate_series(1, 20000) AS g",
            "INSERT INTO package_shipments (package_id, account, order_id, marketplace_id,"
            " reference_id, store_id, node_id, carrier, tracking_number, shipped_at, lines,"
            " confirm_state, attempts, recorded_at) SELECT 'P' || g, 'acc', 'O' || g, 'M1', 1,"
            " 's1', 'n1', 'UPS', 'T' || g, now(), '[]', CASE WHEN g <= 3 THEN 'pending' ELSE"
            " 'confirmed' END, 1, now() FROM generate_series(1, 20000) AS g",
            "INSERT INTO amazon_refund_submissions (store_id, refund_id, account, feed_key,"
            " message_id, order_id, marketplace_id, amount, currency, items, status, created_at,"
            " updated_at) SELECT 's1', 'F' || g, 'acc', 'K', g, 'O' || g, 'M1', 1, 'EUR',"
            " ('[{\"adjustment_id\": \"A' || g || '\"}]')::json,"
            " CASE WHEN g <= 3 THEN 'submitted' ELSE 'settled' END, now(), now()"
            " FROM generate_series(1, 20000) AS g"):
            conn.exec_driver_sql(sql)
    with engine.connect() as conn:  # as autovacuum would have (off here): "not confirmed" is
        conn.exec_driver_sql("ANALYZE pick_tasks, package_shipments,"  # rare only by the
                             " amazon_refund_submissions")  # statistics
        conn.commit()
    due: list[Any] = []
    reads = _explained_reads(engine, lambda conn: (due.extend(due_soon(conn, utc_now())),
                                                   due.append(unconfirmed_counts(conn))),
                             ("pick_tasks", "package_shipments"))
    assert len(due) == 4 and due[-1]["pending"] == 3, due
    assert _total(reads, "pick_tasks") <= 3 and _total(reads, "package_shipments") <= 3, reads
    subs: list[Any] = []
    reads = _explained_reads(engine, lambda conn: subs.extend(
        matching._submissions(conn, "acc", matching.OPEN)), ("amazon_refund_submissions",))
    assert len(subs) == 3 and _total(reads, "amazon_refund_submissions") <= 3, reads
    taken: set[str] = set()
    reads = _explained_reads(engine, lambda conn: taken.update(matching._taken(
        conn, "acc", {s["order_id"] for s in subs})), ("amazon_refund_submissions",))
    assert taken == {"A1", "A2", "A3"} and _total(reads, "amazon_refund_submissions") <= 3


@ON_PG
def test_the_evidence_purge_finds_nothing_due_without_reading_the_kept_evidence(
        engine: Engine, tmp_path: Path) -> None:
    """Evidence is kept for years; the daily purge asked whether any was due by scanning every
    item not yet purged (and the purged ones beside them). Migration 0045's index of the items
    not purged, by ``purge_after``, answers it in one probe: here none of 40,000 is read."""
    with engine.begin() as conn:  # 20,000 kept for another year, 20,000 purged last year
        conn.exec_driver_sql(
            "INSERT INTO evidence_items (evidence_id, sha256, size, media_type, kind, source,"
            " store_id, return_id, note, recorded_by, recorded_at, purge_after, purged_at)"
            " SELECT 'E' || g, md5(g::text) || md5(g::text), 1, 'image/png', 'photo', 'counter',"
            " 's1', 'R' || g, '', 'desk', now(), now() + interval '1 year',"
            " CASE WHEN g > 20000 THEN now() - interval '1 year' END"
            " FROM generate_series(1, 40000) AS g")
    with _sent(engine, selects_only=True) as statements:
        purged = evidence.purge(engine, tmp_path)
    with engine.connect() as conn:
        reads = [_rows_read(_plan(conn, sql, params), "evidence_items")
                 for sql, params in statements if "evidence_items" in sql]
    assert purged == 0 and reads == [0], reads
