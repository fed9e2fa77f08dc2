"""The stores' picking events at the hub: ``order.shipped`` and ``order.pick.given_back``.

Called by the ingest inside its batch transaction (``hub.sync.ingest.batch``), in seq order.

Rules:
- an event names a package the hub sent to THAT store's node (``pick_tasks``); any other is a
  problem (dead-lettered with its reason), never applied;
- ``order.shipped`` records the package's carrier, tracking number and ship date in
  ``package_shipments`` with its reference (1, 2, ... within the order: Amazon's
  ``packageReferenceId``) and ``confirm_state`` ``pending`` (the Amazon job
  ``hub.amazon.shipments`` confirms it); the same package again with the same carrier and
  tracking number changes nothing; with others it is recorded and set ``pending`` again, so
  Amazon's package (same ``packageReferenceId``) is edited; audited (entity ``package``); the
  commit wakes whoever listens on ``RECORDED`` (the Amazon scheduler runs ``shipments`` now);
- a shipment of a task the hub had withdrawn (the order was routed again while the store
  shipped) is kept and confirmed all the same: the goods left. Each task of the order still open
  that asks for a SKU of it is withdrawn (``order.pick.withdrawn`` to its node, which releases
  the reservation), audited ``order.pick.withdrawn`` (entity ``package``);
- a shipment that would take the order's shipped units of a SKU past what Amazon's order asks
  for (two stores shipped it) is recorded ``held``, never sent to Amazon: an alert for a person
  (``/api/shipments?state=held`` on the desk, ``acorn_hub_shipments_unconfirmed{state="held"}``),
  audited ``order.shipped_twice``;
- a package shipped for an order of another region (the region of the store nearest the
  destination) is booked as a virtual transfer at the transfer price
  (``hub.inventory.transfers.fills``), once per package;
- ``order.pick.given_back`` closes the task and routes the order again without the store
  (``routing.service.give_back_in``, audited there as ``order.given_back``); an order Amazon no
  longer lists as unshipped is not routed again (the problem says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from hub.access.users import Actor
from hub.errors import HubError
from hub.inventory.projection import Problem
from hub.inventory.routing import service as routing
from hub.inventory.transfers import fills as filled_for
from hub.inventory.transfers.book import Rates, no_rates
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, notify
from hub.storage.outbox import CommandDraft, queue
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.picking import package_shipments, pick_tasks
from hub.storage.tables.routing import routed_orders
from protocol import Envelope, OrderShipped, PickGivenBack, PickWithdrawn, new_message_id

KINDS = frozenset({"order.shipped", "order.pick.given_back"})
RECORDED = "shipments.recorded"  # the after-commit topic: a shipment waits for its confirmation
ENTITY = "package"
HELD = "held"  # a confirm_state: shipped twice, a person decides (never sent to Amazon)


def apply(tx: Tx, events: Sequence[Envelope], rates: Rates = no_rates) -> list[Problem]:
    """Apply the picking events of a batch, in order; the problems (``rates``: the day's
    exchange rates, for pricing a package shipped for another region's order)."""
    problems: list[Problem] = []
    for event in events:
        body: Any = event.body
        task = tx.conn.execute(select(pick_tasks).where(
            pick_tasks.c.package_id == body.package_id)).first()
        if task is None or (task.store_id, task.node_id) != (event.store_id, event.node_id):
            problems.append(Problem(event, f"no package {body.package_id} was sent to "
                                           f"{event.store_id}/{event.node_id}"))
            continue
        if isinstance(event.body, OrderShipped):
            _shipped(tx, event, event.body, task, rates)
        elif isinstance(event.body, PickGivenBack):
            reason = _given_back(tx, event, event.body, task)
            if reason:
                problems.append(Problem(event, reason))
    return problems


def _shipped(tx: Tx, event: Envelope, body: OrderShipped, task: Any, rates: Rates) -> None:
    held = tx.conn.execute(select(package_shipments).where(
        package_shipments.c.package_id == body.package_id)).first()
    lines = [{"sku": li.sku, "quantity": li.quantity} for li in body.lines]
    values = {"carrier": body.carrier, "tracking_number": body.tracking_number,
              "shipped_at": body.shipped_at, "lines": lines,
              "confirm_state": "pending", "last_error": None}
    if held is not None and (held.carrier, held.tracking_number) == (body.carrier,
                                                                     body.tracking_number):
        return
    twice = _over_shipped(tx, task.account, body.order_id, body.package_id, lines)
    if twice:
        values.update(confirm_state=HELD, last_error=twice)
    if held is not None:
        tx.conn.execute(update(package_shipments).where(
            package_shipments.c.package_id == body.package_id).values(**values))
    else:
        marketplace = tx.conn.scalar(select(routed_orders.c.marketplace_id).where(
            routed_orders.c.account == task.account,
            routed_orders.c.order_id == body.order_id))
        taken = tx.conn.scalar(select(func.max(package_shipments.c.reference_id)).where(
            package_shipments.c.account == task.account,
            package_shipments.c.order_id == body.order_id))
        tx.conn.execute(package_shipments.insert().values(
            package_id=body.package_id, account=task.account, reference_id=(taken or 0) + 1,
            order_id=body.order_id, marketplace_id=marketplace or "",
            store_id=event.store_id, node_id=event.node_id, attempts=0, recorded_at=tx.now,
            **values))
    tx.conn.execute(update(pick_tasks).where(pick_tasks.c.package_id == body.package_id)
                    .values(status="shipped", closed_at=body.shipped_at))
    actor = body.staff_id or event.node_id
    tx.audit(AuditDraft(actor, "store", "order.shipped", ENTITY,
                        body.package_id,
                        None if held is None else {"carrier": held.carrier,
                                                   "tracking_number": held.tracking_number},
                        {"order_id": body.order_id, "store_id": event.store_id,
                         "carrier": body.carrier, "tracking_number": body.tracking_number,
                         "task_was": task.status}))
    if task.status == "withdrawn":
        _withdraw_replacements(tx, task, body)
    if twice:
        tx.audit(AuditDraft(actor, "store", "order.shipped_twice", ENTITY, body.package_id,
                            None, {"order_id": body.order_id, "store_id": event.store_id,
                                   "confirm_state": HELD}, twice[:500]))
    else:
        notify(tx.conn, RECORDED)
        filled_for.book_package(tx, task.account, body.order_id, body.package_id,
                                event.store_id, [(li.sku, li.quantity) for li in body.lines],
                                body.shipped_at, actor, rates)


def _over_shipped(tx: Tx, account: str, order_id: str, package_id: str,
                  lines: list[dict[str, Any]]) -> str | None:
    """Why recording ``lines`` would ship more of a SKU than the order asks for (None: it
    would not, or the order's items are not known)."""
    items = tx.conn.scalar(select(amazon_orders.c["items"]).where(
        amazon_orders.c.account == account, amazon_orders.c.order_id == order_id))
    if not items:
        return None
    ordered: dict[str, int] = {}
    for item in items:
        sku, quantity = item.get("sku"), item.get("quantity")
        if isinstance(sku, str) and isinstance(quantity, int):
            ordered[sku] = ordered.get(sku, 0) + quantity
    s = package_shipments.c
    shipped: dict[str, int] = {}
    others: list[str] = []
    for row in tx.conn.execute(select(s.package_id, s.store_id, s.lines).where(
            s.account == account, s.order_id == order_id, s.package_id != package_id)):
        others.append(f"{row.package_id} from {row.store_id}")
        for li in row.lines:
            shipped[li["sku"]] = shipped.get(li["sku"], 0) + int(li["quantity"])
    over = [f"{li['sku']} {shipped.get(li['sku'], 0) + li['quantity']} of "
            f"{ordered.get(li['sku'], 0)}" for li in lines
            if shipped.get(li["sku"], 0) + li["quantity"] > ordered.get(li["sku"], 0)]
    if not over:
        return None
    return (f"order {order_id} shipped twice: {', '.join(over)} ordered (shipped already: "
            f"{', '.join(others) or 'none'}); held, not confirmed to Amazon: a person decides")


def _withdraw_replacements(tx: Tx, late: Any, body: OrderShipped) -> None:
    """The order was routed away from ``late``'s store, which shipped anyway: withdraw every
    open task of the order asking for a SKU it shipped."""
    skus = {li.sku for li in body.lines}
    p = pick_tasks.c
    for row in tx.conn.execute(select(pick_tasks).where(
            p.account == late.account, p.order_id == body.order_id, p.status == "open",
            p.package_id != body.package_id)).all():
        if not skus & {str(li["sku"]) for li in row.lines}:
            continue
        reason = (f"store {late.store_id} shipped package {body.package_id} of the order "
                  "after it was routed here")
        queue(tx.conn, [CommandDraft(row.store_id, row.node_id, new_message_id(),
                                     PickWithdrawn(package_id=row.package_id,
                                                   order_id=body.order_id, reason=reason))],
              tx.now)
        tx.conn.execute(update(pick_tasks).where(p.package_id == row.package_id).values(
            status="withdrawn", closed_at=tx.now))
        tx.audit(AuditDraft("system", "system", "order.pick.withdrawn", ENTITY,
                            row.package_id, {"status": "open", "store_id": row.store_id},
                            {"status": "withdrawn", "order_id": body.order_id,
                             "shipped_by": late.store_id}, reason))


def _given_back(tx: Tx, event: Envelope, body: PickGivenBack, task: Any) -> str | None:
    if task.status != "open":
        return None  # a resend of a give-back already applied
    tx.conn.execute(update(pick_tasks).where(pick_tasks.c.package_id == body.package_id)
                    .values(status="given_back", closed_at=body.at))
    actor = Actor(body.staff_id or event.node_id, "store")
    try:
        # give_back_in refuses (raises) before it writes anything, so no savepoint is needed
        routing.give_back_in(tx, body.order_id, event.store_id, actor,
                             f"store {event.store_id}: {body.reason}"[:500])
    except HubError as err:
        return f"order {body.order_id} given back but not routed again: {err}"
    return None
