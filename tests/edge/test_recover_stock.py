"""``acorn-edge recover`` and stock: a salvaged ``stock.moved`` adds its move to the live ledger
(from state minus, to state plus) and never overwrites what the fresh database booked since."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.stock.ledger import Ledger, stock_view
from edge_agent.stock.models import CountRequest, SaleRequest
from edge_agent.storage import outbox
from edge_agent.storage.recover import recover
from edge_agent.storage.store import Store
from protocol import StockState
from tests.edge.conftest import NODE, STORE, Running

RETURN: dict[str, Any] = {"channel": "amazon_mfn", "reason": "defective", "staff_id": "ann",
                          "items": [{"sku": "SKU-K", "quantity": 2,
                                     "unit_price": {"amount": "9.99", "currency": "USD"}}]}


def damaged_copy(run: Running, tmp_path: Path) -> Path:
    """The agent's database copied into a quarantine directory, as the start would move it."""
    held = tmp_path / "quarantine" / "20261203T000000000000Z"
    held.mkdir(parents=True)
    source = sqlite3.connect(run.agent.store.path)
    target = sqlite3.connect(held / "edge.db")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return held


@pytest.fixture
def live(run_damaged: tuple[Path, int], tmp_path: Path) -> Iterator[Store]:
    """The fresh database the agent went on recording in, its seqs past the damaged file's."""
    _, top = run_damaged
    store = Store.open(tmp_path / "live" / "edge.db", STORE, NODE)
    with store.write() as tx:
        tx.set_counter(outbox.NEXT_SEQ, top + 1)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def run_damaged(agent: Running, tmp_path: Path) -> tuple[Path, int]:
    """Moves recorded before the damage: 5 SKU-S counted sellable, 1 sold; a return of 2 SKU-K
    into QC hold; 3 SKU-Z counted sellable and 2 reserved. Its copy and highest seq."""
    for count_id, sku, quantity in (("c-1", "SKU-S", 5), ("c-2", "SKU-Z", 3)):
        assert agent.http.post("/api/stock/counts", json={
            "count_id": count_id, "lines": [{"sku": sku, "quantity": quantity}]}
            ).status_code == 201
    assert agent.http.post("/api/pos/sales", json={
        "pos_transaction_id": "t-1", "lines": [{"sku": "SKU-S", "qty": 1}]}).status_code == 201
    assert agent.http.post("/api/returns", json=RETURN).status_code == 201
    assert agent.http.post("/api/stock/moves", json={
        "sku": "SKU-Z", "quantity": 2, "reason": "reservation"}).status_code == 201, "reserve"
    with agent.agent.store.read() as tx:
        top = int(tx.scalar("SELECT max(seq) FROM outbox"))
    return damaged_copy(agent, tmp_path), top


def book_since(store: Store) -> None:
    """Moves the fresh database books before recover runs: 2 more SKU-S sold (the ledger has
    none, so it goes below zero), a return of 1 SKU-K into QC hold."""
    ledger = Ledger(store, STORE, NODE)
    ledger.record_sale(SaleRequest(pos_transaction_id="t-2", lines=[{"sku": "SKU-S", "qty": 2}]))
    ledger.record_count(CountRequest(count_id="c-3", state=StockState.QC_HOLD,
                                     lines=[{"sku": "SKU-K", "quantity": 1}]))


def ledger_of(store: Store) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int],
                                     list[dict[str, Any]]]:
    """The levels held, the levels the moves sum to, the moves in booking order."""
    with store.read() as tx:
        held = {(r["sku"], r["state"]): int(r["quantity"]) for r in tx.all(
            "SELECT sku, state, quantity FROM stock_levels")}
        moves = tx.all("SELECT * FROM stock_moves ORDER BY id")
    summed: dict[tuple[str, str], int] = defaultdict(int)
    for move in moves:
        if move["from_state"]:
            summed[(move["sku"], move["from_state"])] -= int(move["quantity"])
        if move["to_state"]:
            summed[(move["sku"], move["to_state"])] += int(move["quantity"])
    return held, dict(summed), moves


def test_recover_adds_salvaged_moves_to_what_was_booked_since(
        run_damaged: tuple[Path, int], live: Store) -> None:
    """Each level is the sum of every move, salvaged or booked since; each move's after-figures
    and its re-queued event's balance are the live ledger's; a second run changes nothing."""
    held_dir, _ = run_damaged
    book_since(live)
    outcome = recover(live, held_dir)
    assert outcome.counts["requeued"] > 0
    held, summed, moves = ledger_of(live)
    assert {key: value for key, value in held.items() if value} == {
        key: value for key, value in summed.items() if value}
    assert held[("SKU-S", "sellable")] == 5 - 1 - 2
    assert held[("SKU-K", "qc_hold")] == 2 + 1
    assert (held[("SKU-Z", "sellable")], held[("SKU-Z", "reserved")]) == (1, 2)
    # the after-figures run along the live ledger, move by move
    running: dict[tuple[str, str], int] = defaultdict(int)
    with live.read() as tx:
        balances = {r["seq"]: json.loads(r["body"])["balance"] for r in tx.all(
            "SELECT seq, body FROM outbox WHERE kind = 'stock.moved'")}
    for move in moves:
        after = {}
        for side, sign in (("from", -1), ("to", 1)):
            state = move[f"{side}_state"]
            if state:
                running[(move["sku"], state)] += sign * int(move["quantity"])
                assert move[f"{side}_after"] == running[(move["sku"], state)], move
                after[state] = running[(move["sku"], state)]
        assert balances[move["event_seq"]] == after, move

    again = recover(live, held_dir)
    assert again.counts["requeued"] == 0
    assert ledger_of(live) == (held, summed, moves)


def test_a_salvaged_move_beyond_the_live_stock_asks_for_a_count(
        run_damaged: tuple[Path, int], live: Store) -> None:
    """The hub has the counts already (acked), so only the sale and the reservation come back:
    SKU-Z goes below zero in the fresh ledger, never silently: it needs a count, and the audit
    says so."""
    held_dir, _ = run_damaged
    with live.write() as tx:
        acked = tx.scalar("SELECT max(seq) FROM outbox") or 0
    with sqlite3.connect(held_dir / "edge.db") as conn:
        [(counted,)] = conn.execute("SELECT max(event_seq) FROM stock_moves WHERE reason = "
                                    "'count'").fetchall()
    assert acked == 0
    with live.write() as tx:
        tx.set_counter(outbox.LAST_ACKED, int(counted))
    recover(live, held_dir)
    with live.read() as tx:
        view = stock_view(tx, "SKU-Z")
        entries = tx.all("SELECT * FROM audit WHERE action = 'stock.restored' AND "
                         "entity_id = 'SKU-Z'")
    assert view.levels[StockState.SELLABLE] == -2 and view.needs_count
    assert view.levels[StockState.RESERVED] == 2
    [entry] = entries
    assert json.loads(entry["after"])["needs_count"] is True
