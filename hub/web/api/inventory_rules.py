"""Allocation rules through the API: read the active version and its history, check and simulate
a draft, publish a new version, see its rollout to the stores.

``GET /api/inventory/rules`` and ``GET /api/inventory/rules/rollout`` (per store in the caller's
scope: the version pushed and each node's applied version, since when) for anyone who may view;
``POST /api/inventory/rules/draft`` and ``POST /api/inventory/rules`` need the right to edit
policies (admin). A draft answers 200 with ``valid`` and each problem at its field path, and —
when valid — what each marketplace would be offered under it versus the active version over the
stock snapshot sent with it, or — when none is sent — over the hub's own stock view (sales
velocity from the POS sales of the last ``days`` days; ``stock_source`` says which).
Publishing a document that is refused answers 422 with one item per problem and stores
nothing; versions only grow; each publication is audited and pushed to every store in its
config.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.fleet.stores import in_scope
from hub.inventory import rollout as rules_rollout
from hub.inventory.allocation import RulesError, load_rules_yaml, simulate
from hub.inventory.allocation import store as rules_store
from hub.inventory.allocation.compiled import compile_rules
from hub.inventory.allocation.simulation import report_json
from hub.inventory.allocation.snapshot import MAX_LINES, StockLineIn, stock_of
from hub.inventory.allocation.store_part import check_parts_fit
from hub.inventory.stock_source import SALES_DAYS, current_stock
from hub.storage.engine import reading
from hub.web.api.deps import Hub, PolicyEditor, Viewer
from hub.web.api.errors import error_body
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/inventory/rules", tags=["allocation rules"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}
MAX_YAML = 2_000_000


class RulesOut(BaseModel):
    """One published version of the allocation rules."""

    version: int
    name: str
    sha256: str
    published_by: str
    published_at: datetime
    yaml: str


class RulesVersionOut(BaseModel):
    """A published version without its text."""

    version: int
    name: str
    sha256: str
    published_by: str
    published_at: datetime
    reason: str | None


class PublishIn(BaseModel):
    """A rules document to publish, and why."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_YAML)
    reason: str | None = Field(None, max_length=500)


class DraftIn(BaseModel):
    """A draft and the stock snapshot to simulate it over."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_YAML)
    stock: list[StockLineIn] = Field(default_factory=list, max_length=MAX_LINES,
                                     description="empty: the hub's current stock view")
    days: int = Field(SALES_DAYS, ge=1, le=365,
                      description="sales window (days) when the stock view is used")
    examples: int = Field(3, ge=0, le=50)


class NodeRolloutOut(BaseModel):
    """One node: the rules version it reports applying, and since when."""

    node_id: str
    online: bool
    applied_version: int | None = Field(description="None: the node reports none (an older "
                                        "agent, or no config with rules yet)")
    since: datetime | None
    config_version: int | None
    last_seen_at: datetime | None


class StoreRolloutOut(BaseModel):
    """One store: the rules version pushed in its config, and what its nodes apply."""

    store_id: str
    store_name: str | None
    pushed_version: int | None
    pushed_in_config: int | None = Field(description="the store config version that first "
                                         "carried the pushed rules version")
    pushed_at: datetime | None
    config_published: int | None
    nodes: list[NodeRolloutOut]
    pending: list[str] = Field(description="nodes not (yet) applying the active version")
    current: bool = Field(description="pushed the active version and every node applies it")


class RolloutOut(BaseModel):
    """The rollout of the active rules version over the stores in scope."""

    active_version: int
    active_since: datetime
    stores: list[StoreRolloutOut]
    current: int = Field(description="stores where every node applies the active version")


def _out(rules: rules_store.ActiveRules) -> RulesOut:
    return RulesOut(version=rules.version, name=rules.name, sha256=rules.sha256,
                    published_by=rules.published_by, published_at=rules.published_at,
                    yaml=rules.yaml)


def refused(err: RulesError) -> JSONResponse:
    """422 with every problem of a refused document, each naming its field path."""
    items = [error_body(p.path or None, p.message, "body") for p in err.problems]
    return JSONResponse({"detail": items}, status_code=422)


@router.get("", response_model=RulesOut, responses=ERRORS)
def get_rules(hub: Hub, _who: Viewer) -> RulesOut:
    """The active allocation rules: version, who published them, and the YAML."""
    return _out(rules_store.ensure_seeded(hub.engine))


@router.get("/rollout", response_model=RolloutOut, responses=ERRORS)
def get_rollout(hub: Hub, who: Viewer) -> RolloutOut:
    """Per store in scope: the rules version pushed (when, in which config version) and the
    version each node applies (since when)."""
    active = rules_store.ensure_seeded(hub.engine)
    with reading(hub.engine) as conn:
        rows = rules_rollout.rollout(conn, lambda column: in_scope(who.scope, column),
                                     active.version)
    items = [StoreRolloutOut.model_validate(r) for r in rows]
    return RolloutOut(active_version=active.version, active_since=active.published_at,
                      stores=items, current=sum(i.current for i in items))


@router.get("/versions", response_model=list[RulesVersionOut], responses=ERRORS)
def get_versions(hub: Hub, _who: Viewer) -> list[RulesVersionOut]:
    """Every published version, newest first."""
    rules_store.ensure_seeded(hub.engine)
    with reading(hub.engine) as conn:
        return [RulesVersionOut.model_validate(v) for v in rules_store.versions(conn)]


@router.post("", response_model=RulesOut, responses=ERRORS, dependencies=IDEMPOTENT)
def publish_rules(hub: Hub, who: PolicyEditor, body: PublishIn) -> Any:
    """Validate and publish a new version (it must raise ``version``); audited before/after."""
    try:
        published = rules_store.publish(hub.engine, body.yaml, who.actor, who.role.value,
                                        body.reason)
    except RulesError as err:
        return refused(err)
    return _out(published)


@router.post("/draft", responses=ERRORS)
def draft_rules(hub: Hub, _who: PolicyEditor, body: DraftIn) -> dict[str, Any]:
    """Check a draft and simulate it against the active version over ``stock``; nothing is
    stored."""
    active = rules_store.ensure_seeded(hub.engine)
    now = utc_now()
    if body.stock:
        source = "snapshot"
        stock, sales = stock_of(body.stock)
    else:
        source = "stock_view"
        with reading(hub.engine) as conn:
            stock, sales = current_stock(conn, now, body.days)
    try:
        document = load_rules_yaml(body.yaml)
        if document.version <= active.version:
            raise RulesError.at("version", f"must be above the active version {active.version} "
                                           f"(got {document.version})")
        check_parts_fit(compile_rules(document))
    except RulesError as err:
        problems = [{"field": p.path, "message": p.message} for p in err.problems]
        return {"valid": False, "active_version": active.version, "problems": problems,
                "stock_source": source, "simulation": None}
    report = simulate(compile_rules(document), active.compiled, stock, sales, now,
                      body.examples)
    return {"valid": True, "active_version": active.version, "problems": [],
            "stock_source": source, "simulation": report_json(report)}



