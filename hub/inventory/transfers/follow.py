"""Follow each transfer from the stores' ``stock.moved`` events carrying its id.

Called by the ingest inside its batch transaction (``hub.sync.ingest.batch``), after the stock
view took the same events (``hub.inventory.ledger``).

Rules:
- a move counts for a transfer only when it comes from one of its two stores, for one of its
  SKUs, and is one of the transfer's moves (``counts_as``): at the sender sellable -> in transit
  (``shipped``) and in transit -> out (``delivered``); at the receiver a surplus into sellable
  (``surplus``), out -> in transit (``announced``), in transit -> sellable (``received``) and a
  count out of in transit (``lost``). Each (store, move id) counts once;
- ``requested`` (or ``cancelled``, when the sender shipped before it heard: the goods left) ->
  ``shipped`` when every line is shipped in full: the receiving store's node
  gets its ``transfer.task`` (role ``receive``, the shipped quantities);
- ``shipped`` -> ``received`` (or ``received_with_difference`` when a line lost units or had a
  surplus) when every line was announced as shipped and its in transit is empty again
  (received + lost = announced); the lines are then priced by the active transfer price rules
  (``pricing``, the settlement lines) and the sender's node is told (``transfer.delivered``);
- ``delivered_at`` is set when the sender booked every shipped unit out of in transit;
- every step is audited as the node whose move made it; nothing here raises into the ingest: a
  store without a node to tell leaves the task unsent, logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update

from hub.errors import HubError
from hub.inventory.transfers import orders
from hub.inventory.transfers.book import Counted, Rates, book, no_rates
from hub.inventory.transfers.pricing import Rate
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx
from hub.storage.outbox import CommandDraft, queue
from hub.storage.tables.transfers import (
    transfer_lines,
    transfer_moves,
    transfers,
)
from protocol import (
    Envelope,
    MoveReason,
    StockMoved,
    StockState,
    TransferDelivered,
    TransferLine,
    TransferTask,
    new_message_id,
)

log = logging.getLogger(__name__)
S, R = StockState, MoveReason
Key = tuple[MoveReason, StockState | None, StockState | None]
SENDER: dict[Key, str] = {(R.TRANSFER_OUT, S.SELLABLE, S.IN_TRANSIT): "shipped",
          (R.TRANSFER_OUT, S.IN_TRANSIT, None): "delivered"}
RECEIVER: dict[Key, str] = {(R.TRANSFER_IN, None, S.SELLABLE): "surplus",
            (R.TRANSFER_IN, None, S.IN_TRANSIT): "announced",
            (R.TRANSFER_IN, S.IN_TRANSIT, S.SELLABLE): "received",
            (R.COUNT, S.IN_TRANSIT, None): "lost"}
RECEIVED = ("received", "received_with_difference")
def counts_as(sender: bool, move: StockMoved) -> str | None:
    """Which counter of a transfer line ``move`` adds to (None: not a move of the transfer)."""
    key = (move.reason, move.from_state, move.to_state)
    return (SENDER if sender else RECEIVER).get(key)


def apply(tx: Tx, events: Sequence[Envelope], rates: Rates = no_rates) -> None:
    """Count the batch's transfer moves and move each touched transfer on."""
    touched: dict[str, tuple[Envelope, datetime]] = {}
    for event in events:
        body = cast(StockMoved, event.body)
        if body.transfer_id is not None and _count(tx, event, body):
            touched[body.transfer_id] = (event, body.at)
    for transfer_id, (event, at) in touched.items():
        advance(tx, transfer_id, f"node:{event.store_id}/{event.node_id}", at, rates)


