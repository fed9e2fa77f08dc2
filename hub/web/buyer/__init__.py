"""The buyer's return page (``GET /returns``): phone first, no sign-in, no CDN, no build step.

Rules: the page talks only to ``/api/buyer/*`` (``hub.web.api.buyer``); it keeps the order id and
postcode in memory only (never in the URL, storage or cookies); its words are English, or German
for Amazon.de orders, chosen by the order's marketplace (``buyer.js``); the QR code is an SVG the
hub draws, shown as an image that can be saved or printed. Pages go out with ``no-cache`` and a
strict Content-Security-Policy (our own scripts and styles; images also as ``data:`` for the QR
code; no framing).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(str(resources.files("hub.web.buyer").joinpath("static")))
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
router = APIRouter(include_in_schema=False)


@router.get("/returns")
def buyer_page() -> FileResponse:
    """The buyer's return page."""
    return FileResponse(STATIC / "buyer.html", media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)


def install(app: FastAPI) -> None:
    """Serve the page and its static files."""
    app.include_router(router)
    app.mount("/returns-static", StaticFiles(directory=STATIC), name="buyer-static")
