"""Pick tasks sent to the stores an order is routed to (``order.pick.task``).

Rules:
- every package of a route is sent, in the routing's own transaction, as one command to one
  node of its store: the first node (by id) whose certificate is not revoked; a store with no
  node yet gets no command: the package waits in ``routed_packages`` and ``send_waiting`` sends
  it once the store has a node (the orders sync calls it on every run), while the order is
  still open at Amazon;
- a package id is stable for (account, order, store, routing attempt): the store keeps it, the
  ``order.shipped`` event names it, and the hub keeps Amazon's ``packageReferenceId`` (a number
  within the order) with it, so a resend of the same shipment edits Amazon's package instead of
  adding one;
- a route replaces the order's earlier one: each of its pick tasks still open is withdrawn
  (``order.pick.withdrawn`` to the same node) before the new ones are sent;
- the task carries the lines, the ship-by time (the end of the package's local ship date in the
  store's zone, UTC) and the store's language for the packing slip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from hub.inventory.routing.values import Line, Package
from hub.storage.engine import Tx
from hub.storage.outbox import CommandDraft, queue
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.fleet import node_certificates
from hub.storage.tables.picking import pick_tasks
from hub.storage.tables.routing import routed_orders, routed_packages
from protocol import PickLine, PickTask, PickWithdrawn, new_message_id

LANGUAGES = frozenset({"en", "de", "zh", "ja"})
SHIP_BY_LOCAL = time(23, 59, 59)


def package_id(account: str, order_id: str, store_id: str, attempt: int) -> str:
    """The package's id, e.g. ``PK3F9A0C1D2E4B5A6C``: stable for its order, store and attempt."""
    digest = hashlib.sha256(f"{account}\n{order_id}\n{store_id}\n{attempt}".encode()).hexdigest()
    return "PK" + digest[:16].upper()


def node_of(conn: Connection, store_id: str) -> str | None:
    """The node that picks for ``store_id``: its first node not revoked (None: no node yet)."""
    c = node_certificates.c
    revoked = select(c.node_id).where(c.store_id == store_id, c.revoked_at.is_not(None))
    return conn.scalars(select(nodes.c.node_id).where(
        nodes.c.store_id == store_id, nodes.c.node_id.not_in(revoked))
        .order_by(nodes.c.node_id).limit(1)).first()


def send(tx: Tx, account: str, order_id: str, marketplace_id: str, attempt: int,
         packages: Iterable[Package]) -> list[str]:
    """Withdraw the order's open tasks, queue a pick task to each package's store; the package
    ids sent."""
    _withdraw_open(tx, account, order_id, attempt)
    sent = []
    for package in packages:
        node = node_of(tx.conn, package.store_id)
        if node is not None:
            sent.append(_send_one(tx, account, order_id, marketplace_id, attempt, package, node))
    return sent


def send_waiting(tx: Tx, open_statuses: Iterable[str]) -> list[str]:
    """Send the packages of the current routes that never got a task because their store had no
    node then, where it has one now and Amazon still lists the order in ``open_statuses``; the
    package ids sent."""
    r, o, t = routed_packages.c, routed_orders.c, pick_tasks.c
    rows = tx.conn.execute(
        select(r.account, r.order_id, r.store_id, r.ship_date, r.lines, o.attempt,
               o.marketplace_id)
        .join(routed_orders, (o.account == r.account) & (o.order_id == r.order_id))
        .join(amazon_orders, (amazon_orders.c.account == r.account)
              & (amazon_orders.c.order_id == r.order_id))
        .where(amazon_orders.c.status.in_(list(open_statuses)))
        .where(select(nodes.c.node_id).where(nodes.c.store_id == r.store_id).exists())
        .where(~select(t.package_id).where(  # no task of this route (sent with it, or later)
            t.account == r.account, t.order_id == r.order_id, t.store_id == r.store_id,
            t.sent_at >= o.routed_at).exists())
        .order_by(r.account, r.order_id, r.store_id)).all()
    sent = []
    for row in rows:
        node = node_of(tx.conn, row.store_id)
        if node is None:
            continue
        package = Package(row.store_id, row.ship_date,
                          tuple(Line(li["sku"], int(li["quantity"])) for li in row.lines))
        sent.append(_send_one(tx, row.account, row.order_id, row.marketplace_id, row.attempt,
                              package, node))
    return sent


def _send_one(tx: Tx, account: str, order_id: str, marketplace_id: str, attempt: int,
              package: Package, node: str) -> str:
    """Queue one package's pick task to ``node`` and record it; its package id."""
    zone, language = tx.conn.execute(select(stores.c.time_zone, stores.c.language).where(
        stores.c.store_id == package.store_id)).one()
    ship_by = datetime.combine(package.ship_date, SHIP_BY_LOCAL,
                               ZoneInfo(zone or "UTC"))
    pid = package_id(account, order_id, package.store_id, attempt)
    task = PickTask(package_id=pid, order_id=order_id, marketplace_id=marketplace_id,
                    lines=tuple(PickLine(sku=li.sku, quantity=li.quantity)
                                for li in package.lines),
                    ship_by=ship_by, attempt=attempt,
                    language=language if language in LANGUAGES else "en")
    (command_id,) = queue(tx.conn, [CommandDraft(package.store_id, node, new_message_id(),
                                                 task)], tx.now)
    tx.conn.execute(pick_tasks.insert().values(
        package_id=pid, account=account, order_id=order_id, store_id=package.store_id,
        node_id=node, command_id=command_id, ship_by=task.ship_by, status="open",
        sent_at=tx.now, lines=[{"sku": li.sku, "quantity": li.quantity}
                               for li in package.lines]))
    return pid


def _withdraw_open(tx: Tx, account: str, order_id: str, attempt: int) -> None:
    p = pick_tasks.c
    for row in tx.conn.execute(select(pick_tasks).where(
            p.account == account, p.order_id == order_id, p.status == "open")).all():
        body = PickWithdrawn(package_id=row.package_id, order_id=order_id,
                             reason=f"routed again (attempt {attempt})")
        queue(tx.conn, [CommandDraft(row.store_id, row.node_id, new_message_id(), body)], tx.now)
        tx.conn.execute(update(pick_tasks).where(p.package_id == row.package_id).values(
            status="withdrawn", closed_at=tx.now))
