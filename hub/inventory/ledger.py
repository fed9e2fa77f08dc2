"""Load the stock levels a batch of ``stock.moved`` events touches, apply them, write back.

Called by the ingest inside its batch transaction (``hub.sync.ingest.batch``), after the events
were deduplicated and ordered; a few statements per batch whatever its size (on PostgreSQL:
one lookup of the levels and one of the move ids, each pair a probe of its table's key however
large the table or stale its statistics, ``hub.storage.bulk.rows_at_pairs``; one ``UPDATE``
of the changed levels).
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.inventory.projection import Loaded, Problem, StockProjector
from hub.storage.bulk import insert_rows, key_chunks, rows_at_pairs, update_rows
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
    if changes.levels_changed:  # one statement on PostgreSQL (unnest), an executemany elsewhere
        update_rows(conn, stock_levels, ("store_id", "sku", "state"), [
            {"store_id": r["store_id"], "sku": r["sku"], "state": r["state"],
             **{name: r[name] for name in MUTABLE}} for r in changes.levels_changed.values()])
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
    for chunk in key_chunks(tx.conn, pairs, CHUNK):  # each pair one probe of the key's index
        for row in tx.conn.execute(rows_at_pairs(tx.conn, stock_levels, ("store_id", "sku"),
                                                 chunk)):
            data = dict(row._mapping)
            loaded.levels[(data["store_id"], data["sku"], data["state"])] = data
    for chunk in key_chunks(tx.conn, moves, CHUNK):
        rows = tx.conn.execute(rows_at_pairs(tx.conn, stock_moves, ("store_id", "move_id"), chunk))
        loaded.move_ids.update((r.store_id, r.move_id) for r in rows)
    return loaded
