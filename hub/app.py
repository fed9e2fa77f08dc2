"""The composition root: ``create_app(settings, amazon)`` wires everything the hub process runs.

Rules:
- nothing is created at import time; settings are built once (by ``acorn-hub serve``, or here
  from the environment when not given) and passed down; nothing below reads the environment;
- the app owns ONE engine, and its lifespan starts, in this order: the policy seed, the MQTT
  runtime (ingest, command publisher, config push; with ``settings.mqtt_enabled``), the brokers'
  reconcile pass (with several brokers and the broker admin password), the Amazon
  scheduler on that same engine (with ``amazon.scheduler_enabled``), the ECB rates fetch (with
  ``settings.fx_fetch_url``), the return reasons' classification pass (always), the evidence
  purge (always), the month close (with ``settings.archive_close_days``), the mDNS
  announcement (with ``settings.advertise``: started last, once everything behind it runs, and
  made in the background: ``hub.fleet.advertise``);
  with several hub workers (``settings.hub_workers``) the Amazon scheduler, the rates fetch and
  the periodic passes run only in the worker that holds the leader lock
  (``runtime.leadership``, ``hub.sync.leader``); the others serve the API and the ingest;
  shutdown stops them in the reverse order and disposes of the engine last. A part that fails
  to start stops the ones already started;
- the database must already be migrated (``acorn-hub serve`` does it first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from hub import __version__
from hub.amazon.settings import AmazonSettings, load_amazon_settings
from hub.amazon.sync.scheduler import Scheduler
from hub.finance.archive.store import close_due
from hub.finance.evidence.store import purge
from hub.finance.fx_fetch import FxFetcher
from hub.finance.periodic import Periodic, always
from hub.finance.reasons.runner import ReasonClassifier
from hub.fleet.reconcile import BrokerReconciler, HubIdentity
from hub.metrics import HubMetrics
from hub.policy import store as policy_store
from hub.settings import Settings, load_settings
from hub.storage.engine import make_engine
from hub.sync.runtime import HubRuntime
from hub.web.api import errors, idempotency
from hub.web.api.amazon import router as amazon_router
from hub.web.api.archive import router as archive_router
from hub.web.api.audit import router as audit_router
from hub.web.api.auth import router as session_router
from hub.web.api.body_limit import BodyLimit
from hub.web.api.buyer import router as buyer_router
from hub.web.api.buyer_returns import router as buyer_returns_router
from hub.web.api.catalogue import router as catalogue_router
from hub.web.api.deps import HubContext
from hub.web.api.desk import router as desk_router
from hub.web.api.evidence import router as evidence_router
from hub.web.api.finance import router as finance_router
from hub.web.api.fleet import router as fleet_router
from hub.web.api.fleet_ops import router as fleet_ops_router
from hub.web.api.inventory_rules import router as inventory_rules_router
from hub.web.api.ops import metrics_router
from hub.web.api.ops import router as ops_router
from hub.web.api.options import router as options_router
from hub.web.api.pairing import router as pairing_router
from hub.web.api.people import router as people_router
from hub.web.api.policy import router as policy_router
from hub.web.api.reasons import router as reasons_router
from hub.web.api.refunds import router as refunds_router
from hub.web.api.returns import router as returns_router
from hub.web.api.risk import router as risk_router
from hub.web.api.routing import router as routing_router
from hub.web.api.settlements import router as settlements_router
from hub.web.api.shipments import router as shipments_router
from hub.web.api.stock import router as stock_router
from hub.web.api.stock_check import router as stock_check_router
from hub.web.api.store_records import router as store_records_router
from hub.web.api.transfers import router as transfers_router
from hub.web.api.vat_reports import router as vat_reports_router
from hub.web.buyer import install as install_buyer_page
from hub.web.desk import pages as desk_web

DESCRIPTION = """The ACORN hub: returns and refunds from every store, the approval queue, the
fleet of store nodes, the refund policy, people and the audit trail. Every route except
`/api/health` needs `Authorization: Bearer <token>` (made with `acorn-hub token create`) or a
desk session (`POST /api/session`; changes then also need the `X-CSRF-Token` header from
`GET /api/session`). Errors are always
`{"detail": [{"field": <name or null>, "message": <sentence>}]}`."""


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


def reconciler(settings: Settings, engine: Engine) -> BrokerReconciler:
    """The pass that gives a broker back from an outage the identities the hub records."""
    return BrokerReconciler(engine, settings.brokers, settings.broker_admin_username,
                            settings.broker_admin_password.get_secret_value(),
                            HubIdentity(settings.mqtt_username,
                                        settings.mqtt_password.get_secret_value(),
                                        settings.mqtt_client_id))


def create_app(settings: Settings | None = None, amazon: AmazonSettings | None = None) -> FastAPI:
    """Build the hub's ASGI app (settings not given are read from the environment, once)."""
    settings = settings or load_settings()
    amazon = amazon or load_amazon_settings()
    if settings.mqtt_enabled:
        settings.require_mqtt_secret()
    engine = make_engine(settings.database_url, settings.sqlite_synchronous)
    metrics = HubMetrics()
    runtime = HubRuntime(settings, engine, metrics) if settings.mqtt_enabled else None
    context = HubContext(settings=settings, amazon=amazon, engine=engine, metrics=metrics,
                         runtime=runtime)

    def start() -> ExitStack:
        leading = runtime.leadership.leading if runtime is not None else always
        with ExitStack() as running:  # a part that fails to start: the started ones stop here
            running.callback(engine.dispose)
            policy_store.ensure_seeded(engine)
            if runtime is not None:
                runtime.start()
                running.callback(runtime.stop)
                if len(settings.brokers) > 1 and settings.broker_admin_password.get_secret_value():
                    running.callback(Periodic("broker-reconcile", reconciler(settings, engine)
                                              .pass_once, settings.broker_reconcile_seconds)
                                     .start().stop)
            if amazon.scheduler_enabled:
                running.callback(Scheduler(engine, amazon, gate=leading).start().stop)
            if settings.fx_fetch_url:
                fetcher = FxFetcher(engine, settings.fx_fetch_url, settings.fx_fetch_hours * 3600,
                                    gate=leading)
                running.callback(fetcher.start().stop)
            ingest_seconds = (runtime.writer.busy_time if runtime is not None
                              else (lambda: 0.0))  # the reasons pass rests while it is busy
            running.callback(ReasonClassifier(engine, gate=leading,
                                              ingest_seconds=ingest_seconds).start().stop)
            running.callback(Periodic("evidence-purge", lambda: purge(
                engine, settings.evidence_dir), settings.evidence_purge_hours * 3600,
                gate=leading).start().stop)
            if settings.archive_close_days is not None:
                days = settings.archive_close_days
                running.callback(Periodic("archive-close", lambda: close_due(
                    engine, settings.archive_dir, days), settings.archive_check_hours * 3600,
                    gate=leading).start().stop)
            if settings.advertise:  # made in the background: the hub serves meanwhile
                from hub.fleet.advertise import BackgroundAdvertiser, announcement_for

                running.callback(BackgroundAdvertiser(announcement_for(settings, __version__))
                                 .start().close)
            return running.pop_all()  # all started: stopped in reverse order by the lifespan

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # starting and stopping block (threads joined, zeroconf refuses to run inside an event
        # loop): both happen in a worker thread, off the server's loop
        running = await run_in_threadpool(start)
        try:
            yield
        finally:
            await run_in_threadpool(running.close)

    app = FastAPI(title="ACORN hub", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub = context
    errors.install(app)
    idempotency.install(app)
    for router in (ops_router, returns_router, desk_router, refunds_router, amazon_router,
                   metrics_router, session_router, policy_router, people_router, audit_router):
        app.include_router(router)
    app.include_router(risk_router)
    app.include_router(options_router)
    app.include_router(fleet_router)
    app.include_router(store_records_router)
    app.include_router(routing_router)
    app.include_router(transfers_router)
    app.include_router(shipments_router)
    app.include_router(inventory_rules_router)
    app.include_router(fleet_ops_router)
    app.include_router(pairing_router)
    app.include_router(stock_check_router)  # before /api/stock/{sku}/...
    app.include_router(stock_router)
    app.include_router(catalogue_router)
    app.include_router(buyer_router)
    app.include_router(buyer_returns_router)
    install_buyer_page(app)
    app.include_router(reasons_router)
    app.include_router(vat_reports_router)
    app.include_router(settlements_router)
    app.include_router(archive_router)
    app.include_router(evidence_router)
    app.include_router(finance_router)
    desk_web.install(app)
    install_api_pages(app, "ACORN hub")
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    return app
