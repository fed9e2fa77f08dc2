"""The consistency check: compare each ``stock.snapshot`` page with the hub's own figures.

Rules:
- a snapshot page counts a node's moves up to ``as_of_seq``; the hub compares it with the sum of
  that node's moves with seq up to the same ``as_of_seq`` (plus the differences accepted up to it),
  never with its current levels, so moves in flight (booked after the snapshot, or not yet
  applied) never look like a difference; the ingest applies events in seq order, so every move up
  to ``as_of_seq`` < the page's seq is applied before the page is compared;
- ``compare`` is pure: the store's and the hub's figures per (SKU, state) in, the nonzero
  differences (store - hub) out;
- every nonzero difference is kept in ``stock_differences`` (one unresolved row per node, SKU and
  state: a later snapshot updates it, or clears it when the figures agree again); which of them
  alert is the store's threshold (``hub.inventory.differences``); every new, changed and cleared
  row is audited with the node as the actor;
- a page whose ``as_of_seq`` is not below its own seq is refused (a Problem, dead-lettered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, and_, func, select, update

from hub.inventory.projection import Problem
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx
from hub.storage.tables.inventory import stock_differences, stock_moves
from protocol import Envelope, StockSnapshot

KIND = "stock.snapshot"
OPEN = ("open", "recount", "investigating")
Figures = dict[tuple[str, str], int]  # (sku, state) -> quantity
NODE_ROLE = "node"


@dataclass(frozen=True)
class Difference:
    """One (SKU, state) where the store's figure is not the hub's."""

    sku: str
    state: str
    store: int
    hub: int

    @property
    def difference(self) -> int:
        """Store minus hub."""
        return self.store - self.hub


def compare(store: Mapping[tuple[str, str], int],
            hub: Mapping[tuple[str, str], int]) -> list[Difference]:
    """The (SKU, state) pairs whose figures differ, in SKU and state order."""
    keys = sorted(set(store) | set(hub))
    return [Difference(sku, state, store.get((sku, state), 0), hub.get((sku, state), 0))
            for sku, state in keys if store.get((sku, state), 0) != hub.get((sku, state), 0)]


def store_figures(page: StockSnapshot) -> Figures:
    """The page's figures per (SKU, state), zeros left out."""
    return {(line.sku, state.value): qty for line in page.lines
            for state, qty in line.levels.items() if qty}


def _in_range(conn: Connection, column: Any, page: StockSnapshot) -> list[ColumnElement[bool]]:
    # SKU order is code point order on both sides: Python's and SQLite's binary collation agree;
    # PostgreSQL compares by its locale unless told to use "C" (byte order, the same for UTF-8).
    if conn.dialect.name == "postgresql":
        column = column.collate("C")
    where = []
    if page.after_sku is not None:
        where.append(column > page.after_sku)
    if page.last_sku is not None:
        where.append(column <= page.last_sku)
    return where


def hub_figures(conn: Connection, store_id: str, node_id: str, page: StockSnapshot) -> Figures:
    """The hub's figures for the node's SKUs in the page's range, as of ``as_of_seq``."""
    figures: Figures = {}
    moves = and_(stock_moves.c.store_id == store_id, stock_moves.c.node_id == node_id,
                 stock_moves.c.seq <= page.as_of_seq, *_in_range(conn, stock_moves.c.sku, page))
    for column, sign in ((stock_moves.c.to_state, 1), (stock_moves.c.from_state, -1)):
        rows = conn.execute(select(stock_moves.c.sku, column, func.sum(stock_moves.c.quantity))
                            .where(moves, column.is_not(None)).group_by(stock_moves.c.sku, column))
        for sku, state, total in rows:
            figures[(sku, state)] = figures.get((sku, state), 0) + sign * int(total)
    d = stock_differences.c
    accepted = conn.execute(select(d.sku, d.state, func.sum(d.difference)).where(
        d.store_id == store_id, d.node_id == node_id, d.status == "accepted",
        d.as_of_seq <= page.as_of_seq, *_in_range(conn, d.sku, page)).group_by(d.sku, d.state))
    for sku, state, total in accepted:
        figures[(sku, state)] = figures.get((sku, state), 0) + int(total)
    return {key: qty for key, qty in figures.items() if qty}


def apply(tx: Tx, events: Sequence[Envelope]) -> list[Problem]:
    """Compare each snapshot page (in seq order) and keep its differences; the problems."""
    problems: list[Problem] = []
    for event in events:
        page = cast(StockSnapshot, event.body)
        if page.as_of_seq >= event.seq:
            problems.append(Problem(event, f"snapshot {page.snapshot_id} counts up to seq "
                                    f"{page.as_of_seq}, not below its own seq {event.seq}"))
            continue
        found = compare(store_figures(page), hub_figures(tx.conn, event.store_id,
                                                         event.node_id, page))
        _keep(tx, event, page, found)
    return problems


def _open_rows(conn: Connection, event: Envelope, page: StockSnapshot) -> dict[tuple[str, str],
                                                                               Any]:
    d = stock_differences.c
    rows = conn.execute(select(stock_differences).where(
        d.store_id == event.store_id, d.node_id == event.node_id, d.status.in_(OPEN),
        *_in_range(conn, d.sku, page)))
    return {(r.sku, r.state): r for r in rows}


def _audit(tx: Tx, event: Envelope, action: str, sku: str, before: Any, after: Any) -> None:
    tx.audit(AuditDraft(f"node:{event.store_id}/{event.node_id}", NODE_ROLE, action,
                        "stock_difference", f"{event.store_id}/{sku}", before, after))


def _keep(tx: Tx, event: Envelope, page: StockSnapshot, found: list[Difference]) -> None:
    held = _open_rows(tx.conn, event, page)
    figures = {"snapshot_id": page.snapshot_id, "as_of_seq": page.as_of_seq,
               "checked_at": tx.now}
    for diff in found:
        row = held.pop((diff.sku, diff.state), None)
        now = {"state": diff.state, "store": diff.store, "hub": diff.hub,
               "difference": diff.difference, "snapshot_id": page.snapshot_id,
               "as_of_seq": page.as_of_seq}
        if row is None:
            tx.conn.execute(stock_differences.insert().values(
                store_id=event.store_id, node_id=event.node_id, sku=diff.sku, state=diff.state,
                store_quantity=diff.store, hub_quantity=diff.hub, difference=diff.difference,
                status="open", found_at=tx.now, **figures))
            _audit(tx, event, "stock.difference.found", diff.sku, None, now)
            continue
        tx.conn.execute(update(stock_differences).where(stock_differences.c.id == row.id).values(
            store_quantity=diff.store, hub_quantity=diff.hub, difference=diff.difference,
            **figures))
        if row.difference != diff.difference:
            _audit(tx, event, "stock.difference.changed", diff.sku,
                   {"state": row.state, "store": row.store_quantity, "hub": row.hub_quantity,
                    "difference": row.difference}, now)
    for row in held.values():  # the figures agree again
        tx.conn.execute(update(stock_differences).where(stock_differences.c.id == row.id).values(
            status="cleared", resolved_at=tx.now, resolved_by=f"snapshot:{page.snapshot_id}",
            **figures))
        _audit(tx, event, "stock.difference.cleared", row.sku,
               {"state": row.state, "status": row.status, "difference": row.difference},
               {"status": "cleared", "snapshot_id": page.snapshot_id,
                "as_of_seq": page.as_of_seq})
