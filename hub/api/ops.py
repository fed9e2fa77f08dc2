"""Operational routes: health, metrics, stores and nodes, dead letters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import text

from hub import __version__
from hub.api.deps import Hub, Viewer
from hub.api.models import DeadLetterOut, HealthOut, Page, StoreOut
from hub.db.engine import reading
from hub.errors import StorageError
from hub.permissions import StorePlace
from hub.queries import counts, list_dead_letters, stores_overview

router = APIRouter(prefix="/api")
metrics_router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]


@router.get("/health", response_model=HealthOut, tags=["ops"])
def health(hub: Hub, response: Response) -> HealthOut:
    """Database reachable, MQTT connected, version and headline counts (no token needed)."""
    runtime = hub.runtime
    mqtt = {"enabled": runtime is not None,
            "connected": bool(runtime and runtime.link.connected)}
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


@router.get("/dead-letters", response_model=Page[DeadLetterOut], tags=["ops"])
def dead_letters(hub: Hub, _who: Viewer, limit: Limit = 50,
                 offset: Offset = 0) -> Page[DeadLetterOut]:
    """Messages the hub refused (forged, malformed) or could not apply, newest first."""
    with reading(hub.engine) as conn:
        rows, total = list_dead_letters(conn, limit, offset)
    return Page[DeadLetterOut](items=[DeadLetterOut.model_validate(r) for r in rows],
                               total=total, limit=limit, offset=offset)


@metrics_router.get("/metrics", tags=["ops"], response_class=Response)
def metrics(hub: Hub) -> Response:
    """Prometheus metrics."""
    return Response(hub.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
