"""The simulator's own control endpoints under `/_sim` (not part of SP-API).

`GET /_sim/health`, `GET /_sim/accounts` (ids, names, regions and marketplaces, never
secrets), `GET /_sim/stats` (requests and throttled requests per seller and operation, so a
test can prove a client keeps to the rate) and `POST /_sim/sellers/{seller_id}/revoke`
(the seller's refresh and access tokens stop working, as when a seller revokes the app).
`GET /_sim/sellers/{seller_id}/shipments` (optionally `?orderId=`) lists the packages confirmed
through `confirmShipment`, per order with its fulfilment status, exactly as they were recorded,
with how many accepted calls sent each package (`confirmations`: 1 unless it was edited).
`POST /_sim/sellers/{seller_id}/orders` places an unshipped order (see `placing.py`) and
answers 201 with its id and order item ids.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from spapi_sim.errors import InvalidInput, NotFound
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.marketplaces import BY_ID
from spapi_sim.model import Order, Package
from spapi_sim.orders_json import iso_z
from spapi_sim.placing import place_order
from spapi_sim.web import simulator_of

router = APIRouter(prefix="/_sim", tags=["Simulator control"])


@router.get("/health")
async def health(request: Request) -> AmazonJSONResponse:
    """Liveness, seed and whether the static sandbox is loaded."""
    sim = simulator_of(request)
    return AmazonJSONResponse({"status": "ok", "seed": sim.settings.seed,
                               "sandbox": sim.sandbox is not None,
                               "now": sim.now().isoformat()})


@router.get("/accounts")
async def accounts(request: Request) -> AmazonJSONResponse:
    """Seeded accounts without their secrets."""
    sim = simulator_of(request)
    return AmazonJSONResponse({"accounts": [
        {"seller_id": a.seller_id, "name": a.name, "region": a.region,
         "marketplace_ids": list(a.marketplace_ids), "client_id": a.client_id,
         "revoked": a.seller_id in sim.revoked}
        for a in sim.accounts.values()]})


@router.get("/stats")
async def stats(request: Request) -> AmazonJSONResponse:
    """Request and throttle counters per `<seller>/<operation>`."""
    return AmazonJSONResponse({"operations": simulator_of(request).limiter.snapshot()})


@router.post("/sellers/{seller_id}/revoke")
async def revoke(seller_id: str, request: Request) -> AmazonJSONResponse:
    """Revoke a seller's authorisation."""
    sim = simulator_of(request)
    if seller_id not in sim.accounts:
        raise NotFound(f"Seller {seller_id} is not seeded.")
    sim.revoke(seller_id)
    return AmazonJSONResponse({"seller_id": seller_id, "revoked": True})


def _package_json(package: Package) -> dict[str, object]:
    return {"packageReferenceId": package.reference_id, "carrierCode": package.carrier_code,
            "carrierName": package.carrier_name, "shippingMethod": package.shipping_method,
            "trackingNumber": package.tracking_number, "shipDate": iso_z(package.ship_date),
            "shipFromSupplySourceId": package.supply_source_id,
            "orderItems": [{"orderItemId": i, "quantity": q} for i, q in package.items],
            "created": package.created.isoformat(), "updated": package.updated.isoformat(),
            "confirmations": package.confirmations}


def _shipped_json(order: Order) -> dict[str, object]:
    return {"orderId": order.order_id, "marketplaceId": order.marketplace_id,
            "fulfillmentStatus": order.status,
            "packages": [_package_json(p) for p in order.packages]}


@router.get("/sellers/{seller_id}/shipments")
async def shipments(seller_id: str, request: Request) -> AmazonJSONResponse:
    """Packages confirmed by a seller, per order (one order with `?orderId=`)."""
    sim = simulator_of(request)
    if seller_id not in sim.accounts:
        raise NotFound(f"Seller {seller_id} is not seeded.")
    wanted = request.query_params.get("orderId")
    orders = [o for o in sim.world.orders(seller_id)
              if o.packages and (wanted is None or o.order_id == wanted)]
    return AmazonJSONResponse({"orders": [_shipped_json(o) for o in orders]})


@router.post("/sellers/{seller_id}/orders", status_code=201)
async def place(seller_id: str, request: Request) -> AmazonJSONResponse:
    """Place an unshipped order for the seller (a test's own order)."""
    sim = simulator_of(request)
    account = sim.accounts.get(seller_id)
    if account is None:
        raise NotFound(f"Seller {seller_id} is not seeded.")
    try:
        body = await request.json()
    except ValueError as err:
        raise InvalidInput("The body is not JSON.") from err
    marketplace_id = body.get("marketplaceId") if isinstance(body, dict) else None
    if marketplace_id not in account.marketplace_ids:
        raise InvalidInput(f"marketplaceId must be one of {', '.join(account.marketplace_ids)}.")
    order = place_order(body, seller_id, BY_ID[marketplace_id], sim.world.placed,
                        sim.settings.seed, sim.now())
    sim.world.add_order(order)
    return AmazonJSONResponse({"orderId": order.order_id, "marketplaceId": marketplace_id,
                               "orderItems": [{"orderItemId": i.order_item_id, "sellerSku": i.sku,
                                               "quantity": i.quantity} for i in order.items]},
                              status_code=201)
