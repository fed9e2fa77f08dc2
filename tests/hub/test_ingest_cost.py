"""The cheaper ingest path (issue 16 point 1) decides and stores exactly what the careful one did.

- decoding: the one-pass fast path of ``protocol.codec.decode`` gives the careful path's
  ``Envelope`` for every golden message, and for inputs where pydantic's JSON parser and
  ``json.loads`` could differ it gives the careful path's answer, value or error;
- storing: ``hub.storage.bulk.insert_rows`` stores the same rows as SQLAlchemy's
  ``conn.execute(insert, rows)`` (read back through the same tables), skips held keys when asked,
  stores JSON text made by pydantic as the value it is, and fails the way ``conn.execute``
  fails (a duplicate key is a DBAPI ``IntegrityError``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from bench.ingest import messages, moved, received
from hub.errors import StorageError
from hub.storage.bulk import JsonText, among, insert_rows, pairs_among, rows_at_pairs, update_rows
from hub.storage.engine import reading, writing
from hub.storage.tables.core import audit_log, inbox, nodes, return_items, returns, stores
from hub.sync.ingest import state
from protocol import DecodeError, Envelope, codec, decode, encode, utc_now
from protocol.codec import careful
from tests.hub.helpers import ON_PG
from tests.hub.helpers import received as return_received
from tests.support.databases import statements_sent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "protocol" / "v1"


def either(raw: bytes, path: Any = None) -> Envelope | str:
    """What ``path`` (default: ``decode``) makes of ``raw``: the envelope, or the error."""
    try:
        return (path or decode)(raw)
    except DecodeError as err:
        return f"{err} @ {err.field}"


def golden() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FIXTURES.glob("*.json"))]


def test_every_golden_message_decodes_to_the_careful_paths_envelope() -> None:
    found = golden()
    assert len(found) > 20
    for raw in found:
        fast, slow = decode(raw), careful(raw)
        assert codec._fast(raw) is not None, raw[:80]  # taken by the one pass, not by the fallback
        assert type(fast) is Envelope
        assert fast == slow and fast.model_fields_set == slow.model_fields_set
        assert encode(fast) == encode(slow)


def test_every_invalid_case_keeps_its_error() -> None:
    cases = json.loads((FIXTURES / "invalid" / "cases.json").read_text())
    for case in cases:
        payload = case["payload"]
        raw = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        answer = either(raw)
        assert isinstance(answer, str) and case["message"] in answer, case["name"]
        assert answer == either(raw, careful), case["name"]


def _variants(raw: bytes) -> list[bytes]:
    """Inputs on which two JSON parsers could disagree."""
    data = json.loads(raw)
    body_with_kind = {**data, "body": {**data["body"], "kind": data["kind"]}}
    body_other_kind = {**data, "body": {**data["body"], "kind": "stock.moved"}}
    return [
        raw.replace(b'"seq":', b'"seq":7,"seq":', 1),  # a duplicate key: the last one counts
        raw.replace(b'"seq":1', b'"seq":1.0'), raw.replace(b'"seq":1', b'"seq":true'),
        raw.replace(b'"seq":1', b'"seq":"1"'), raw.replace(b'"seq":1', b'"seq":1e400'),
        raw.replace(b"too small", b"\\ud800 lone"), raw.replace(b"too small", b"\xff"),
        raw.replace(b"too small", "groß ✓".encode()), raw.replace(b'"12.50"', b"12.5"),
        raw.replace(b'"12.50"', b"12"), raw.replace(b'"12.50"', b"NaN"),
        b"\xef\xbb\xbf" + raw, raw.decode().encode("utf-16"), raw + b" \n", raw + b" x",
        json.dumps(body_with_kind).encode(), json.dumps(body_other_kind).encode(),
        raw.replace(b'"kind":"return.received"', b'"kind":"ack"'),
    ]


@pytest.mark.parametrize("make", [lambda: received("s1", 1), lambda: moved("s1", 1, 1)])
def test_where_parsers_could_differ_the_answer_is_the_careful_ones(make: Any) -> None:
    raw = encode(make())
    for variant in _variants(raw):
        assert either(variant) == either(variant, careful), variant


def test_a_kind_not_allowed_here_is_refused_as_before() -> None:
    raw = encode(received("s1", 1))
    with pytest.raises(DecodeError, match="is not allowed here") as caught:
        decode(raw, expect=frozenset({"node.status"}))
    assert caught.value.field == "kind"


def _rows(engine: Engine, table: Any, where: Any) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        found = conn.execute(select(table).where(where).order_by(*table.primary_key.columns))
        return [{k: v for k, v in row._mapping.items() if k != "id"} for row in found]


def _audit(seq: int, now: Any, n: int = 0) -> dict[str, Any]:
    return {"seq": seq, "at": now, "actor": "node:s1/n1", "role": "node",
            "action": "return.received", "entity": "return", "entity_id": f"s1/R{n}",
            "before": None if n % 2 else {"state": "received"},
            "after": {"state": "received", "n": n, "price": {"amount": "1.50"}, "ok": True,
                      "text": "groß ✓ \"quoted\""},
            "reason": None if n % 3 else "why", "prev_hash": "0" * 64, "hash": f"{n:064x}"}


def test_bulk_inserts_store_what_sqlalchemy_stores(engine: Engine) -> None:
    now = utc_now()
    line = {"store_id": "s1", "line_no": 1, "sku": "SKU-1", "quantity": 2,
            "unit_price": Decimal("12.50"), "currency": "EUR", "description": None,
            "gtin": None, "asin": None, "category": None, "opened": True}
    ret = {"node_id": "n1", "state": "received", "channel": "pos", "reason": "r",
           "order_id": None, "rma_id": None, "marketplace_id": None, "mismatch": False,
           "staff_id": None, "received_at": now, "sold_at": None, "grade": None,
           "inspected_at": None, "disposition": None, "disposed_at": None, "created_at": now,
           "updated_at": now}
    with writing(engine) as tx:
        tx.conn.execute(audit_log.insert(), [_audit(1000 + n, now, n) for n in range(3)])
        insert_rows(tx.conn, audit_log, [_audit(2000 + n, now, n) for n in range(3)])
        tx.conn.execute(returns.insert(), [{**ret, "store_id": "s1", "return_id": "A"}])
        insert_rows(tx.conn, returns, [{**ret, "store_id": "s1", "return_id": "B"}])
        tx.conn.execute(return_items.insert(), [{**line, "return_id": "A"}])
        insert_rows(tx.conn, return_items, [{**line, "return_id": "B"}])
    old = _rows(engine, audit_log, audit_log.c.seq.between(1000, 1002))
    new = _rows(engine, audit_log, audit_log.c.seq.between(2000, 2002))
    assert [{**r, "seq": 0} for r in old] == [{**r, "seq": 0} for r in new]
    assert new[0]["after"]["text"] == "groß ✓ \"quoted\"" and new[0]["at"] == now
    a, b = (_rows(engine, t, t.c.return_id == x)[0] for t in (returns,) for x in "AB")
    assert {**a, "return_id": "B"} == b
    a, b = (_rows(engine, t, t.c.return_id == x)[0] for t in (return_items,) for x in "AB")
    assert {**a, "return_id": "B"} == b and b["unit_price"] == Decimal("12.50")


def test_bulk_insert_skips_held_keys_when_asked_and_fails_like_sqlalchemy(engine: Engine) -> None:
    now = utc_now()

    def held(seq: int, message: str) -> dict[str, Any]:
        body = {"n": seq, "text": "groß ✓", "items": [{"a": None}]}
        return {"store_id": "s1", "node_id": "n1", "seq": seq, "message_id": message,
                "kind": "return.received", "occurred_at": now, "received_at": now,
                "body": JsonText(json.dumps(body, ensure_ascii=False)) if seq == 3 else body}

    keys = ["store_id", "node_id", "seq"]
    with writing(engine) as tx:
        insert_rows(tx.conn, inbox, [held(1, "first"), held(2, "first")], ignore=keys)
        insert_rows(tx.conn, inbox, [held(2, "second"), held(3, "second")], ignore=keys)
    found = _rows(engine, inbox, inbox.c.store_id == "s1")
    assert [(r["seq"], r["message_id"]) for r in found] == [(1, "first"), (2, "first"),
                                                            (3, "second")]
    assert found[2]["body"] == {**found[0]["body"], "n": 3}  # JSON text stored as that value
    with pytest.raises(StorageError) as caught, writing(engine) as tx:
        insert_rows(tx.conn, audit_log, [_audit(5000, now), _audit(5000, now)])
    assert isinstance(caught.value.__cause__, IntegrityError)  # as conn.execute would raise
    assert _rows(engine, audit_log, audit_log.c.seq == 5000) == []  # rolled back whole


def test_the_bench_batches_store_and_apply_on_both_databases(engine: Engine) -> None:
    from hub.sync.ingest.batch import store_batch
    from hub.sync.ingest.classify import NodeEvent, classify

    batch = [classify(topic, payload) for topic, payload in messages("mixed", 400, 20)]
    assert all(isinstance(c, NodeEvent) for c in batch)
    with writing(engine) as tx:
        result = store_batch(tx, batch)
    assert (result.stored, result.applied, result.dead) == (400, 400, [])
    with reading(engine) as conn:
        assert conn.scalar(select(returns.c.return_id).where(returns.c.store_id == "bench-0003")
                           .order_by(returns.c.return_id).limit(1)) == "R1"


# what a text array must quote or escape (PostgreSQL: bulk updates send binary arrays)
TRICKY = 'groß ✓ "quoted" \\ back {a,b} NULL \t'


def test_bulk_updates_store_what_sqlalchemy_stores_and_among_finds_what_in_finds(
        engine: Engine) -> None:
    now = utc_now()
    keys = [("s1", f"n{n}") for n in range(5)]
    with writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": "s1", "created_at": now}])
        tx.conn.execute(nodes.insert(), [
            {"store_id": s, "node_id": n, "contiguous_seq": 0, "highest_seq": 0,
             "command_seq": 0, "online": False, "created_at": now} for s, n in keys])

    def change(n: int) -> dict[str, Any]:
        return {"store_id": "s1", "node_id": f"n{n}", "contiguous_seq": 10 + n,
                "highest_seq": 2**40 + n, "online": n % 2 == 0,
                "status": None if n % 2 else {"state": "online", "text": TRICKY, "q": [1]},
                "status_at": None if n % 2 else now, "last_seen_at": now}

    with writing(engine) as tx:  # n0, n1 the SQLAlchemy way; n2, n3 in bulk; n4 untouched
        tx.conn.execute(update(nodes).where(
            nodes.c.store_id == bindparam("k_s"), nodes.c.node_id == bindparam("k_n")).values(
            {k: bindparam(f"v_{k}") for k in change(0) if k not in ("store_id", "node_id")}),
            [{"k_s": "s1", "k_n": f"n{n}", **{f"v_{k}": v for k, v in change(n).items()
                                              if k not in ("store_id", "node_id")}}
             for n in (0, 1)])
        update_rows(tx.conn, nodes, ("store_id", "node_id"), [change(2), {**change(3),
                                                                          "highest_seq": 1}])
        # one row: every value column is one parameter (the path of a value shared by all rows)
        update_rows(tx.conn, nodes, ("store_id", "node_id"), [change(3)])
        update_rows(tx.conn, nodes, ("store_id", "node_id"), [])
    with reading(engine) as conn:
        found = {r.node_id: dict(r._mapping) for r in conn.execute(select(nodes))}
        assert {r.node_id for r in conn.execute(select(nodes.c.node_id).where(
            among(conn, nodes.c.node_id, ["n1", "n3", "x"])))} == {"n1", "n3"}
        assert conn.execute(select(nodes).where(among(conn, nodes.c.node_id, []))).all() == []
    for old, new in ((0, 2), (1, 3)):
        assert {**found[f"n{old}"], "node_id": "", "contiguous_seq": 0, "highest_seq": 0} == {
            **found[f"n{new}"], "node_id": "", "contiguous_seq": 0, "highest_seq": 0}
        assert found[f"n{new}"]["highest_seq"] == 2**40 + new
    assert found["n2"]["status"]["text"] == TRICKY and found["n2"]["status_at"] == now
    assert (found["n4"]["contiguous_seq"], found["n4"]["last_seen_at"]) == (0, None)


def test_pairs_among_finds_exactly_the_pairs_not_their_cross_product(engine: Engine) -> None:
    now = utc_now()
    with writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": s, "created_at": now}
                                          for s in ("s1", "s2")])
        tx.conn.execute(nodes.insert(), [
            {"store_id": s, "node_id": n, "contiguous_seq": 0, "highest_seq": 0,
             "command_seq": 0, "online": False, "created_at": now}
            for s in ("s1", "s2") for n in ("n1", "n2")])
    key = (nodes.c.store_id, nodes.c.node_id)
    with reading(engine) as conn:
        # s1/n2 and s2/n1 are in the cross product of the stores and nodes asked, not in the pairs
        found = {(r.store_id, r.node_id) for r in conn.execute(select(nodes).where(
            pairs_among(conn, key, [("s1", "n1"), ("s2", "n2"), ("s3", "n1")])))}
        assert found == {("s1", "n1"), ("s2", "n2")}
        assert conn.execute(select(nodes).where(pairs_among(conn, key, []))).all() == []


def test_rows_at_pairs_finds_every_row_of_exactly_the_pairs(engine: Engine) -> None:
    now = utc_now()
    with writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": s, "created_at": now}
                                          for s in ("s1", "s2")])
        tx.conn.execute(returns.insert(), [
            {"store_id": s, "return_id": r, "node_id": "n1", "state": "received",
             "channel": "pos", "reason": "x", "mismatch": False, "received_at": now,
             "created_at": now, "updated_at": now} for s in ("s1", "s2") for r in ("R1", "R2")])
        tx.conn.execute(return_items.insert(), [
            {"store_id": s, "return_id": r, "line_no": n, "sku": f"{s}-{r}-{n}", "quantity": 1,
             "unit_price": Decimal("1.50"), "currency": "EUR"}
            for s in ("s1", "s2") for r in ("R1", "R2") for n in (1, 2, 3)])
    asked = [("s1", "R1"), ("s2", "R2"), ("s3", "R1"), ("s1", "R1")]  # unknown, repeated
    with reading(engine) as conn:
        found = [(r.store_id, r.return_id, r.line_no, r.sku, r.unit_price) for r in conn.execute(
            rows_at_pairs(conn, return_items, ("store_id", "return_id"), asked))]
        assert sorted(found) == [(s, r, n, f"{s}-{r}-{n}", Decimal("1.50"))
                                 for s, r in (("s1", "R1"), ("s2", "R2")) for n in (1, 2, 3)]
        (row,) = conn.execute(rows_at_pairs(conn, returns, ("store_id", "return_id"),
                                            [("s2", "R1")]))
        assert (row.store_id, row.return_id, row.received_at) == ("s2", "R1", now)
        # the same table again (PostgreSQL: the statement built once, other values bound)
        again = conn.execute(rows_at_pairs(conn, return_items, ("store_id", "return_id"),
                                           [("s2", "R1")]))
        assert sorted((r.store_id, r.return_id, r.line_no) for r in again) == [
            ("s2", "R1", n) for n in (1, 2, 3)]
        assert conn.execute(rows_at_pairs(conn, returns, ("store_id", "return_id"), [])).all() \
            == []


@ON_PG
def test_rows_at_pairs_probes_the_index_of_a_table_never_analysed(engine: Engine) -> None:
    """PostgreSQL without statistics of ``returns`` (autovacuum off, or behind a storm) hashes
    ``(a, b) IN pairs`` against a scan of the whole table; the ingest's lookup is one index probe
    a pair whatever the planner believes."""
    with writing(engine) as tx:
        tx.conn.exec_driver_sql("INSERT INTO stores (store_id, created_at) SELECT 's' || g, now()"
                                " FROM generate_series(1, 100) AS g")
        tx.conn.exec_driver_sql(
            "INSERT INTO returns (store_id, return_id, node_id, state, channel, reason, mismatch,"
            " received_at, created_at, updated_at) SELECT 's' || (1 + mod(g, 100)), 'R' || g, 'n1',"
            " 'received', 'pos', 'x', false, now(), now(), now()"
            " FROM generate_series(1, 40000) AS g")
    asked = [(f"s{1 + n % 100}", f"R{n}") for n in range(1, 500)]

    def plan(conn: Any, query: Any) -> str:
        compiled = query.compile(dialect=conn.dialect)
        return "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())

    with reading(engine) as conn:
        ours = plan(conn, rows_at_pairs(conn, returns, ("store_id", "return_id"), asked))
        plain = plan(conn, select(returns).where(
            pairs_among(conn, (returns.c.store_id, returns.c.return_id), asked)))
    assert "Index Scan using pk_returns" in ours and "Seq Scan on returns" not in ours, ours
    assert "Seq Scan on returns" in plain, plain  # what it avoids, on the same table


def test_a_batch_of_1200_returns_is_looked_up_in_one_statement_on_postgresql(
        engine: Engine) -> None:
    """Each lookup is a round trip the writer waits for with the audit tip held (3-4 ms under
    load): PostgreSQL takes all the keys at once (arrays), SQLite 500 at a time (parameters).
    Either way every stored return of the batch is found, and only those."""
    with writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": "s1", "created_at": tx.now}])
        tx.conn.execute(returns.insert(), [
            {"store_id": "s1", "return_id": f"R{n}", "node_id": "n1", "state": "received",
             "channel": "pos", "reason": "x", "mismatch": False, "received_at": tx.now,
             "created_at": tx.now, "updated_at": tx.now} for n in range(1, 1201, 2)])
    events = [return_received("s1", "n1", n, f"R{n}") for n in range(1, 1201)]
    with statements_sent(engine) as sent, writing(engine) as tx:
        found = state.load(tx, events).returns
    statements = [sql for sql in sent if "FROM returns" in sql]
    assert sorted(found) == sorted(("s1", f"R{n}") for n in range(1, 1201, 2))
    assert len(statements) == (1 if engine.dialect.name == "postgresql" else 3)
