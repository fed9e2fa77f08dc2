"""Transfers followed from the stores' moves through the hub's real ingest, and the monthly
internal settlement they make, on SQLite and PostgreSQL: the sums between stores, between
regions and the stores' net positions all add up to the priced lines; a receipt split across
batches completes only with its last move; a move sent again under a new seq counts once; the
month is the receipt's; the CSV holds exactly the lines."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, update

from edge_agent.stock.transfers import receipt_drafts
from hub.access.users import Actor
from hub.inventory.catalogue.item import CatalogueItem
from hub.inventory.catalogue.store import put_item
from hub.inventory.transfers import orders, rules_store, settlement
from hub.storage.engine import reading, writing
from hub.storage.tables.core import stores
from protocol import Envelope, MoveReason, StockMoved, StockState, make_envelope
from tests.hub.helpers import ingest, status

S = StockState
NOV = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DEC = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES = """schema_version: 1
version: 2
name: settlement test
currency: EUR
rules:
  - name: s1-to-s2
    route: {from_store: s1, to_store: s2}
    fixed: {amount: 7.00, currency: EUR}
  - name: north-south
    regions: {from_region: north, to_region: south}
    markup_percent: 20
"""


@dataclass
class Node:
    """A store's node as the hub hears it: its moves with gap-free seqs."""

    store: str
    seq: int = 0
    moves: int = 0

    def move(self, sku: str, quantity: int, frm: StockState | None, to: StockState | None,
             reason: MoveReason, at: datetime, transfer_id: str | None = None,
             move_id: str | None = None) -> Envelope:
        self.seq += 1
        self.moves += 1
        body = StockMoved(move_id=move_id or f"M-{self.store}-{self.moves}", sku=sku,
                          quantity=quantity, from_state=frm, to_state=to, reason=reason,
                          transfer_id=transfer_id, at=at)
        return make_envelope(self.store, "n1", self.seq, body, occurred_at=at)

    def ship(self, transfer_id: str, lines: dict[str, int], at: datetime) -> list[Envelope]:
        return [self.move(sku, q, S.SELLABLE, S.IN_TRANSIT, MoveReason.TRANSFER_OUT, at,
                          transfer_id) for sku, q in lines.items()]

    def receive(self, transfer_id: str, shipped: dict[str, int], counted: dict[str, int],
                at: datetime) -> list[Envelope]:
        """The moves the store's counter books for a receipt (its own pure function)."""
        return [self.move(d.sku, d.quantity, d.from_state, d.to_state, d.reason, at,
                          transfer_id)
                for sku, q in shipped.items()
                for d in receipt_drafts(sku, q, counted[sku], transfer_id, None)]


def setup(engine: Engine) -> dict[str, Node]:
    ingest(engine, *(status(s, "n1") for s in ("s1", "s2", "s3")))
    with writing(engine) as tx:
        for store, region in (("s1", "north"), ("s2", "north"), ("s3", "south")):
            tx.conn.execute(update(stores).where(stores.c.store_id == store).values(
                region=region))
        rules_store.publish(tx, RULES, "finance-1", "finance")
    actor = Actor("hq", "admin")
    put_item(engine, "SKU-A", CatalogueItem(category="tools", unit_cost={"amount": "10.00",
                                                                         "currency": "EUR"}),
             actor)
    put_item(engine, "SKU-B", CatalogueItem(category="tools", unit_cost={"amount": "2.50",
                                                                         "currency": "EUR"}),
             actor)
    nodes = {s: Node(s) for s in ("s1", "s2", "s3")}
    for node in nodes.values():  # opening stock
        ingest(engine, *(node.move(sku, 100, None, S.SELLABLE, MoveReason.COUNT, NOV)
                         for sku in ("SKU-A", "SKU-B")))
    return nodes


def request(engine: Engine, transfer_id: str, frm: str, to: str, lines: dict[str, int]) -> None:
    with writing(engine) as tx:
        orders.request(tx, orders.Request(frm, to, sorted(lines.items()),
                                          transfer_id=transfer_id), "hq", "admin")


def state(engine: Engine, transfer_id: str) -> dict[str, object]:
    with reading(engine) as conn:
        return orders.detail(conn, transfer_id)


