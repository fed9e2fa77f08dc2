"""Transfer orders at the hub: request one, read them.

Rules:
- a transfer goes from one known, not decommissioned store to another, each with a node the hub
  knows and has not revoked (the lowest node id of the store gets its task); 1 to
  ``MAX_TRANSFER_LINES`` lines, each SKU once, quantities as a stock move allows;
- requesting stores the order (``requested``), queues the ``transfer.task`` (role ``send``) to
  the sending store's node in the same transaction and is audited as ``transfer.requested``;
- a repeated request with the same ``transfer_id`` and the same content answers the first; with
  other content it is a 409;
- a transfer still ``requested`` (not shipped) may be cancelled with a reason: ``cancelled``,
  the sending node is told (``transfer.cancelled``, it drops its open task), audited as
  ``transfer.cancelled``; any other state is a conflict that names it. A store that shipped
  before it heard keeps its shipment: the hub follows it as usual (``follow``);
- everything after is followed from the stores' moves (``hub.inventory.transfers.follow``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from hub.errors import Conflict, InputError, NotFound
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx
from hub.storage.outbox import CommandDraft, queue
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.fleet import node_certificates
from hub.storage.tables.transfers import transfer_lines, transfers
from protocol import TransferCancelled, TransferLine, TransferTask, new_message_id
from protocol.limits import MAX_STOCK_QUANTITY
from protocol.transfers import MAX_TRANSFER_LINES

Row = dict[str, Any]
STATUSES = ("requested", "shipped", "received", "received_with_difference", "cancelled")
COUNTERS = ("shipped", "announced", "received", "lost", "surplus", "delivered")


@dataclass(frozen=True)
class Request:
    """A transfer asked for."""

    from_store: str
    to_store: str
    lines: Sequence[tuple[str, int]]
    note: str | None = None
    transfer_id: str | None = None


def new_transfer_id() -> str:
    """A fresh transfer id, e.g. ``TR3F9A0C1D2E4B``."""
    return "TR" + secrets.token_hex(6).upper()


def task_node(conn: Connection, store_id: str, field: str) -> str:
    """The node of ``store_id`` that gets its transfer tasks (the lowest id not revoked)."""
    held = conn.execute(select(stores.c.decommissioned_at).where(
        stores.c.store_id == store_id)).first()
    if held is None:
        raise NotFound(f"no store {store_id!r}", field=field)
    if held.decommissioned_at is not None:
        raise Conflict(f"store {store_id} is decommissioned", field=field)
    revoked = {r.node_id for r in conn.execute(select(node_certificates.c.node_id).where(
        node_certificates.c.store_id == store_id, node_certificates.c.revoked_at.is_not(None)))}
    found = [r.node_id for r in conn.execute(select(nodes.c.node_id).where(
        nodes.c.store_id == store_id).order_by(nodes.c.node_id)) if r.node_id not in revoked]
    if not found:
        raise Conflict(f"store {store_id} has no node to do the transfer", field=field)
    return str(found[0])


def _checked(request: Request) -> list[TransferLine]:
    if request.from_store == request.to_store:
        raise InputError("a transfer goes between two different stores", field="to_store")
    if not 1 <= len(request.lines) <= MAX_TRANSFER_LINES:
        raise InputError(f"a transfer has 1 to {MAX_TRANSFER_LINES} lines", field="lines")
    skus = [sku for sku, _ in request.lines]
    if len(set(skus)) != len(skus):
        raise InputError("each SKU at most once in a transfer", field="lines")
    for index, (_sku, quantity) in enumerate(request.lines):
        if not 1 <= quantity <= MAX_STOCK_QUANTITY:
            raise InputError(f"a quantity is 1 to {MAX_STOCK_QUANTITY}",
                             field=f"lines[{index}].quantity")
    try:
        return [TransferLine(sku=sku, quantity=q) for sku, q in request.lines]
    except ValueError as err:
        raise InputError(f"a SKU is 1 to 64 printable characters: {err}", field="lines") from err


def request(tx: Tx, asked: Request, actor: str, role: str) -> Row:
    """Store a transfer order and queue its send task; audited (see the module rules)."""
    lines = _checked(asked)
    transfer_id = asked.transfer_id or new_transfer_id()
    held = find(tx.conn, transfer_id)
    if held is not None:
        same = (held["from_store"], held["to_store"], held["note"],
                [(li["sku"], li["requested"]) for li in held["lines"]]) == (
            asked.from_store, asked.to_store, asked.note,
            sorted((sku, q) for sku, q in asked.lines))
        if not same:
            raise Conflict(f"transfer {transfer_id} exists with other content",
                           field="transfer_id")
        return held
    send_node = task_node(tx.conn, asked.from_store, "from_store")
    task_node(tx.conn, asked.to_store, "to_store")
    tx.conn.execute(transfers.insert().values(
        transfer_id=transfer_id, from_store=asked.from_store, to_store=asked.to_store,
        status="requested", note=asked.note, send_node=send_node, requested_by=actor,
        requested_at=tx.now))
    tx.conn.execute(transfer_lines.insert(), [
        {"transfer_id": transfer_id, "sku": line.sku, "requested": line.quantity,
         **dict.fromkeys(COUNTERS, 0)} for line in lines])
    task = TransferTask(transfer_id=transfer_id, role="send", from_store=asked.from_store,
                        to_store=asked.to_store, lines=lines, requested_by=actor[:64],
                        note=asked.note)
    (command_id,) = queue(tx.conn, [CommandDraft(asked.from_store, send_node, new_message_id(),
                                                 task)], tx.now)
    tx.audit(AuditDraft(actor, role, "transfer.requested", "transfer", transfer_id, None, {
        "from_store": asked.from_store, "to_store": asked.to_store, "note": asked.note,
        "lines": [{"sku": li.sku, "quantity": li.quantity} for li in lines],
        "command_id": command_id, "node": send_node}))
    found = find(tx.conn, transfer_id)
    assert found is not None
    return found


def cancel(tx: Tx, transfer_id: str, reason: str, actor: str, role: str) -> Row:
    """Cancel a transfer not shipped yet and tell its sending node (see the module rules)."""
    if not reason.strip():
        raise InputError("say why (a reason is required)", field="reason")
    found = find(tx.conn, transfer_id)
    if found is None:
        raise NotFound(f"no transfer {transfer_id!r}", field="transfer_id")
    if found["status"] != "requested":
        raise Conflict(f"transfer {transfer_id} is {found['status']}: only a requested "
                       "transfer (not shipped yet) can be cancelled", field="transfer_id")
    tx.conn.execute(transfers.update().where(transfers.c.transfer_id == transfer_id)
                    .values(status="cancelled"))
    body = TransferCancelled(transfer_id=transfer_id, reason=reason.strip()[:500])
    (command_id,) = queue(tx.conn, [CommandDraft(found["from_store"], found["send_node"],
                                                 new_message_id(), body)], tx.now)
    tx.audit(AuditDraft(actor, role, "transfer.cancelled", "transfer", transfer_id,
                        {"status": "requested"}, {"status": "cancelled",
                                                  "command_id": command_id},
                        reason.strip()[:500]))
    return {**found, "status": "cancelled"}


def find(conn: Connection, transfer_id: str) -> Row | None:
    """One transfer with its lines, or None."""
    row = conn.execute(select(transfers).where(transfers.c.transfer_id == transfer_id)).first()
    if row is None:
        return None
    lines = [dict(r._mapping) for r in conn.execute(
        select(transfer_lines).where(transfer_lines.c.transfer_id == transfer_id)
        .order_by(transfer_lines.c.sku))]
    for line in lines:
        del line["transfer_id"]
    return {**dict(row._mapping), "lines": lines}


def detail(conn: Connection, transfer_id: str) -> Row:
    """One transfer with its lines; NotFound otherwise."""
    found = find(conn, transfer_id)
    if found is None:
        raise NotFound(f"no transfer {transfer_id!r}", field="transfer_id")
    return found


def listing(conn: Connection, status: str | None = None, store: str | None = None,
            limit: int = 100) -> list[Row]:
    """Transfers, newest first, with their lines (only a status's or a store's when asked)."""
    query = select(transfers.c.transfer_id).order_by(transfers.c.requested_at.desc(),
                                                     transfers.c.transfer_id).limit(limit)
    if status is not None:
        query = query.where(transfers.c.status == status)
    if store is not None:
        query = query.where((transfers.c.from_store == store) | (transfers.c.to_store == store))
    ids = [r.transfer_id for r in conn.execute(query)]
    return [detail(conn, transfer_id) for transfer_id in ids]
