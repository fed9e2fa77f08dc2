"""The buyer's return page API (no sign-in): find an order, book a return to a chosen store.

``POST /api/buyer/lookup`` with the order id and the postcode the order was shipped to answers
the order's items (each returnable or not, with the policy's reasons) and nearby stores that take
returns; 404 with the same words for an unknown order and a wrong postcode. ``POST
/api/buyer/returns`` books the chosen items at one of those stores and answers the return code
with its QR code (SVG); 409 when an item may not be returned (any more). Both count against a
per-client rate limit: 429 with ``Retry-After`` beyond it.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from hub.returns.buyer import Booked, Limits, OrderView, StoreView, Throttled, book, look_up
from hub.settings import Settings
from hub.web.api.auth import client_of
from hub.web.api.deps import Hub
from hub.web.api.errors import error_body
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/buyer", tags=["buyer"])
OrderId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Postcode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no order matches this order number and postcode"},
    409: {"model": ErrorOut, "description": "an item may not be returned (any more)"},
    422: {"model": ErrorOut, "description": "a field is missing or malformed"},
    429: {"model": ErrorOut, "description": "too many requests from this client; see Retry-After"},
}


class LookupIn(BaseModel):
    """The two things only the buyer knows together."""

    model_config = ConfigDict(extra="forbid")
    order_id: OrderId = Field(description="the Amazon order number, e.g. 113-1234567-1234567")
    postcode: Postcode = Field(description="the postcode the order was delivered to")


class LineIn(BaseModel):
    """One item to return."""

    model_config = ConfigDict(extra="forbid")
    sku: Sku
    quantity: int = Field(ge=1, le=999)


class BookIn(LookupIn):
    """The items to return and the store to bring them to."""

    store_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    items: list[LineIn] = Field(min_length=1, max_length=50)
    request_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")] | None = (
        Field(None, description="the page's id for this booking: sent again (a retry, a double "
              "click), it answers the same return code instead of booking twice"))


def _store(store: StoreView) -> dict[str, Any]:
    return {"store_id": store.store_id, "street": store.street, "postal_code": store.postal_code,
            "city": store.city, "country": store.country, "distance_km": store.distance_km,
            "open_now": store.open_now, "today_note": store.today_note,
            "hours": [{"day": day, "hours": text} for day, text in store.hours]}


def _order(view: OrderView) -> dict[str, Any]:
    return {"order_id": view.order_id, "marketplace_id": view.marketplace_id,
            "items": [{"sku": i.sku, "asin": i.asin, "quantity": i.quantity,
                       "unit_price": i.unit_price, "currency": i.currency,
                       "returnable": i.returnable, "reasons": list(i.reasons)}
                      for i in view.items],
            "stores": [_store(s) for s in view.stores]}


def qr_svg(text: str) -> str:
    """``text`` as a QR code, SVG markup (no raster library needed)."""
    import qrcode.image.svg  # loaded with the first code drawn, not with the hub

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode("utf-8")


def _booked(done: Booked) -> dict[str, Any]:
    return {"code": done.code, "order_id": done.order_id, "store": _store(done.store),
            "items": list(done.items), "expected_by": done.expected_by.isoformat(),
            "qr_svg": qr_svg(done.code)}


def limits_of(settings: Settings) -> Limits:
    """The page's rate limits from the hub's settings."""
    return Limits(settings.buyer_max_requests_per_client, settings.buyer_max_requests,
                  timedelta(seconds=settings.buyer_window_seconds))


def _throttled(err: Throttled) -> JSONResponse:
    return JSONResponse({"detail": [error_body(None, str(err))]}, status_code=429,
                        headers={"Retry-After": str(err.retry_after)})


@router.post("/lookup", responses=ERRORS)
async def lookup(hub: Hub, body: LookupIn, request: Request) -> Any:
    """The order's items (returnable or why not) and nearby stores taking returns."""
    try:
        view = await run_in_threadpool(look_up, hub.engine, body.order_id, body.postcode,
                                       client_of(request), limits_of(hub.settings), utc_now())
    except Throttled as err:
        return _throttled(err)
    return _order(view)


@router.post("/returns", status_code=201, responses=ERRORS)
async def book_return(hub: Hub, body: BookIn, request: Request) -> Any:
    """Book the items for return at the chosen store: the code (and QR code) to show there."""
    wanted: dict[str, int] = {}
    for line in body.items:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    try:
        done = await run_in_threadpool(book, hub.engine, body.order_id, body.postcode,
                                       body.store_id, wanted, client_of(request),
                                       limits_of(hub.settings), utc_now(), body.request_id)
    except Throttled as err:
        return _throttled(err)
    return _booked(done)
