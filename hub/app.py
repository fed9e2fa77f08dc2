"""The composition root: ``create_app(settings)`` wires engine, metrics, MQTT runtime and routes.

Nothing is created at import time. The database must already be migrated (``acorn-hub serve``
does it first). With ``settings.mqtt_enabled`` the app's lifespan starts the MQTT ingest and the
command publisher and stops them on shutdown; without it the app serves the API alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub import __version__
from hub.metrics import HubMetrics
from hub.policy import store as policy_store
from hub.settings import Settings
from hub.storage.engine import make_engine
from hub.sync.runtime import HubRuntime
from hub.web.api import errors, idempotency
from hub.web.api.amazon import router as amazon_router
from hub.web.api.audit import router as audit_router
from hub.web.api.auth import router as session_router
from hub.web.api.body_limit import BodyLimit
from hub.web.api.deps import HubContext
from hub.web.api.desk import router as desk_router
from hub.web.api.ops import metrics_router
from hub.web.api.ops import router as ops_router
from hub.web.api.options import router as options_router
from hub.web.api.people import router as people_router
from hub.web.api.policy import router as policy_router
from hub.web.api.refunds import router as refunds_router
from hub.web.api.returns import router as returns_router
from hub.web.api.risk import router as risk_router
from hub.web.desk import pages as desk_web

DESCRIPTION = """The ACORN hub: returns and refunds from every store, the approval queue, the
fleet of store nodes, the refund policy, people and the audit trail. Every route except
`/api/health` needs `Authorization: Bearer <token>` (made with `acorn-hub token create`) or a
desk session (`POST /api/session`; changes then also need the `X-CSRF-Token` header from
`GET /api/session`). Errors are always
`{"detail": [{"field": <name or null>, "message": <sentence>}]}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the hub's ASGI app from ``settings`` (read from the environment if omitted)."""
    settings = settings or Settings()
    if settings.mqtt_enabled:
        settings.require_mqtt_secret()
    engine = make_engine(settings.database_url, settings.sqlite_synchronous)
    metrics = HubMetrics()
    runtime = HubRuntime(settings, engine, metrics) if settings.mqtt_enabled else None
    context = HubContext(settings, engine, metrics, runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        policy_store.ensure_seeded(engine)
        if runtime is not None:
            runtime.start()
        try:
            yield
        finally:
            if runtime is not None:
                runtime.stop()
            engine.dispose()

    app = FastAPI(title="ACORN hub", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.hub = context
    errors.install(app)
    idempotency.install(app)
    for router in (ops_router, returns_router, desk_router, refunds_router, amazon_router,
                   metrics_router, session_router, policy_router, people_router, audit_router):
        app.include_router(router)
    app.include_router(risk_router)
    app.include_router(options_router)
    desk_web.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    return app
