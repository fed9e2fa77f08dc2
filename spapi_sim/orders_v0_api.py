"""Orders API v0: `confirmShipment`, the one v0 operation Amazon keeps (2 requests/s, burst 10).

`POST /orders/v0/orders/{orderId}/shipmentConfirmation` with a JSON `ConfirmShipmentRequest`
body answers 204 with no body when the package is recorded (the rules are in `shipments.py`),
404 for an order the seller does not have, 400 for a body that is not JSON or breaks a rule.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from spapi_sim.errors import InvalidInput, NotFound
from spapi_sim.shipments import confirm, read_request
from spapi_sim.web import Call, gate

router = APIRouter(tags=["Orders v0"])


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError as err:
        raise InvalidInput("The request body is not valid JSON.") from err


@router.post("/orders/v0/orders/{order_id}/shipmentConfirmation", status_code=204,
             response_class=Response)
async def confirm_shipment(order_id: str, request: Request,
                           call: Annotated[Call, Depends(gate("confirmShipment"))]) -> Response:
    """Record one shipped package of a merchant-fulfilled order (or edit it)."""
    order = call.sim.world.order(call.seller_id, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} was not found.")
    confirmation = read_request(await _json_body(request))
    updated = confirm(order, confirmation, call.sim.supply_sources.usable(call.seller_id),
                      call.now)
    call.sim.world.update_order(updated)
    return Response(status_code=204)
