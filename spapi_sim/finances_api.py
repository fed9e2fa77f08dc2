"""Finances API v0: listFinancialEvents and listFinancialEventsByOrderId.

Events are sales (`ShipmentEventList`, posted when the order shipped) and refunds
(`RefundEventList`, amounts in the `...AdjustmentList` fields), ordered by PostedDate and paged
`MaxResultsPerPage` events at a time; `NextToken` carries the query. PostedBefore defaults to,
and may be no later than, two minutes (`lag_seconds`) before the request; PostedBefore needs
PostedAfter; a window over 180 days answers an empty page, as the model describes. Amounts are
exact JSON numbers (`BigDecimal`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from spapi_sim.errors import InvalidInput
from spapi_sim.fees import sale_charges, sale_fees
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.marketplaces import marketplace
from spapi_sim.model import Charge, Order, RefundEvent
from spapi_sim.orders_json import iso_z
from spapi_sim.params import int_param, one, time_param
from spapi_sim.web import Call, gate, reply

MAX_WINDOW = timedelta(days=180)
Event = tuple[datetime, str, Order | RefundEvent]

router = APIRouter(tags=["Finances v0"])


def _amounts(charges: tuple[Charge, ...], currency: str, kind: str) -> list[dict[str, Any]]:
    return [{f"{kind}Type": c.kind,
             f"{kind}Amount": {"CurrencyCode": currency, "CurrencyAmount": c.amount}}
            for c in charges]


def sale_event(order: Order) -> dict[str, Any]:
    """A ShipmentEvent for a shipped order."""
    assert order.shipped is not None  # only shipped orders post sales
    items = [{"SellerSKU": i.sku, "OrderItemId": i.order_item_id, "QuantityShipped": i.quantity,
              "ItemChargeList": _amounts(sale_charges(i), order.currency, "Charge"),
              "ItemFeeList": _amounts(sale_fees(order, i), order.currency, "Fee")}
             for i in order.items]
    return {"AmazonOrderId": order.order_id, "SellerOrderId": order.seller_order_id,
            "MarketplaceName": marketplace(order.marketplace_id).name,
            "PostedDate": iso_z(order.shipped), "ShipmentItemList": items}


def refund_event_json(refund: RefundEvent) -> dict[str, Any]:
    """A ShipmentEvent of the RefundEventList."""
    item = {"SellerSKU": refund.sku, "OrderItemId": refund.order_item_id,
            "OrderAdjustmentItemId": refund.adjustment_item_id,
            "QuantityShipped": refund.quantity,
            "ItemChargeAdjustmentList": _amounts(refund.charges, refund.currency, "Charge"),
            "ItemFeeAdjustmentList": _amounts(refund.fees, refund.currency, "Fee")}
    return {"AmazonOrderId": refund.order_id, "SellerOrderId": refund.seller_order_id,
            "MarketplaceName": marketplace(refund.marketplace_id).name,
            "PostedDate": iso_z(refund.posted), "ShipmentItemAdjustmentList": [item]}


def events(call: Call, after: datetime, before: datetime, order_id: str | None) -> list[Event]:
    """Sales and refunds posted in [after, before), oldest first."""
    world = call.sim.world
    found: list[Event] = [
        (o.shipped, o.order_id, o) for o in world.orders(call.seller_id)
        if o.shipped is not None and after <= o.shipped < before]
    found += [(r.posted, r.adjustment_item_id, r) for r in world.refunds(call.seller_id, before)
              if after <= r.posted < before]
    if order_id is not None:
        found = [e for e in found if e[2].order_id == order_id]
    return sorted(found, key=lambda e: (e[0], e[1]))


def _query(request: Request, call: Call) -> dict[str, Any]:
    query = request.query_params
    latest = call.now - timedelta(seconds=call.sim.settings.lag_seconds)
    after, before = time_param(query, "PostedAfter"), time_param(query, "PostedBefore")
    if before is not None and after is None:
        raise InvalidInput("PostedAfter is required when PostedBefore is given.")
    before = before or latest
    after = after or before - MAX_WINDOW
    if before > latest or after > latest:
        raise InvalidInput("PostedAfter and PostedBefore must be more than two minutes before "
                           "the time of the request.")
    if after >= before:
        raise InvalidInput("PostedAfter must be before PostedBefore.")
    return {"after": after.isoformat(), "before": before.isoformat(),
            "max": int_param(query, "MaxResultsPerPage", 100, 1, 100)}


def _page(request: Request, call: Call, order_id: str | None) -> AmazonJSONResponse:
    token = one(request.query_params, "NextToken")
    if token is not None:
        payload = call.sim.signer.unseal(token)
        if not payload or payload.get("k") != "finances" or payload.get("s") != call.seller_id:
            raise InvalidInput("Invalid NextToken.")
        query, offset = payload["q"], int(payload["o"])
    else:
        query, offset = _query(request, call), 0
    after, before = (datetime.fromisoformat(query[k]) for k in ("after", "before"))
    found = [] if before - after > MAX_WINDOW else events(call, after, before, order_id)
    page = found[offset:offset + query["max"]]
    lists: dict[str, Any] = {
        "ShipmentEventList": [sale_event(e[2]) for e in page if isinstance(e[2], Order)],
        "RefundEventList": [refund_event_json(e[2]) for e in page
                            if isinstance(e[2], RefundEvent)]}
    payload_out: dict[str, Any] = {"FinancialEvents": lists}
    if offset + query["max"] < len(found):
        payload_out["NextToken"] = call.sim.signer.seal(
            {"k": "finances", "s": call.seller_id, "o": offset + query["max"], "q": query})
    return reply({"payload": payload_out})


@router.get("/finances/v0/financialEvents")
async def list_financial_events(
        request: Request,
        call: Annotated[Call, Depends(gate("listFinancialEvents"))]) -> AmazonJSONResponse:
    """Financial events posted in a time window."""
    return _page(request, call, None)


@router.get("/finances/v0/orders/{order_id}/financialEvents")
async def list_financial_events_by_order_id(
        order_id: str, request: Request,
        call: Annotated[Call, Depends(gate("listFinancialEventsByOrderId"))],
) -> AmazonJSONResponse:
    """Financial events of one order."""
    return _page(request, call, order_id)
