"""Composition root: ``create_app(settings)`` builds one edge agent's web application.

Nothing is created at import time. The store is opened (and migrated) when the app is built, so a
bad data directory fails before the server starts; the MQTT link and the devices start with the
app's lifespan and stop (offline status, disconnect, store closed) when it ends. One app, one
lifespan. Serve it with ``AgentServer``: live event streams never end by themselves, so the
server must end them before it waits for open connections to finish.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from edge_agent.agent import Agent
from edge_agent.settings import EdgeSettings
from edge_agent.web import api, events_stream, options
from edge_agent.web import devices as device_api
from edge_agent.web import evidence as evidence_api
from edge_agent.web import picking as picking_api
from edge_agent.web import pos as pos_api
from edge_agent.web import selftest as selftest_api
from edge_agent.web import staff as session_api
from edge_agent.web import stock as stock_api
from edge_agent.web import transfers as transfer_api
from edge_agent.web.body_limit import BodyLimit
from edge_agent.web.page_words import counter_page

WEB_DIR = Path(__file__).parent / "web" / "static"
TAGS = [
    {"name": "pos", "description": "For POS terminals: look up returns by sale receipt or order, "
     "and post POS sale returns (idempotent on `pos_transaction_id`)."},
    {"name": "devices", "description": "Receipt and label printers (status, queue, reprint) and "
     "the barcode scanner."},
    {"name": "events", "description": "Live events for counter screens (server-sent events)."},
    {"name": "staff", "description": "Staff sign-in at the counter with a PIN (checked at the "
     "store, offline too) and the store config from the hub."},
]



# API pages served from this process: Swagger UI and ReDoc ship inside ``fastapi_offline`` (MIT),
# so /docs and /redoc work on a LAN without internet (FastAPI's defaults load them from a CDN).
DOCS_ASSETS = Path(str(files("fastapi_offline") / "static"))


def install_api_pages(app: FastAPI, title: str) -> None:
    """Serve /docs (Swagger UI) and /redoc (ReDoc) with assets from this process only."""
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} – API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url, title=f"{title} – API",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png", with_google_fonts=False)


def create_app(settings: EdgeSettings, connect: bool = True) -> FastAPI:
    """The counter page, local API and metrics of one agent; ``connect=False`` runs without MQTT."""
    agent = Agent.open(settings, connect=connect)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        agent.start()
        try:
            yield
        finally:
            agent.stop()

    app = FastAPI(title="ACORN edge agent", version=agent.version, lifespan=lifespan,
                  description=(api.__doc__ or "").split("\n\n", 1)[-1], openapi_tags=TAGS,
                  docs_url=None, redoc_url=None)
    app.state.agent = agent
    api.install(app)
    for module in (options, device_api, pos_api, events_stream, session_api, selftest_api,
                   stock_api, transfer_api, picking_api, evidence_api):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    install_api_pages(app, "ACORN edge agent")

    # the counter page in the store's language in force (the hub's store config over
    # STORE_LANGUAGE, so a pushed language shows at the next page load): its words embedded
    # (edge_agent.web.page_words), each language rendered once
    html = (WEB_DIR / "index.html").read_text("utf-8")
    pages: dict[str, str] = {}

    @app.get("/", include_in_schema=False)
    def counter() -> HTMLResponse:
        language = agent.language()
        page = pages.get(language) or pages.setdefault(language, counter_page(html, language))
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return app


class AgentServer(uvicorn.Server):
    """uvicorn's server, ending the agent's event streams before it waits for connections."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the live streams, then shut down as uvicorn does."""
        state = getattr(self.config.app, "state", None)
        agent = getattr(state, "agent", None)
        if isinstance(agent, Agent):
            agent.events.close()
        await super().shutdown(sockets)
