"""Transfers between stores at this node: the hub's tasks to ship one or to receive one.

Rules:
- a task arrives as a hub command (``transfer.task``, ``edge_agent.sync.commands``): ``take``
  keeps it in ``transfer_tasks`` (migration ``0020``) inside the command's transaction, audited;
  a task known already changes nothing; it names this store as the sender (role ``send``) or
  the receiver (``receive``), else it is refused;
- ``ship`` (the sender): every line moves sellable -> in transit (``transfer_out``), all lines or
  none (a line beyond the sellable stock is a 409 naming it); the task is then ``shipped``. A
  second ship of a shipped task answers the first (``created: false``);
- ``receive`` (the receiver) takes what was counted per SKU of the task (a SKU left out counted
  nothing; a SKU not in the task is refused): per line a surplus enters sellable
  (``transfer_in``), the shipped quantity enters in transit (``transfer_in``, announced), the
  counted units go on to sellable (``transfer_in``) and a shortfall leaves in transit as the
  transfer's difference (``count`` with the transfer id). The hub follows the transfer from these
  moves: a line whose in transit is empty again is complete.
  A repeat with the same counts answers the first receipt; other counts are a 409;
- ``delivered`` (the sender, on the hub's ``transfer.delivered``): the shipped units leave in
  transit (``transfer_out``, in transit -> outside the store); the task is ``delivered``. A
  transfer this node never shipped has nothing in transit: nothing is booked (a detail says so);
- ``cancelled`` (the sender, on the hub's ``transfer.cancelled``): an open send task is
  ``cancelled`` and leaves the counter's list, audited with the hub's reason; a task shipped
  already stays shipped (the goods left: the hub follows the shipment), and says so;
- all of it works offline: tasks and moves live in the node's SQLite; each write is one
  transaction with its ``stock.moved`` events and audit entries.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.errors import Conflict, InvalidRequest, NotFound
from edge_agent.stock.ledger import book_move
from edge_agent.stock.rules import Draft
from edge_agent.storage import audit
from edge_agent.storage.store import Tx
from protocol import (
    MoveReason,
    StockState,
    TransferCancelled,
    TransferDelivered,
    TransferTask,
    format_utc,
)
from protocol.limits import MAX_STOCK_QUANTITY
from protocol.transfers import MAX_TRANSFER_LINES

Row = dict[str, Any]
Status = Literal["open", "shipped", "received", "delivered", "cancelled"]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Staff = Annotated[str, Field(min_length=1, max_length=64)]
S = StockState


class LineView(BaseModel):
    """One SKU of a transfer and how many units."""

    sku: str
    quantity: int


class ReceivedLine(BaseModel):
    """What the receiver counted of one SKU against what was shipped."""

    sku: str
    shipped: int
    counted: int
    difference: int


class TransferTaskView(BaseModel):
    """One of the hub's transfer tasks at this store."""

    transfer_id: str
    role: Literal["send", "receive"]
    from_store: str
    to_store: str
    lines: list[LineView]
    status: Status
    requested_by: str | None
    note: str | None
    received_at: str
    done_by: str | None
    done_at: str | None
    counted: list[ReceivedLine] | None
    created: bool = Field(default=True, description="false: this answers an earlier request")


class TransferTasks(BaseModel):
    """The transfer tasks still to do here (ship or receive), oldest first."""

    tasks: list[TransferTaskView]


class ShipRequest(BaseModel):
    """Ship the transfer (every line, in full)."""

    model_config = ConfigDict(extra="forbid")
    staff_id: Staff | None = None


class CountedIn(BaseModel):
    """Units of one SKU counted on arrival."""

    model_config = ConfigDict(extra="forbid")
    sku: Sku
    counted: int = Field(ge=0, le=MAX_STOCK_QUANTITY)


class ReceiveRequest(BaseModel):
    """What arrived, counted per SKU (a SKU of the transfer left out: none arrived)."""

    model_config = ConfigDict(extra="forbid")
    lines: list[CountedIn] = Field(max_length=MAX_TRANSFER_LINES)
    staff_id: Staff | None = None


# -- the hub's commands --------------------------------------------------------------------------

def take(tx: Tx, task: TransferTask, store_id: str, command_id: str,
         at: datetime) -> tuple[Literal["applied", "refused"], str]:
    """Keep the hub's task here; refused when it does not name this store on its side."""
    ours = task.from_store if task.role == "send" else task.to_store
    if ours != store_id:
        return "refused", (f"transfer {task.transfer_id}: the {task.role} side is store "
                           f"{ours}, not {store_id}")
    held = _row(tx, task.transfer_id, task.role)
    if held is not None:
        return "applied", f"transfer {task.transfer_id} is known already ({held['status']})"
    lines = [line.model_dump(exclude={"kind"}) for line in task.lines]
    tx.execute("INSERT INTO transfer_tasks(transfer_id, role, from_store, to_store, lines, "
               "requested_by, note, command_id, received_at, status) "
               "VALUES (?,?,?,?,?,?,?,?,?, 'open')",
               (task.transfer_id, task.role, task.from_store, task.to_store, json.dumps(lines),
                task.requested_by, task.note, command_id, format_utc(at)))
    audit.record(tx, at=at, actor=task.requested_by or "hub", role="hub",
                 action="transfer.task.received", entity="transfer", entity_id=task.transfer_id,
                 before=None, after={"role": task.role, "from": task.from_store,
                                     "to": task.to_store, "lines": lines})
    verb = "ship to" if task.role == "send" else "receive from"
    other = task.to_store if task.role == "send" else task.from_store
    return "applied", f"transfer {task.transfer_id}: {verb} {other}, {len(lines)} lines"


