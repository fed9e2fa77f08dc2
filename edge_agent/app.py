"""Composition root: ``create_app(settings)`` builds one edge agent's web application.

Nothing is created at import time. The store is opened (and migrated) when the app is built, so a
bad data directory fails before the server starts; the MQTT link starts with the app's lifespan
and stops (offline status, disconnect, store closed) when it ends. One app, one lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from edge_agent import api
from edge_agent.agent import Agent
from edge_agent.settings import EdgeSettings

WEB_DIR = Path(__file__).parent / "web"


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
                  description=(api.__doc__ or "").split("\n\n", 1)[-1])
    app.state.agent = agent
    api.install(app)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def counter_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    return app
