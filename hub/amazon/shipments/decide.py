"""A person decides a package Amazon refused or a store shipped twice.

Rules:
- only a ``failed`` (Amazon refused the confirmation) or ``held`` (the order's units were
  shipped twice) package is decided; any other state is a conflict that names it;
- ``resend``: the package goes back to ``pending`` (the next ``shipments`` run sends it, with the
  same ``packageReferenceId``), with a corrected carrier and tracking number when given; for a
  ``held`` package it means "this really is a second package of the order";
- ``drop``: the package is never sent (``dropped``): e.g. the second shipment of an order
  Amazon already has, or a package a person settled with Amazon by hand;
- a reason is required; audited ``order.shipment_resent`` / ``order.shipment_dropped`` (entity
  ``package``) with the state before and after; a resend wakes the shipments job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from hub.errors import Conflict, InputError, NotFound
from hub.inventory.picking import RECORDED
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, notify
from hub.storage.tables.picking import package_shipments

DECIDABLE = ("failed", "held")


def find(tx: Tx, package_id: str) -> dict[str, Any]:
    """The package, or NotFound."""
    row = tx.conn.execute(select(package_shipments).where(
        package_shipments.c.package_id == package_id)).first()
    if row is None:
        raise NotFound(f"no shipped package {package_id!r}", field="package_id")
    return dict(row._mapping)


def decide(tx: Tx, package_id: str, action: str, reason: str, actor: str, role: str,
           carrier: str | None = None, tracking_number: str | None = None) -> dict[str, Any]:
    """Resend or drop one failed or held package (see the module rules); the package after."""
    if not reason.strip():
        raise InputError("say why (a reason is required)", field="reason")
    if action not in ("resend", "drop"):
        raise InputError(f"action {action!r}: choose resend or drop", field="action")
    if action == "drop" and (carrier or tracking_number):
        raise InputError("a dropped package is not sent: give no carrier or tracking number",
                         field="carrier")
    row = find(tx, package_id)
    if row["confirm_state"] not in DECIDABLE:
        raise Conflict(f"package {package_id} is {row['confirm_state']}: only a failed or held "
                       f"package is decided by hand", field="package_id")
    values: dict[str, Any] = {"confirm_state": "pending" if action == "resend" else "dropped",
                              "last_error": None if action == "resend" else row["last_error"]}
    if carrier:
        values["carrier"] = carrier
    if tracking_number:
        values["tracking_number"] = tracking_number
    tx.conn.execute(update(package_shipments).where(
        package_shipments.c.package_id == package_id).values(**values))
    before = {k: row[k] for k in ("confirm_state", "carrier", "tracking_number", "last_error")}
    after = {**before, **values}
    tx.audit(AuditDraft(actor, role, "order.shipment_resent" if action == "resend"
                        else "order.shipment_dropped", "package", package_id, before,
                        {**after, "order_id": row["order_id"]}, reason.strip()[:500]))
    if action == "resend":
        notify(tx.conn, RECORDED)
    return {**row, **values}
