"""The simulator's own control endpoints under `/_sim` (not part of SP-API).

`GET /_sim/health`, `GET /_sim/accounts` (ids, names, regions and marketplaces, never
secrets), `GET /_sim/stats` (requests and throttled requests per seller and operation, so a
test can prove a client keeps to the rate) and `POST /_sim/sellers/{seller_id}/revoke`
(the seller's refresh and access tokens stop working, as when a seller revokes the app).
`GET /_sim/sellers/{seller_id}/shipments` (optionally `?orderId=`) lists the packages confirmed
through `confirmShipment`, per order with its fulfilment status, exactly as they were recorded.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from spapi_sim.errors import NotFound
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.model import Order, Package
from spapi_sim.orders_json import iso_z
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
            "created": package.created.isoformat(), "updated": package.updated.isoformat()}


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
