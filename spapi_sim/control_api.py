"""The simulator's own control endpoints under `/_sim` (not part of SP-API).

`GET /_sim/health`, `GET /_sim/accounts` (ids, names, regions and marketplaces, never
secrets), `GET /_sim/stats` (requests and throttled requests per seller and operation, so a
test can prove a client keeps to the rate) and `POST /_sim/sellers/{seller_id}/revoke`
(the seller's refresh and access tokens stop working, as when a seller revokes the app).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from spapi_sim.errors import NotFound
from spapi_sim.jsonio import AmazonJSONResponse
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
