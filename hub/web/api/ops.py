"""Operational routes: health, metrics, stores and nodes, dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import text

from hub import __version__
from hub.access.permissions import Action, StorePlace, can, require_unscoped
from hub.amazon.shipments import due_soon, unconfirmed_counts
from hub.errors import StorageError
from hub.finance.reasons.store import queued_returns
from hub.fleet import overview
from hub.inventory import differences
from hub.returns.queries import counts, list_dead_letters, stores_overview
from hub.storage.engine import reading
from hub.web.api.deps import Hub, Viewer
from hub.web.api.fleet import thresholds_of
from hub.web.api.models import DeadLetterOut, ErrorOut, HealthOut, Page, StoreOut
from protocol import utc_now

router = APIRouter(prefix="/api")
metrics_router = APIRouter()
# Paging and row ids are bounded so that no number reaches the database unchecked: SQLite and
# PostgreSQL integers end at 2^63 - 1, and an OFFSET past ten million rows is no page anyone
# reads (narrow the list with its filters instead). Out of range: 422 naming the parameter.
MAX_OFFSET = 10_000_000
MAX_ID = 2**63 - 1
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="the row's id")]


@router.get("/health", response_model=HealthOut, tags=["ops"])
def health(hub: Hub, response: Response) -> HealthOut:
    """Database reachable, MQTT connected, version and headline counts (no token needed)."""
    runtime = hub.runtime
    mqtt: dict[str, object] = {"enabled": runtime is not None,
                               "connected": bool(runtime and runtime.link.connected)}
    if runtime is not None:
        mqtt["broker"] = runtime.link.broker  # host:port it is on (several: docs/operations)
    ingest = runtime.ingest_state() if runtime is not None else {"running": None}
    try:
        with reading(hub.engine) as conn:
            conn.execute(text("SELECT 1"))
            numbers = counts(conn)
        database = {"ok": True, "backend": hub.engine.dialect.name}
    except StorageError as err:
        numbers, database = {}, {"ok": False, "backend": hub.engine.dialect.name,
                                 "error": err.message}
        response.status_code = 503
    ok = database["ok"] and (runtime is None or (mqtt["connected"] and ingest["running"]))
    return HealthOut(status="ok" if ok else "degraded", version=__version__, database=database,
                     mqtt=mqtt, ingest=ingest, counts=numbers)


@router.get("/stores", response_model=list[StoreOut], tags=["ops"])
def list_stores(hub: Hub, who: Viewer) -> list[StoreOut]:
    """Stores in the caller's scope and their nodes: region, city, offline limit, online, last
    seen, contiguous seq, command backlog."""
    with reading(hub.engine) as conn:
        return [StoreOut.model_validate(s) for s in stores_overview(conn)
                if who.scope.covers(StorePlace(s["store_id"], s["region"], s["city"]))]


@router.get("/dead-letters", response_model=Page[DeadLetterOut], tags=["ops"],
            responses={status: {"model": ErrorOut} for status in (401, 403, 422)})
def dead_letters(hub: Hub, who: Viewer, limit: Limit = 50,
                 offset: Offset = 0) -> Page[DeadLetterOut]:
    """Messages the hub refused (forged, malformed) or could not apply, newest first.

    A caller with a scope sees only those that came on a topic of a store inside it. Only an
    admin sees payloads; for anyone else ``payload`` is null (its size is given): a payload is
    raw input from the wire and may hold personal data."""
    admin = can(who, Action.ADMINISTER)
    scope = None if who.scope.unlimited else who.scope
    with reading(hub.engine) as conn:
        rows, total = list_dead_letters(conn, limit, offset, scope, payloads=admin)
    return Page[DeadLetterOut](items=[DeadLetterOut.model_validate(r) for r in rows],
                               total=total, limit=limit, offset=offset)


@metrics_router.get("/metrics", tags=["ops"], response_class=Response,
                    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})
def metrics(hub: Hub, who: Viewer) -> Response:
    """Prometheus metrics, for a token with the view right and no scope (they count every
    store): ``acorn-hub token create prometheus --role viewer``."""
    require_unscoped(who, "the metrics")
    with reading(hub.engine) as conn:
        fleet = overview.counts(conn, utc_now(), thresholds_of(hub.settings))
        checked = differences.Thresholds(hub.settings.stock_check_threshold,
                                         dict(hub.settings.stock_check_store_thresholds))
        hub.metrics.stock_differences.set(differences.alert_count(conn, checked))
        hub.metrics.stock_refusals.set(differences.refusal_count(conn))
        hub.metrics.amazon_differences.set(differences.amazon_alert_count(conn, checked))
        hub.metrics.orders_due.set(len(due_soon(conn, utc_now())))
        for state, count in unconfirmed_counts(conn).items():
            hub.metrics.shipments_unconfirmed.labels(state=state).set(count)
        hub.metrics.reasons_queued.set(queued_returns(conn))
    hub.metrics.set_fleet(fleet["online"], fleet["offline"], fleet["alerting"],
                          {k.removeprefix("alert:"): v for k, v in fleet.items()
                           if k.startswith("alert:")})
    return Response(hub.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
