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
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, notify
from hub.storage.tables.picking import package_shipments, pick_tasks
from hub.storage.tables.routing import routed_orders
from protocol import Envelope, OrderShipped, PickGivenBack

KINDS = frozenset({"order.shipped", "order.pick.given_back"})
RECORDED = "shipments.recorded"  # the after-commit topic: a shipment waits for its confirmation
ENTITY = "package"


def apply(tx: Tx, events: Sequence[Envelope]) -> list[Problem]:
    """Apply the picking events of a batch, in order; the problems."""
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
            _shipped(tx, event, event.body, task)
        elif isinstance(event.body, PickGivenBack):
            reason = _given_back(tx, event, event.body, task)
            if reason:
                problems.append(Problem(event, reason))
    return problems


def _shipped(tx: Tx, event: Envelope, body: OrderShipped, task: Any) -> None:
    held = tx.conn.execute(select(package_shipments).where(
        package_shipments.c.package_id == body.package_id)).first()
    values = {"carrier": body.carrier, "tracking_number": body.tracking_number,
              "shipped_at": body.shipped_at,
              "lines": [{"sku": li.sku, "quantity": li.quantity} for li in body.lines],
              "confirm_state": "pending", "last_error": None}
    if held is not None:
        if (held.carrier, held.tracking_number) == (body.carrier, body.tracking_number):
            return
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
    notify(tx.conn, RECORDED)
    tx.audit(AuditDraft(body.staff_id or event.node_id, "store", "order.shipped", ENTITY,
                        body.package_id,
                        None if held is None else {"carrier": held.carrier,
                                                   "tracking_number": held.tracking_number},
                        {"order_id": body.order_id, "store_id": event.store_id,
                         "carrier": body.carrier, "tracking_number": body.tracking_number}))


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
