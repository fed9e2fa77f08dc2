"""The ``shipments`` job: send each pending package to Amazon's ``confirmShipment``."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from hub.amazon.context import JobContext, iso
from hub.amazon.errors import AmazonApiError, Stopped
from hub.amazon.supply_sources import registry
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.picking import package_shipments

log = logging.getLogger(__name__)
OPERATION = "confirmShipment"
TO_SEND = ("pending", "sending")
REFUSED_CODES = frozenset({"InvalidInput", "BadRequest", "NotFound", "InvalidOrderState"})
BATCH = 100
ROLE = "amazon"


def confirm_shipments(ctx: JobContext) -> None:
    """Confirm every package of the account that is pending, or was being sent by a hub that
    stopped before it recorded Amazon's answer."""
    for row in _due(ctx):
        _send(ctx, row)


def _due(ctx: JobContext) -> list[dict[str, Any]]:
    with reading(ctx.engine) as conn:
        s = package_shipments.c
        rows = conn.execute(select(package_shipments).where(
            s.account == ctx.account.name, s.confirm_state.in_(TO_SEND))
            .order_by(s.recorded_at, s.package_id).limit(BATCH)).all()
    return [dict(r._mapping) for r in rows]


def request_body(row: dict[str, Any], items: list[dict[str, Any]],
                 supply_source: str | None = None) -> dict[str, Any]:
    """The ``ConfirmShipmentRequest`` of one package (pure): the order's item ids by SKU (a
    SKU on several items of the order spread over them in order, each up to its quantity), and
    the store's supply source when it is published as one."""
    by_sku: dict[str, list[tuple[str, int | None]]] = {}
    for item in items:
        if item.get("order_item_id"):
            quantity = item.get("quantity")
            by_sku.setdefault(str(item.get("sku")), []).append(
                (str(item["order_item_id"]), quantity if isinstance(quantity, int) else None))
    missing = sorted(li["sku"] for li in row["lines"] if li["sku"] not in by_sku)
    if missing:
        raise ValueError(f"order {row['order_id']} has no item of SKU {', '.join(missing)}")
    order_items = [entry for li in row["lines"]
                   for entry in _spread(row["order_id"], li["sku"], int(li["quantity"]),
                                        by_sku[li["sku"]])]
    detail: dict[str, Any] = {"shipFromSupplySourceId": supply_source} if supply_source else {}
    return {
        "marketplaceId": row["marketplace_id"],
        "packageDetail": {
            **detail,
            "packageReferenceId": str(row["reference_id"]),
            "carrierCode": row["carrier"],
            "trackingNumber": row["tracking_number"],
            "shipDate": iso(row["shipped_at"]),
            "orderItems": order_items,
        },
    }


def _spread(order_id: str, sku: str, units: int,
            items: list[tuple[str, int | None]]) -> list[dict[str, Any]]:
    """``units`` of ``sku`` over the order's items of it, in order (an item of no known
    quantity takes what is left); more units than the items hold is refused."""
    spread: list[dict[str, Any]] = []
    for item_id, quantity in items:
        if units <= 0:
            break
        take = units if quantity is None else min(units, quantity)
        if take > 0:
            spread.append({"orderItemId": item_id, "quantity": take})
            units -= take
    if units > 0:
        raise ValueError(f"order {order_id} has fewer units of SKU {sku} than the package ships")
    return spread


def _send(ctx: JobContext, row: dict[str, Any]) -> None:
    with writing(ctx.engine) as tx:  # the intent first, committed before the call
        items = tx.conn.scalar(select(amazon_orders.c["items"]).where(
            amazon_orders.c.account == row["account"],
            amazon_orders.c.order_id == row["order_id"])) or []
        mapped = registry.active(tx.conn, row["account"]).get(row["store_id"])
        source = mapped.supply_source_id if mapped and mapped.fingerprint else None
        tx.conn.execute(update(package_shipments).where(
            package_shipments.c.package_id == row["package_id"]).values(
            confirm_state="sending", intent_at=tx.now, attempts=row["attempts"] + 1))
    try:
        body = request_body(row, list(items), source)
    except ValueError as err:
        _finish(ctx, row, "failed", str(err))
        return
    try:
        ctx.api.call(OPERATION, row["marketplace_id"],
                     lambda client: client.confirm_shipment(row["order_id"], **body))
    except Stopped:
        raise
    except AmazonApiError as err:
        if err.code in REFUSED_CODES:
            _finish(ctx, row, "failed", f"Amazon refused it: {err}")
        else:
            _note(ctx, row, str(err))
        return
    _finish(ctx, row, "confirmed", None)


def _finish(ctx: JobContext, row: dict[str, Any], state: str, error: str | None) -> None:
    with writing(ctx.engine) as tx:
        tx.conn.execute(update(package_shipments).where(
            package_shipments.c.package_id == row["package_id"]).values(
            confirm_state=state, last_error=error,
            confirmed_at=tx.now if state == "confirmed" else None))
        tx.audit(AuditDraft("system", ROLE, f"order.shipment_{state}", "package",
                            row["package_id"], {"confirm_state": row["confirm_state"]},
                            {"confirm_state": state, "order_id": row["order_id"],
                             "tracking_number": row["tracking_number"], "error": error}))
    ctx.counted(1, updated=1 if state == "confirmed" else 0,
                errors=1 if state == "failed" else 0)


def _note(ctx: JobContext, row: dict[str, Any], error: str) -> None:
    log.warning("confirmShipment of package %s not answered: %s", row["package_id"], error)
    with writing(ctx.engine) as tx:
        tx.conn.execute(update(package_shipments).where(
            package_shipments.c.package_id == row["package_id"]).values(last_error=error))
    ctx.counted(1, errors=1)
