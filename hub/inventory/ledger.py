"""Load the stock levels a batch of ``stock.moved`` events touches, apply them, write back.

Called by the ingest inside its batch transaction (``hub.sync.ingest.batch``), after the events
were deduplicated and ordered; a few statements per batch whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, bindparam, select, tuple_, update

from hub.inventory.projection import Loaded, Problem, StockProjector
from hub.storage.bulk import insert_rows
from hub.storage.engine import Tx
from hub.storage.tables.inventory import stock_levels, stock_moves
from protocol import Envelope

KIND = "stock.moved"
CHUNK = 400
MUTABLE = ("quantity", "reported_quantity", "as_of", "updated_at")


def apply(tx: Tx, events: Sequence[Envelope]) -> list[Problem]:
    """Apply ``events`` (all ``stock.moved``, in seq order) to the stock view; the problems."""
    if not events:
        return []
    projector = StockProjector(load(tx, events), tx.now)
    for event in events:
        projector.apply(event)
    changes, conn = projector.changes, tx.conn
    if changes.levels_new:
        insert_rows(conn, stock_levels, list(changes.levels_new.values()))
    if changes.levels_changed:
        stmt = update(stock_levels).where(and_(
            stock_levels.c.store_id == bindparam("k_store"),
            stock_levels.c.sku == bindparam("k_sku"),
            stock_levels.c.state == bindparam("k_state"))).values(
            {name: bindparam(f"v_{name}") for name in MUTABLE})
        conn.execute(stmt, [{"k_store": r["store_id"], "k_sku": r["sku"], "k_state": r["state"],
                             **{f"v_{name}": r[name] for name in MUTABLE}}
                            for r in changes.levels_changed.values()])
    if changes.moves:
        insert_rows(conn, stock_moves, changes.moves)
    for draft in changes.audit:
        tx.audit(draft)
    return changes.problems


def load(tx: Tx, events: Sequence[Envelope]) -> Loaded:
    """The levels of every (store, SKU) the events touch, and which of their move ids are held."""
    pairs = sorted({(e.store_id, getattr(e.body, "sku")) for e in events})  # noqa: B009
    moves = sorted({(e.store_id, getattr(e.body, "move_id")) for e in events})  # noqa: B009
    loaded = Loaded()
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        rows = tx.conn.execute(select(stock_levels).where(
            tuple_(stock_levels.c.store_id, stock_levels.c.sku).in_(chunk)))
        for row in rows:
            data = dict(row._mapping)
            loaded.levels[(data["store_id"], data["sku"], data["state"])] = data
    for start in range(0, len(moves), CHUNK):
        chunk = moves[start:start + CHUNK]
        rows = tx.conn.execute(select(stock_moves.c.store_id, stock_moves.c.move_id).where(
            tuple_(stock_moves.c.store_id, stock_moves.c.move_id).in_(chunk)))
        loaded.move_ids.update((r.store_id, r.move_id) for r in rows)
    return loaded
