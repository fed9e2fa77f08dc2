"""Pick tasks at the store: an Amazon order's package picked, shipped, or given back.

Rules:
- a task arrives as a hub command (``order.pick.task``, ``edge_agent.sync.commands``):
  ``receive`` keeps it in ``pick_tasks``/``pick_lines`` (edge migration ``0021``) and reserves
  each line's units in the ledger (sellable -> reserved, reason ``reservation``), all inside the
  command's transaction, audited; a line the store has too few sellable units for reserves what
  there is (the counter shows the shortfall: pick what is there, or give the task back);
  a package id seen before changes nothing;
- the counter confirms each unit by scan (``scan``): a code that is not a SKU of the task, or a
  SKU already fully picked, is refused with a sentence saying which (409), and nothing changes;
- ``ship`` needs every unit picked and a carrier and tracking number: it tops up any short
  reservation (refused when the units are not there), moves the reserved units out of the store
  (reason ``shipped``) and appends ONE ``order.shipped`` event to the outbox, all in one
  transaction; shipping again with the same carrier and tracking number answers the same task,
  with another a 409 (a resend never makes a second event);
- ``give_back`` (the store cannot fill it) releases the reservation (reserved -> sellable,
  reason ``release``) and appends ``order.pick.given_back``; the hub routes the order again;
- ``withdraw`` (the hub's ``order.pick.withdrawn``: the order was routed again) closes an open
  task and releases its reservation, with no event (the command's report tells the hub); a
  task shipped or given back already stays as it is;
- everything lives in the node's SQLite, so the counter works on pick tasks offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge_agent.errors import Conflict, InvalidRequest, NotFound
from edge_agent.stock.ledger import book_move, levels_of
from edge_agent.stock.rules import Draft
from edge_agent.storage import audit, outbox
from edge_agent.storage.store import Tx
from protocol import (
    MoveReason,
    OrderShipped,
    PickGivenBack,
    PickLine,
    PickTask,
    StockState,
    format_utc,
)

Row = dict[str, Any]
OPEN = "open"
MAX_CODE = 64


@dataclass(frozen=True)
class Node:
    """Whose ledger and outbox a pick task books into."""

    store_id: str
    node_id: str


def receive(tx: Tx, node: Node, task: PickTask, command_id: str,
            at: datetime) -> tuple[bool, str]:
    """Keep the task and reserve its units; (True, what) when new, (False, why) when known."""
    held = tx.one("SELECT status FROM pick_tasks WHERE package_id = ?", (task.package_id,))
    if held is not None:
        return False, f"pick task {task.package_id} is known already ({held['status']})"
    tx.execute("INSERT INTO pick_tasks(package_id, order_id, marketplace_id, ship_by, language, "
               "attempt, command_id, received_at, status) VALUES (?,?,?,?,?,?,?,?, 'open')",
               (task.package_id, task.order_id, task.marketplace_id,
                format_utc(task.ship_by) if task.ship_by else None, task.language,
                task.attempt, command_id, format_utc(at)))
    short = []
    for line in task.lines:
        reserved = _reserve(tx, node, line.sku, line.quantity, at, "hub", "hub")
        tx.execute("INSERT INTO pick_lines(package_id, sku, title, quantity, reserved) "
                   "VALUES (?,?,?,?,?)",
                   (task.package_id, line.sku, line.title, line.quantity, reserved))
        if reserved < line.quantity:
            short.append(f"{line.sku} {reserved} of {line.quantity}")
    audit.record(tx, at=at, actor="hub", role="hub", action="order.pick_task.received",
                 entity="pick_task", entity_id=task.package_id, before=None,
                 after={"order_id": task.order_id, "lines": len(task.lines),
                        "short": short})
    note = f" (short: {', '.join(short)})" if short else ""
    return True, f"pick task {task.package_id} for order {task.order_id}{note}"


def _reserve(tx: Tx, node: Node, sku: str, wanted: int, at: datetime,
             actor: str, role: str) -> int:
    """Reserve up to ``wanted`` sellable units of ``sku``; the units reserved."""
    units = min(wanted, max(levels_of(tx, sku)[StockState.SELLABLE], 0))
    if units > 0:
        book_move(tx, node.store_id, node.node_id,
                  Draft(sku, units, StockState.SELLABLE, StockState.RESERVED,
                        MoveReason.RESERVATION), at, actor, role)
    return units


def open_tasks(tx: Tx) -> list[Row]:
    """The open tasks with their lines, the nearest ship-by first."""
    rows = tx.all("SELECT * FROM pick_tasks WHERE status = 'open' "
                  "ORDER BY ship_by IS NULL, ship_by, received_at, package_id")
    return [{**r, "lines": _lines(tx, r["package_id"])} for r in rows]


def task(tx: Tx, package_id: str) -> Row:
    """One task with its lines (404 when this node has none of that id)."""
    row = tx.one("SELECT * FROM pick_tasks WHERE package_id = ?", (package_id,))
    if row is None:
        raise NotFound(f"no pick task {package_id} at this store", field="package_id")
    return {**row, "lines": _lines(tx, package_id)}


def _lines(tx: Tx, package_id: str) -> list[Row]:
    return tx.all("SELECT sku, title, quantity, reserved, picked FROM pick_lines "
                  "WHERE package_id = ? ORDER BY sku", (package_id,))


def _open(tx: Tx, package_id: str) -> Row:
    row = task(tx, package_id)
    if row["status"] != OPEN:
        raise Conflict(f"pick task {package_id} is {row['status'].replace('_', ' ')} already",
                       field="package_id")
    return row


def scan(tx: Tx, package_id: str, code: str, at: datetime, staff: str) -> Row:
    """Confirm one unit by its scanned code; a wrong item is refused (409), nothing changes."""
    code = code.strip()
    if not code or len(code) > MAX_CODE:
        raise InvalidRequest(f"a scanned code is 1 to {MAX_CODE} characters", field="code")
    row = _open(tx, package_id)
    line = next((li for li in row["lines"] if li["sku"] == code), None)
    if line is None:
        wanted = ", ".join(li["sku"] for li in row["lines"])
        raise Conflict(f"wrong item: {code} is not on order {row['order_id']} "
                       f"(pick {wanted})", field="code")
    if line["picked"] >= line["quantity"]:
        raise Conflict(f"{code}: all {line['quantity']} picked already", field="code")
    tx.execute("UPDATE pick_lines SET picked = picked + 1 WHERE package_id = ? AND sku = ?",
               (package_id, code))
    audit.record(tx, at=at, actor=staff, role="counter", action="order.pick.scanned",
                 entity="pick_task", entity_id=package_id, before={code: line["picked"]},
                 after={code: line["picked"] + 1})
    return task(tx, package_id)


def ship(tx: Tx, node: Node, package_id: str, carrier: str, tracking: str, at: datetime,
         staff: str) -> tuple[Row, bool]:
    """Ship a fully picked package; (task, True) when shipped now, (task, False) on a resend."""
    carrier, tracking = carrier.strip(), tracking.strip()
    row = task(tx, package_id)
    if row["status"] == "shipped":
        if (row["carrier"], row["tracking_number"]) == (carrier, tracking):
            return row, False
        raise Conflict(f"pick task {package_id} shipped already with {row['carrier']} "
                       f"{row['tracking_number']}", field="tracking_number")
    row = _open(tx, package_id)
    missing = [f"{li['sku']} {li['picked']} of {li['quantity']}" for li in row["lines"]
               if li["picked"] < li["quantity"]]
    if missing:
        raise Conflict(f"scan every item before shipping: picked {', '.join(missing)}",
                       field="lines")
    event = OrderShipped(package_id=package_id, order_id=row["order_id"], carrier=carrier,
                         tracking_number=tracking, shipped_at=at, staff_id=staff[:64],
                         lines=tuple(PickLine(sku=li["sku"], quantity=li["quantity"])
                                     for li in row["lines"]))
    for li in row["lines"]:
        topped = li["reserved"]
        if topped < li["quantity"]:
            topped += _reserve(tx, node, li["sku"], li["quantity"] - topped, at,
                               staff, "counter")
        if topped < li["quantity"]:
            raise Conflict(f"{li['sku']}: only {topped} of {li['quantity']} in stock; count it "
                           "or give the task back", field="lines")
        book_move(tx, node.store_id, node.node_id,
                  Draft(li["sku"], li["quantity"], StockState.RESERVED, None,
                        MoveReason.SHIPPED, staff_id=staff[:64]),
                  at, staff, "counter")
    seq = outbox.append(tx, node.store_id, node.node_id, event, at).seq
    _close(tx, row, "shipped", at, staff, seq, carrier=carrier, tracking_number=tracking,
           shipped_at=format_utc(at))
    return task(tx, package_id), True


def _release(tx: Tx, node: Node, row: Row, at: datetime, staff: str, role: str) -> None:
    for li in row["lines"]:
        if li["reserved"] > 0:
            book_move(tx, node.store_id, node.node_id,
                      Draft(li["sku"], li["reserved"], StockState.RESERVED,
                            StockState.SELLABLE, MoveReason.RELEASE, staff_id=staff[:64]),
                      at, staff, role)
    tx.execute("UPDATE pick_lines SET reserved = 0 WHERE package_id = ?", (row["package_id"],))


def withdraw(tx: Tx, node: Node, package_id: str, at: datetime) -> str:
    """The hub takes the task back: close it and release its reservation; what was done."""
    held = tx.one("SELECT status FROM pick_tasks WHERE package_id = ?", (package_id,))
    if held is None:
        return f"no pick task {package_id} here: nothing to withdraw"
    if held["status"] != OPEN:
        return f"pick task {package_id} is {held['status']} already: kept"
    row = task(tx, package_id)
    _release(tx, node, row, at, "hub", "hub")
    tx.execute("UPDATE pick_tasks SET status = 'withdrawn', closed_at = ?, closed_by = 'hub' "
               "WHERE package_id = ?", (format_utc(at), package_id))
    audit.record(tx, at=at, actor="hub", role="hub", action="order.pick_task.withdrawn",
                 entity="pick_task", entity_id=package_id, before={"status": OPEN},
                 after={"status": "withdrawn"})
    return f"pick task {package_id} withdrawn, its reservation released"


def give_back(tx: Tx, node: Node, package_id: str, reason: str, at: datetime,
              staff: str) -> Row:
    """The store cannot fill the package: release its reservation and tell the hub."""
    why = reason.strip()
    if not why:
        raise InvalidRequest("say why the store cannot fill it", field="reason")
    row = _open(tx, package_id)
    _release(tx, node, row, at, staff, "counter")
    event = PickGivenBack(package_id=package_id, order_id=row["order_id"], reason=why[:2000],
                          at=at, staff_id=staff[:64])
    seq = outbox.append(tx, node.store_id, node.node_id, event, at).seq
    _close(tx, row, "given_back", at, staff, seq, given_back_reason=why[:2000])
    return task(tx, package_id)


def _close(tx: Tx, row: Row, status: str, at: datetime, staff: str, seq: int,
           **values: str) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    tx.execute(f"UPDATE pick_tasks SET status = ?, closed_at = ?, closed_by = ?, event_seq = ?"
               f"{', ' + sets if sets else ''} WHERE package_id = ?",
               (status, format_utc(at), staff, seq, *values.values(), row["package_id"]))
    audit.record(tx, at=at, actor=staff, role="counter", action=f"order.pick_task.{status}",
                 entity="pick_task", entity_id=row["package_id"], before={"status": OPEN},
                 after={"status": status, **values})