def delivered(tx: Tx, body: TransferDelivered, store_id: str, node_id: str,
              at: datetime) -> tuple[Literal["applied", "refused"], str]:
    """The transfer arrived: the shipped units leave in transit; refused if never shipped here."""
    row = _row(tx, body.transfer_id, "send")
    if row is None or row["status"] == "open":
        # nothing of it is in transit here (e.g. a replacement node that never shipped it):
        # nothing to book, and the hub follows the transfer from moves, not from this report
        state = "not known" if row is None else "not shipped"
        return "applied", (f"transfer {body.transfer_id} is {state} at this node: nothing in "
                           "transit to book out")
    if row["status"] == "delivered":
        return "applied", f"transfer {body.transfer_id} was delivered already"
    shipped = {line["sku"]: line["quantity"] for line in json.loads(row["lines"])}
    for line in body.lines:
        if shipped.get(line.sku) != line.quantity:
            return "refused", (f"transfer {body.transfer_id}: {line.sku} x {line.quantity} "
                               "is not what this store shipped")
    for line in body.lines:
        book_move(tx, store_id, node_id, Draft(line.sku, line.quantity, S.IN_TRANSIT, None,
                                               MoveReason.TRANSFER_OUT,
                                               transfer_id=body.transfer_id),
                  at, "hub", "hub")
    _set_status(tx, row, "delivered", at, "hub", {"delivered_at": format_utc(at)})
    return "applied", f"transfer {body.transfer_id} delivered: in-transit units booked out"


def cancelled(tx: Tx, body: TransferCancelled,
              at: datetime) -> tuple[Literal["applied", "refused"], str]:
    """The hub cancelled a transfer: an open send task here is dropped (see the module rules)."""
    row = _row(tx, body.transfer_id, "send")
    if row is None:
        return "applied", f"transfer {body.transfer_id} is not known at this node: nothing to drop"
    if row["status"] != "open":
        return "applied", (f"transfer {body.transfer_id} is {row['status']} here: it stays so "
                           "(the goods left; the hub follows the shipment)")
    _set_status(tx, row, "cancelled", at, "hub", {"note": f"cancelled: {body.reason}"[:2000]})
    return "applied", f"transfer {body.transfer_id} cancelled: {body.reason}"


# -- the counter -------------------------------------------------------------------------------

def open_tasks(tx: Tx) -> TransferTasks:
    """Tasks still to do here: to ship (open, send) or to receive (open, receive)."""
    rows = tx.all("SELECT * FROM transfer_tasks WHERE status = 'open' "
                  "ORDER BY received_at, transfer_id")
    return TransferTasks(tasks=[view(r) for r in rows])


def get(tx: Tx, transfer_id: str) -> TransferTaskView:
    """This store's task of a transfer (404 when it has none)."""
    rows = tx.all("SELECT * FROM transfer_tasks WHERE transfer_id = ?", (transfer_id,))
    if not rows:
        raise NotFound(f"no transfer {transfer_id} at this store", field="transfer_id")
    return view(rows[0])


def ship(tx: Tx, store_id: str, node_id: str, transfer_id: str, request: ShipRequest,
         at: datetime) -> TransferTaskView:
    """Ship every line: sellable -> in transit, all or nothing."""
    row = _task(tx, transfer_id, "send")
    if row["status"] != "open":
        return view(row, created=False)
    actor = request.staff_id or "counter"
    for index, line in enumerate(json.loads(row["lines"])):
        try:
            book_move(tx, store_id, node_id, Draft(line["sku"], line["quantity"], S.SELLABLE,
                                                   S.IN_TRANSIT, MoveReason.TRANSFER_OUT,
                                                   staff_id=request.staff_id,
                                                   transfer_id=transfer_id), at, actor, "counter")
        except Conflict as err:
            raise type(err)(err.message, field=f"lines.{index}.quantity") from err
    return view(_set_status(tx, row, "shipped", at, actor))


