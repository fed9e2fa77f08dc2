"""The store's stock ledger: the pure rules by table, and the API end to end on a real agent
(real SQLite, real HTTP): returns move stock only through QC, POS sales and counts book once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge_agent.stock import rules
from edge_agent.stock.rules import Draft, StockRefused
from edge_agent.storage import replay
from edge_agent.storage.store import Store
from protocol import MOVES, MoveReason, StockState
from tests.edge.conftest import NODE, STORE, Running

S = StockState
RETURN: dict[str, Any] = {"channel": "amazon_mfn", "reason": "defective", "staff_id": "ann",
                          "items": [{"sku": "SKU-K", "quantity": 2,
                                     "unit_price": {"amount": "9.99", "currency": "USD"}}]}


def levels(run: Running, sku: str) -> dict[str, int]:
    answer = run.http.get(f"/api/stock/{sku}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["levels"])


def stock_events(run: Running) -> list[dict[str, Any]]:
    with run.agent.store.read() as tx:
        rows = tx.all("SELECT seq, body FROM outbox WHERE kind = 'stock.moved' ORDER BY seq")
    return [json.loads(r["body"]) for r in rows]


def receive(run: Running, **changes: Any) -> str:
    answer = run.http.post("/api/returns", json={**RETURN, **changes})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["return_id"])


def count(run: Running, count_id: str, lines: list[dict[str, Any]], **extra: Any) -> Any:
    return run.http.post("/api/stock/counts", json={"count_id": count_id, "lines": lines,
                                                    **extra})


# -- the pure rules ----------------------------------------------------------------------------

@pytest.mark.parametrize(("draft", "held", "after"), [
    (Draft("A", 2, None, S.QC_HOLD, MoveReason.RETURN_RECEIVED), {}, {S.QC_HOLD: 2}),
    (Draft("A", 1, S.QC_HOLD, S.SELLABLE, MoveReason.DISPOSITION, inspected=True),
     {S.QC_HOLD: 1}, {S.QC_HOLD: 0, S.SELLABLE: 1}),
    (Draft("A", 1, S.QC_HOLD, S.SCRAP, MoveReason.DISPOSITION), {S.QC_HOLD: 3},
     {S.QC_HOLD: 2, S.SCRAP: 1}),
    (Draft("A", 3, S.SELLABLE, None, MoveReason.POS_SALE), {S.SELLABLE: 1}, {S.SELLABLE: -2}),
    (Draft("A", 2, S.SELLABLE, S.RESERVED, MoveReason.RESERVATION), {S.SELLABLE: 2},
     {S.SELLABLE: 0, S.RESERVED: 2}),
])
def test_allowed_moves_give_the_quantities_after(draft: Draft, held: dict[StockState, int],
                                                 after: dict[StockState, int]) -> None:
    assert rules.check(draft, held) == after


@pytest.mark.parametrize(("draft", "held", "field"), [
    # never sellable before inspection, whatever the stock
    (Draft("A", 1, S.QC_HOLD, S.SELLABLE, MoveReason.DISPOSITION), {S.QC_HOLD: 5}, "to_state"),
    # a return enters QC hold, never sellable
    (Draft("A", 1, None, S.SELLABLE, MoveReason.RETURN_RECEIVED), {}, "reason"),
    (Draft("A", 1, None, S.SELLABLE, MoveReason.POS_RETURN), {}, "reason"),
    # scrap never comes back to sellable
    (Draft("A", 1, S.SCRAP, S.SELLABLE, MoveReason.DISPOSITION), {S.SCRAP: 1}, "reason"),
    # no quantity below zero but by a sale
    (Draft("A", 2, S.SELLABLE, S.RESERVED, MoveReason.RESERVATION), {S.SELLABLE: 1}, "quantity"),
    (Draft("A", 1, S.QC_HOLD, S.SCRAP, MoveReason.DISPOSITION), {}, "quantity"),
])
def test_refused_moves_are_409_naming_the_field(draft: Draft, held: dict[StockState, int],
                                                field: str) -> None:
    with pytest.raises(StockRefused) as caught:
        rules.check(draft, held)
    assert caught.value.status_code == 409 and caught.value.field == field


def test_no_reason_moves_scrap_to_sellable_and_only_a_disposition_leaves_qc_hold() -> None:
    for reason, pairs in MOVES.items():
        assert (S.SCRAP, S.SELLABLE) not in pairs
        assert all(to is not S.SELLABLE or reason is not MoveReason.COUNT or frm is None
                   for frm, to in pairs)
        assert {to for frm, to in pairs if frm is S.QC_HOLD} <= (
            {S.SELLABLE, S.REFURBISH, S.SCRAP, None} if reason is MoveReason.DISPOSITION
            else {None})


@pytest.mark.parametrize(("held", "counted", "expected"), [
    (2, 5, (3, None, S.SELLABLE)), (5, 2, (3, S.SELLABLE, None)), (-2, 0, (2, None, S.SELLABLE)),
    (4, 4, None)])
def test_a_count_books_its_difference(held: int, counted: int,
                                      expected: tuple[int, Any, Any] | None) -> None:
    draft = rules.count_draft("A", S.SELLABLE, held, counted, "c1", "ann")
    if expected is None:
        assert draft is None
    else:
        assert draft is not None
        assert (draft.quantity, draft.from_state, draft.to_state) == expected
        assert draft.reason is MoveReason.COUNT and draft.count_id == "c1"


# -- through the API -----------------------------------------------------------------------------

def test_a_returned_item_reaches_sellable_only_after_its_inspection(agent: Running) -> None:
    return_id = receive(agent)
    held = levels(agent, "SKU-K")
    assert (held["qc_hold"], held["sellable"]) == (2, 0)
    early = agent.http.post(f"/api/returns/{return_id}/disposition",
                            json={"disposition": "restock_sellable"})
    assert early.status_code == 409
    assert levels(agent, "SKU-K")["sellable"] == 0
    inspected = agent.http.post(f"/api/returns/{return_id}/inspection", json={"grade": "new"})
    assert inspected.status_code == 201
    assert levels(agent, "SKU-K")["sellable"] == 0 and levels(agent, "SKU-K")["qc_hold"] == 2
    disposed = agent.http.post(f"/api/returns/{return_id}/disposition",
                               json={"disposition": "restock_sellable"})
    assert disposed.status_code == 201, disposed.text
    assert levels(agent, "SKU-K")["sellable"] == 2 and levels(agent, "SKU-K")["qc_hold"] == 0
    events = stock_events(agent)
    assert [(e["reason"], e.get("from_state"), e.get("to_state"), e["quantity"])
            for e in events] == [("return_received", None, "qc_hold", 2),
                                 ("disposition", "qc_hold", "sellable", 2)]
    assert events[-1]["balance"] == {"qc_hold": 0, "sellable": 2}


def test_a_scrapped_return_never_becomes_sellable(agent: Running) -> None:
    return_id = receive(agent)
    agent.http.post(f"/api/returns/{return_id}/inspection", json={"grade": "defective"})
    answer = agent.http.post(f"/api/returns/{return_id}/disposition",
                             json={"disposition": "dispose"})
    assert answer.status_code == 201
    held = levels(agent, "SKU-K")
    assert (held["scrap"], held["sellable"], held["qc_hold"]) == (2, 0, 0)
    # no request can take it from scrap to sellable: a count books it out, never across
    out = count(agent, "scrap-1", [{"sku": "SKU-K", "quantity": 0}], state="scrap")
    assert out.status_code == 201
    assert levels(agent, "SKU-K")["sellable"] == 0 and levels(agent, "SKU-K")["scrap"] == 0


def test_a_pos_return_enters_qc_hold_as_a_pos_return(agent: Running) -> None:
    answer = agent.http.post("/api/pos/returns", json={
        "pos_transaction_id": "till-1-r1", "receipt_id": "B-1", "reason": "defective",
        "lines": [{"sku": "SKU-P", "qty": 1, "price": {"amount": "5.00", "currency": "USD"}}]})
    assert answer.status_code == 201, answer.text
    assert levels(agent, "SKU-P")["qc_hold"] == 1
    assert stock_events(agent)[0]["reason"] == "pos_return"


def test_a_pos_sale_is_booked_once_per_transaction_id(agent: Running) -> None:
    count(agent, "start", [{"sku": "SKU-S", "quantity": 10}])
    sale = {"pos_transaction_id": "till-3-000188", "receipt_id": "B-188", "cashier": "c-17",
            "lines": [{"sku": "SKU-S", "qty": 2}, {"sku": "SKU-T", "qty": 1}]}
    first = agent.http.post("/api/pos/sales", json=sale)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and len(first.json()["moves"]) == 2
    again = agent.http.post("/api/pos/sales", json=sale)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["moves"] == first.json()["moves"]
    assert levels(agent, "SKU-S")["sellable"] == 8
    assert len([e for e in stock_events(agent) if e["reason"] == "pos_sale"]) == 2
    other = agent.http.post("/api/pos/sales", json={**sale, "lines": [{"sku": "SKU-S",
                                                                       "qty": 3}]})
    assert other.status_code == 409
    assert other.json()["detail"][0]["field"] == "pos_transaction_id"
    assert levels(agent, "SKU-S")["sellable"] == 8


def test_a_sale_beyond_the_ledger_is_booked_and_asks_for_a_count(agent: Running) -> None:
    answer = agent.http.post("/api/pos/sales", json={"pos_transaction_id": "t-1",
                                                     "lines": [{"sku": "SKU-N", "qty": 2}]})
    assert answer.status_code == 201
    view = agent.http.get("/api/stock/SKU-N").json()
    assert view["levels"]["sellable"] == -2 and view["needs_count"] is True
    count(agent, "fix-1", [{"sku": "SKU-N", "quantity": 1}])
    view = agent.http.get("/api/stock/SKU-N").json()
    assert view["levels"]["sellable"] == 1 and view["needs_count"] is False


def test_a_count_difference_is_booked_and_audited_once(agent: Running) -> None:
    count(agent, "c-0", [{"sku": "SKU-C", "quantity": 2}, {"sku": "SKU-D", "quantity": 4}])
    audit_before = agent.rows("audit")
    answer = count(agent, "c-1", [{"sku": "SKU-C", "quantity": 5}], counted_by="ann")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["lines"] == [{"sku": "SKU-C", "held": 2, "counted": 5, "difference": 3}]
    assert [(m["reason"], m["to_state"], m["quantity"]) for m in body["moves"]] == [
        ("count", "sellable", 3)]
    with agent.agent.store.read() as tx:
        entries = tx.all("SELECT actor, action, entity_id, after FROM audit WHERE id > "
                         "(SELECT max(id) - 2 FROM audit) ORDER BY id")
    assert [(e["actor"], e["action"]) for e in entries] == [("ann", "stock.moved"),
                                                            ("ann", "stock.counted")]
    assert json.loads(entries[1]["after"])["differences"] == {"SKU-C": 3}
    assert agent.rows("audit") == audit_before + 2
    repeat = count(agent, "c-1", [{"sku": "SKU-C", "quantity": 5}], counted_by="ann")
    assert repeat.status_code == 200 and repeat.json()["created"] is False
    assert agent.rows("audit") == audit_before + 2
    # a full count: what it does not name was counted at zero
    full = count(agent, "c-2", [{"sku": "SKU-C", "quantity": 5}], full=True)
    assert full.status_code == 201
    assert levels(agent, "SKU-D")["sellable"] == 0 and levels(agent, "SKU-C")["sellable"] == 5


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/stock/counts", {"count_id": "x", "lines": [{"sku": "A", "quantity": -1}]},
     "lines.0.quantity"),
    ("/api/stock/counts", {"count_id": "x", "lines": [], "state": "attic"}, "state"),
    ("/api/stock/counts", {"count_id": "x", "lines": [{"sku": "A", "quantity": 1},
                                                      {"sku": "A", "quantity": 2}]}, "lines"),
    ("/api/pos/sales", {"pos_transaction_id": "t", "lines": []}, "lines"),
    ("/api/pos/sales", {"pos_transaction_id": "t", "lines": [{"sku": "A", "qty": 0}]},
     "lines.0.qty"),
    ("/api/pos/sales", {"pos_transaction_id": "t", "lines": [{"sku": "A", "qty": 1}],
                        "colour": "red"}, "colour"),
])
def test_bad_stock_requests_name_the_field_and_write_nothing(agent: Running, path: str,
                                                             body: dict[str, Any],
                                                             field: str) -> None:
    before = agent.rows("outbox"), agent.rows("stock_moves")
    answer = agent.http.post(path, json=body)
    assert 400 <= answer.status_code < 500
    assert answer.json()["detail"][0]["field"] == field
    assert (agent.rows("outbox"), agent.rows("stock_moves")) == before


def test_a_disposition_refused_by_the_ledger_rolls_the_whole_action_back(
        agent: Running) -> None:
    return_id = receive(agent)
    agent.http.post(f"/api/returns/{return_id}/inspection", json={"grade": "good"})
    count(agent, "lost", [{"sku": "SKU-K", "quantity": 0}], state="qc_hold")
    before = agent.rows("outbox")
    answer = agent.http.post(f"/api/returns/{return_id}/disposition",
                             json={"disposition": "restock_sellable"})
    assert answer.status_code == 409 and answer.json()["detail"][0]["field"] == "quantity"
    assert agent.rows("outbox") == before and agent.rows("dispositions") == 0



def test_replaying_the_outbox_rebuilds_the_ledger(agent: Running, tmp_path: Path) -> None:
    """What journal restore and ``acorn-edge recover`` do: the events alone give the ledger."""
    count(agent, "c-1", [{"sku": "SKU-R", "quantity": 4}])
    agent.http.post("/api/pos/sales", json={"pos_transaction_id": "t-9",
                                            "lines": [{"sku": "SKU-R", "qty": 3}]})
    receive(agent)
    with agent.agent.store.read() as tx:
        events = tx.all("SELECT * FROM outbox ORDER BY seq")
        moves = tx.all("SELECT * FROM stock_moves ORDER BY id")
        held = tx.all("SELECT sku, state, quantity FROM stock_levels ORDER BY sku, state")
    fresh = Store.open(tmp_path / "fresh.db", STORE, NODE)
    try:
        with fresh.write() as tx:
            for row in events:
                envelope = replay.envelope_of(STORE, NODE, row["seq"], row["message_id"],
                                              row["kind"], row["body"], row["occurred_at"])
                replay.replay(tx, envelope, row["seq"], "test")
                assert replay.already_recorded(tx, envelope)
                assert not replay.replay(tx, envelope, row["seq"], "test")  # idempotent
        with fresh.read() as tx:
            assert tx.all("SELECT * FROM stock_moves ORDER BY id") == moves
            assert tx.all("SELECT sku, state, quantity FROM stock_levels ORDER BY sku, "
                          "state") == held
    finally:
        fresh.close()


def test_transfers_and_reservations_move_by_the_rules_and_retry_safely(agent: Running) -> None:
    count(agent, "c-1", [{"sku": "SKU-T", "quantity": 5}])
    reserve = {"sku": "SKU-T", "quantity": 2, "reason": "reservation", "transfer_id": "order-9"}
    key = {"Idempotency-Key": "reserve-order-9"}
    first = agent.http.post("/api/stock/moves", json=reserve, headers=key)
    assert first.status_code == 201, first.text
    again = agent.http.post("/api/stock/moves", json=reserve, headers=key)
    assert again.status_code == 201 and again.json() == first.json()  # replayed, not booked
    out = agent.http.post("/api/stock/moves", json={"sku": "SKU-T", "quantity": 3,
                                                    "reason": "transfer_out"})
    assert out.status_code == 201
    held = levels(agent, "SKU-T")
    assert (held["sellable"], held["reserved"], held["in_transit"]) == (0, 2, 3)
    delivered = agent.http.post("/api/stock/moves", json={
        "sku": "SKU-T", "quantity": 3, "reason": "transfer_out", "from_state": "in_transit",
        "to_state": None})
    assert delivered.status_code == 201 and levels(agent, "SKU-T")["in_transit"] == 0
    too_many = agent.http.post("/api/stock/moves", json={"sku": "SKU-T", "quantity": 3,
                                                         "reason": "release"})
    assert too_many.status_code == 409 and too_many.json()["detail"][0]["field"] == "quantity"
    wrong = agent.http.post("/api/stock/moves", json={"sku": "SKU-T", "quantity": 1,
                                                      "reason": "reservation",
                                                      "to_state": "sellable"})
    assert wrong.status_code == 409 and wrong.json()["detail"][0]["field"] == "reason"
    sale = agent.http.post("/api/stock/moves", json={"sku": "SKU-T", "quantity": 1,
                                                     "reason": "pos_sale"})
    assert sale.status_code == 422 and sale.json()["detail"][0]["field"] == "reason"
    assert len([e for e in stock_events(agent) if e["reason"] != "count"]) == 3


LOOKUPS = {  # the ledger's lookups of a request's moves (edge_agent/stock/ledger.py)
    "sale": "SELECT * FROM stock_moves WHERE pos_transaction_id = ? AND reason = ? ORDER BY id",
    "count": "SELECT * FROM stock_moves WHERE count_id = ? AND reason = ? ORDER BY id",
    "return": "SELECT count(*) FROM stock_moves WHERE return_id = ? AND reason IN (?, ?)",
}


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_a_request_finds_its_moves_by_index_not_by_reading_every_move(agent: Running,
                                                                      lookup: str) -> None:
    count(agent, "start", [{"sku": "SKU-S", "quantity": 10}])
    with agent.agent.store.read() as tx:
        plan = " ".join(str(r["detail"]) for r in tx.all(
            f"EXPLAIN QUERY PLAN {LOOKUPS[lookup]}",
            ("k",) + (("a",) if lookup != "return" else ("a", "b"))))
    assert "USING INDEX stock_moves_by_" in plan and "SCAN stock_moves" not in plan, plan