def _count(tx: Tx, event: Envelope, body: StockMoved) -> bool:
    conn, transfer_id = tx.conn, body.transfer_id
    row = conn.execute(select(transfers.c.from_store, transfers.c.to_store).where(
        transfers.c.transfer_id == transfer_id)).first()
    if row is None or event.store_id not in (row.from_store, row.to_store):
        return False
    what = counts_as(event.store_id == row.from_store, body)
    line = transfer_lines.c
    known = conn.execute(select(line.sku).where(line.transfer_id == transfer_id,
                                                line.sku == body.sku)).first()
    held = conn.execute(select(transfer_moves.c.move_id).where(
        transfer_moves.c.store_id == event.store_id,
        transfer_moves.c.move_id == body.move_id)).first()
    if what is None or known is None or held is not None:
        return False
    conn.execute(transfer_moves.insert().values(
        store_id=event.store_id, move_id=body.move_id, transfer_id=transfer_id, sku=body.sku,
        counts_as=what, quantity=body.quantity, at=body.at))
    conn.execute(update(transfer_lines).where(
        line.transfer_id == transfer_id, line.sku == body.sku).values(
        {what: getattr(line, what) + body.quantity}))
    return True


def advance(tx: Tx, transfer_id: str, actor: str, at: datetime,
            rates: Rates = no_rates) -> None:
    """Move the transfer on as far as its lines allow (see the module rules)."""
    found = orders.find(tx.conn, transfer_id)
    if found is None:
        return
    lines = found["lines"]
    if found["status"] in ("requested", "cancelled") and all(
            li["shipped"] >= li["requested"] for li in lines):  # cancelled too late: it left
        found = _shipped(tx, found, actor)
    if found["status"] == "shipped" and all(
            li["announced"] == li["shipped"] and li["received"] + li["lost"] == li["announced"]
            for li in lines):
        found = _received(tx, found, actor, at, rates)
    if (found["status"] in RECEIVED and found["delivered_at"] is None
            and all(li["delivered"] >= li["shipped"] for li in lines)):
        _set(tx, found, actor, "transfer.delivered", delivered_at=tx.now)


def _set(tx: Tx, found: dict[str, Any], actor: str, action: str, **values: Any) -> dict[str, Any]:
    tx.conn.execute(update(transfers).where(
        transfers.c.transfer_id == found["transfer_id"]).values(**values))
    tx.audit(AuditDraft(actor, "node", action, "transfer", found["transfer_id"],
                        {"status": found["status"]}, jsonable(values)))
    return {**found, **values}


def _shipped(tx: Tx, found: dict[str, Any], actor: str) -> dict[str, Any]:
    lines = [TransferLine(sku=li["sku"], quantity=li["shipped"]) for li in found["lines"]]
    node: str | None = None
    try:
        node = orders.task_node(tx.conn, found["to_store"], "to_store")
    except HubError as err:
        log.warning("transfer %s shipped but not announced: %s", found["transfer_id"],
                    err.message)
    if node is not None:
        task = TransferTask(transfer_id=found["transfer_id"], role="receive",
                            from_store=found["from_store"], to_store=found["to_store"],
                            lines=lines, requested_by=found["requested_by"][:64],
                            note=found["note"])
        queue(tx.conn, [CommandDraft(found["to_store"], node, new_message_id(), task)], tx.now)
    return _set(tx, found, actor, "transfer.shipped", status="shipped", shipped_at=tx.now,
                receive_node=node)


def _received(tx: Tx, found: dict[str, Any], actor: str, at: datetime,
              rates: Rates) -> dict[str, Any]:
    differs = any(li["lost"] or li["surplus"] for li in found["lines"])
    status = "received_with_difference" if differs else "received"
    priced = _price(tx, found, at, rates(tx.conn, at.date()))
    delivered = TransferDelivered(transfer_id=found["transfer_id"], lines=[
        TransferLine(sku=li["sku"], quantity=li["shipped"]) for li in found["lines"]])
    queue(tx.conn, [CommandDraft(found["from_store"], found["send_node"], new_message_id(),
                                 delivered)], tx.now)
    done = _set(tx, found, actor, "transfer.received", status=status, received_at=at)
    tx.audit(AuditDraft(actor, "node", "transfer.priced", "transfer", found["transfer_id"],
                        None, jsonable({"lines": priced})))
    return done


def _price(tx: Tx, found: dict[str, Any], at: datetime, rate: Rate) -> list[dict[str, Any]]:
    """Price every line by the active rules and keep the settlement lines."""
    counted = [Counted(li["sku"], li["received"] + li["surplus"],
                       li["received"] + li["surplus"] - li["shipped"]) for li in found["lines"]]
    return book(tx.conn, found["transfer_id"], found["from_store"], found["to_store"], counted,
                at, rate)