def test_the_monthly_settlement_adds_up(engine: Engine) -> None:
    nodes = setup(engine)
    s1, s2, s3 = nodes["s1"], nodes["s2"], nodes["s3"]
    request(engine, "T1", "s1", "s2", {"SKU-A": 5})  # the route: 7.00 fixed
    request(engine, "T2", "s1", "s3", {"SKU-A": 2, "SKU-B": 4})  # north-south: cost + 20%
    request(engine, "T3", "s3", "s1", {"SKU-B": 6})  # no rule: at cost; received in December
    request(engine, "T4", "s2", "s1", {"SKU-A": 1})  # shipped, never received

    ingest(engine, *s1.ship("T1", {"SKU-A": 5}, NOV), *s1.ship("T2", {"SKU-A": 2, "SKU-B": 4},
                                                                NOV))
    ingest(engine, *s3.ship("T3", {"SKU-B": 6}, NOV), *s2.ship("T4", {"SKU-A": 1}, NOV))
    assert {t: state(engine, t)["status"] for t in ("T1", "T2", "T3", "T4")} == dict.fromkeys(
        ("T1", "T2", "T3", "T4"), "shipped")

    ingest(engine, *s2.receive("T1", {"SKU-A": 5}, {"SKU-A": 5}, NOV))
    # T2's receipt arrives in two batches: the first line alone does not complete it
    moves = s3.receive("T2", {"SKU-A": 2, "SKU-B": 4}, {"SKU-A": 2, "SKU-B": 3}, NOV)
    ingest(engine, *moves[:3])
    assert state(engine, "T2")["status"] == "shipped"
    ingest(engine, *moves[3:])
    # a move sent again under a new seq (same move id) counts once
    again = s3.move("SKU-B", 1, S.IN_TRANSIT, None, MoveReason.COUNT, NOV, "T2",
                    move_id=moves[-1].body.move_id)  # type: ignore[attr-defined]
    ingest(engine, again)
    ingest(engine, *s1.receive("T3", {"SKU-B": 6}, {"SKU-B": 7}, DEC))

    t2 = state(engine, "T2")
    assert t2["status"] == "received_with_difference"
    assert {li["sku"]: (li["received"], li["lost"]) for li in t2["lines"]} == {  # type: ignore
        "SKU-A": (2, 0), "SKU-B": (3, 1)}
    assert state(engine, "T1")["status"] == "received"
    assert state(engine, "T3")["status"] == "received_with_difference"  # one unit too many
    assert state(engine, "T4")["status"] == "shipped"

    with reading(engine) as conn:
        nov = settlement.summary(conn, "2026-11")
        dec = settlement.summary(conn, "2026-12")
        exported = settlement.csv_text(conn, "2026-11")
    priced = {(li["transfer_id"], li["sku"]): (li["quantity"], li["unit_price"], li["amount"],
                                               li["rule"]) for li in nov["lines"]}
    assert priced == {
        ("T1", "SKU-A"): (5, Decimal("7.00"), Decimal("35.00"), "s1-to-s2"),
        ("T2", "SKU-A"): (2, Decimal("12.00"), Decimal("24.00"), "north-south"),
        ("T2", "SKU-B"): (3, Decimal("3.00"), Decimal("9.00"), "north-south"),
    }
    total = sum((li["amount"] for li in nov["lines"]), Decimal(0))
    assert total == Decimal("68.00")
    assert [(p["from_store"], p["to_store"], p["amount"], p["units"]) for p in
            nov["between_stores"]] == [("s1", "s2", Decimal("35.00"), 5),
                                       ("s1", "s3", Decimal("33.00"), 5)]
    assert [(p["from_region"], p["to_region"], p["amount"]) for p in nov["between_regions"]] == [
        ("north", "north", Decimal("35.00")), ("north", "south", Decimal("33.00"))]
    for book in ("between_stores", "between_regions"):
        assert sum((p["amount"] for p in nov[book]), Decimal(0)) == total
    net = {s["store_id"]: s["net"] for s in nov["stores"]}
    assert net == {"s1": Decimal("68.00"), "s2": Decimal("-35.00"), "s3": Decimal("-33.00")}
    assert sum(net.values()) == 0
    assert nov["totals"] == [{"currency": "EUR", "amount": total}]

    # December: T3, received with one unit more than shipped, at cost (the default)
    assert [(li["transfer_id"], li["quantity"], li["difference"], li["amount"], li["rule"])
            for li in dec["lines"]] == [("T3", 7, 1, Decimal("17.50"), "default")]
    assert {s["store_id"]: s["net"] for s in dec["stores"]} == {
        "s3": Decimal("17.50"), "s1": Decimal("-17.50")}

    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["transfer_id"], r["sku"], r["quantity"], r["unit_price"], r["amount"])
            for r in rows] == [("T1", "SKU-A", "5", "7.00", "35.00"),
                               ("T2", "SKU-A", "2", "12.00", "24.00"),
                               ("T2", "SKU-B", "3", "3.00", "9.00")]
    assert sum((Decimal(r["amount"]) for r in rows), Decimal(0)) == total
    by_store: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        by_store[r["from_store"]] += Decimal(r["amount"])
    assert by_store == {"s1": total}
