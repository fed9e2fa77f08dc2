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
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from edge_agent.agent import Agent
from edge_agent.settings import EdgeSettings
from edge_agent.web import api, events_stream, options
from edge_agent.web import devices as device_api
from edge_agent.web import pos as pos_api
from edge_agent.web import staff as session_api
from edge_agent.web.body_limit import BodyLimit

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
                  description=(api.__doc__ or "").split("\n\n", 1)[-1], openapi_tags=TAGS)
    app.state.agent = agent
    api.install(app)
    for module in (options, device_api, pos_api, events_stream, session_api):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def counter_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

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
