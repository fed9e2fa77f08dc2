"""Draft simulations over the hub's own stock view: stock moves ingested, then the API and the
CLI simulate a draft without a snapshot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hub.access.permissions import Role
from hub.inventory.allocation import StockLine
from hub.inventory.stock_source import current_stock, stock_view
from hub.storage.engine import reading
from protocol import Envelope, MoveReason, StockMoved, StockState, make_envelope, utc_now
from tests.hub.helpers import ingest
from tests.inventory.cli_helpers import cli
from tests.inventory.test_alloc_publish import US, V2
from tests.people.conftest import DeskHub, add_user

S, R = StockState, MoveReason


def moved(store: str, seq: int, sku: str, quantity: int, frm: StockState | None,
          to: StockState | None, reason: MoveReason, after: int, days_ago: int = 0) -> Envelope:
    state = to if to is not None else frm
    assert state is not None
    body = StockMoved(move_id=f"{store}-{seq}", sku=sku, quantity=quantity, from_state=frm,
                      to_state=to, reason=reason, at=utc_now() - timedelta(days=days_ago),
                      balance={state: after})
    return make_envelope(store, "n1", seq, body)


STORY = (
    moved("s1", 1, "A", 12, None, S.SELLABLE, R.COUNT, 12, days_ago=40),
    moved("s1", 2, "A", 2, S.SELLABLE, None, R.POS_SALE, 10, days_ago=30),  # outside 28 days
    moved("s1", 3, "A", 3, S.SELLABLE, S.RESERVED, R.RESERVATION, 7),
    moved("s1", 4, "A", 1, S.SELLABLE, None, R.POS_SALE, 6, days_ago=2),
    moved("s1", 5, "A", 2, None, S.QC_HOLD, R.RETURN_RECEIVED, 2),
    moved("s1", 6, "A", 1, S.QC_HOLD, S.SCRAP, R.DISPOSITION, 1),
    moved("s2", 1, "B", 2, None, S.SELLABLE, R.COUNT, 2),
    moved("s2", 2, "B", 3, S.SELLABLE, None, R.POS_SALE, -1),  # sold what it did not book
)


def test_the_stock_view_feeds_the_engine_and_the_draft(desk: DeskHub, db_url: str,
                                                       tmp_path: Path) -> None:
    result = ingest(desk.engine, *STORY)
    assert result.applied == len(STORY) and not result.dead
    with reading(desk.engine) as conn:
        stock, sales = current_stock(conn, utc_now())
    # A at s1: 6 sellable + 3 reserved + 1 QC hold (the scrap is not held): available 6
    assert sorted(stock.lines, key=lambda line: line.sku) == [
        StockLine("A", "s1", 10, 3, 1), StockLine("B", "s2", -1, 0, 0)]
    assert dict(sales.units) == {("A", "s1"): 1, ("B", "s2"): 3} and sales.days == 28
    with reading(desk.engine) as conn:  # routing asks for its orders' SKUs only
        assert stock_view(conn, {"B", "Z"}).lines == [StockLine("B", "s2", -1, 0, 0)]
        assert stock_view(conn, set()).lines == []

    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    answer = ada.post("/api/inventory/rules/draft", json={"yaml": V2})
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    assert draft["valid"] is True and draft["stock_source"] == "stock_view", draft
    (us,) = [m for m in draft["simulation"]["marketplaces"] if m["marketplace"] == US]
    # active (default): floor 1, 80 % → A (6-1)*0.8 = 4; draft (no floor): 6*0.5 = 3 (cap 3);
    # B offers 0 either way
    assert (us["units_before"], us["units_after"], us["lowered"]) == (4, 3, 1)
    example = us["examples"][0]
    assert example["sku"] == "A" and example["after"]["on_hand"] == 10
    sent = ada.post("/api/inventory/rules/draft", json={"yaml": V2, "stock": [
        {"sku": "A", "store": "s1", "on_hand": 1}]}).json()
    assert sent["stock_source"] == "snapshot"
    bad = ada.post("/api/inventory/rules/draft", json={"yaml": V2, "days": 0})
    assert bad.status_code == 422

    rules = tmp_path / "rules.yaml"
    rules.write_text(V2)
    code, out, err = cli(db_url, "inventory", "rules", "simulate", str(rules))
    assert code == 0, err
    assert f"{US}: 4 -> 3 units" in out and "A: 4 -> 3" in out