def receive(tx: Tx, store_id: str, node_id: str, transfer_id: str, request: ReceiveRequest,
            at: datetime) -> TransferTaskView:
    """Book what arrived against what was shipped; the difference is booked and reported."""
    row = _task(tx, transfer_id, "receive")
    counted = _counted(row, request)
    if row["status"] != "open":
        held = {line["sku"]: line["counted"] for line in json.loads(row["counted"] or "[]")}
        if held != counted:
            raise Conflict(f"transfer {transfer_id} was received already with other counts",
                           field="lines")
        return view(row, created=False)
    actor = request.staff_id or "counter"
    found: list[dict[str, int | str]] = []
    for line in json.loads(row["lines"]):
        sku, shipped = line["sku"], int(line["quantity"])
        got = counted[sku]
        for draft in receipt_drafts(sku, shipped, got, transfer_id, request.staff_id):
            book_move(tx, store_id, node_id, draft, at, actor, "counter")
        found.append({"sku": sku, "shipped": shipped, "counted": got,
                      "difference": got - shipped})
    return view(_set_status(tx, row, "received", at, actor, {"counted": json.dumps(found)}))


def receipt_drafts(sku: str, shipped: int, counted: int, transfer_id: str,
                   staff_id: str | None) -> list[Draft]:
    """The moves that book one received line (pure): a surplus into sellable, the shipped units
    announced into in transit, the counted ones on to sellable, a shortfall out of in transit.
    The line's last move empties its in transit, so the hub knows the line is complete."""
    def move(quantity: int, frm: StockState | None, to: StockState | None,
             reason: MoveReason = MoveReason.TRANSFER_IN) -> Draft:
        return Draft(sku, quantity, frm, to, reason, staff_id=staff_id, transfer_id=transfer_id)
    drafts = [move(counted - shipped, None, S.SELLABLE)] if counted > shipped else []
    drafts.append(move(shipped, None, S.IN_TRANSIT))
    if min(shipped, counted):
        drafts.append(move(min(shipped, counted), S.IN_TRANSIT, S.SELLABLE))
    if counted < shipped:
        drafts.append(move(shipped - counted, S.IN_TRANSIT, None, MoveReason.COUNT))
    return drafts


# -- rows --------------------------------------------------------------------------------------

def view(row: Row, created: bool = True) -> TransferTaskView:
    """A task row as the API shows it."""
    counted = json.loads(row["counted"]) if row.get("counted") else None
    return TransferTaskView(
        transfer_id=row["transfer_id"], role=row["role"], from_store=row["from_store"],
        to_store=row["to_store"], lines=[LineView(**x) for x in json.loads(row["lines"])],
        status=row["status"], requested_by=row["requested_by"], note=row["note"],
        received_at=row["received_at"], done_by=row["done_by"], done_at=row["done_at"],
        counted=[ReceivedLine(**x) for x in counted] if counted is not None else None,
        created=created)


def _row(tx: Tx, transfer_id: str, role: str) -> Row | None:
    return tx.one("SELECT * FROM transfer_tasks WHERE transfer_id = ? AND role = ?",
                  (transfer_id, role))


def _task(tx: Tx, transfer_id: str, role: str) -> Row:
    row = _row(tx, transfer_id, role)
    if row is None:
        other = _row(tx, transfer_id, "receive" if role == "send" else "send")
        if other is not None:
            raise Conflict(f"this store is not the one to {'ship' if role == 'send' else 'receive'}"
                           f" transfer {transfer_id}", field="transfer_id")
        raise NotFound(f"no transfer {transfer_id} at this store", field="transfer_id")
    return row


def _counted(row: Row, request: ReceiveRequest) -> dict[str, int]:
    skus = [line.sku for line in request.lines]
    if len(set(skus)) != len(skus):
        raise InvalidRequest("each SKU at most once in a receipt", field="lines")
    expected = {line["sku"] for line in json.loads(row["lines"])}
    for index, line in enumerate(request.lines):
        if line.sku not in expected:
            raise InvalidRequest(f"{line.sku} is not in transfer {row['transfer_id']}",
                                 field=f"lines.{index}.sku")
    given = {line.sku: line.counted for line in request.lines}
    return {sku: given.get(sku, 0) for sku in sorted(expected)}


def _set_status(tx: Tx, row: Row, status: Status, at: datetime, actor: str,
                extra: dict[str, str] | None = None) -> Row:
    by_hub = status in ("delivered", "cancelled")
    values = {"status": status, "done_by": row["done_by"] if by_hub else actor,
              "done_at": row["done_at"] if by_hub else format_utc(at),
              **(extra or {})}
    sets = ", ".join(f"{name} = ?" for name in values)
    tx.execute(f"UPDATE transfer_tasks SET {sets} WHERE transfer_id = ? AND role = ?",
               (*values.values(), row["transfer_id"], row["role"]))
    audit.record(tx, at=at, actor=actor,
                 role="hub" if status in ("delivered", "cancelled") else "counter",
                 action=f"transfer.{status}", entity="transfer", entity_id=row["transfer_id"],
                 before={"status": row["status"]},
                 after={"status": status, **{k: v for k, v in (extra or {}).items()}})
    return {**row, **values}
