"""The setup page a store machine shows while it pairs (``acorn-edge pair``): its pairing code.

Rules: a separate, tiny app on the counter page's address (the agent proper cannot start
without an identity); it serves ``static/setup.html``, ``setup.js`` and the counter's CSS, and
``GET /api/setup`` with the pairing's snapshot (``edge_agent.enrolment.PairingStatus``). It has
no writes: the code is entered on the HQ desk, never here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from edge_agent.enrolment import PairingStatus

WEB_DIR = Path(__file__).parent / "static"
NO_CACHE = {"Cache-Control": "no-cache"}


def create_setup_app(status: PairingStatus) -> FastAPI:
    """The setup page and its one read."""
    app = FastAPI(title="ACORN store setup", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def setup_page() -> FileResponse:
        return FileResponse(WEB_DIR / "setup.html", headers=NO_CACHE)

    @app.get("/api/setup")
    def setup_state() -> dict[str, Any]:
        """The pairing code and where pairing is."""
        return status.snapshot().as_json()

    return app
