"""The consistency check: differences between the stores' snapshots and the hub's figures.

    GET  /api/stock/differences?store=&sku=&all=   unresolved differences (all: every one),
                                                   each with its store's threshold and ``alert``
    POST /api/stock/differences/{id}/resolve       accept | recount | investigate (approve right)
    POST /api/stock/checks                         ask the store(s) for a snapshot now (request
                                                   right) -> 202 with the nodes asked
    GET  /api/stock/refusals?store=&all=           snapshot pages refused for a missing or
                                                   invalid signature (open ones alert)
    POST /api/stock/refusals/{id}/dismiss          looked into: stop alerting (approve right)
    GET  /api/stock/amazon-differences             where Amazon lists more than the stores hold
                                                   (unscoped callers: it is chain-wide)

A recount queues a count task to the node that reported the difference (the counter shows it;
its next count of the SKU answers it and the difference is checked again).

Scoped like the stock view: stores outside the caller's scope are left out (a ``store`` outside
it is a 403). Every resolution and request is audited (``hub.inventory.differences``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Principal, require_in_scope, require_unscoped
from hub.fleet import stores
from hub.inventory import differences
from hub.settings import Settings
from hub.storage.engine import reading, writing
from hub.web.api.deps import Approver, Hub, Requester, Viewer
from hub.web.api.models import ErrorOut, Out, Page
from hub.web.api.ops import Limit, Offset
from protocol import StockState

router = APIRouter(prefix="/api/stock", tags=["stock"])
Store = Annotated[str | None, Query(min_length=1, max_length=40, description="only this store")]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)}


def thresholds_of(settings: Settings) -> differences.Thresholds:
    """The check's thresholds from the settings."""
    return differences.Thresholds(settings.stock_check_threshold,
                                  dict(settings.stock_check_store_thresholds))


class DifferenceOut(Out):
    """One (store node, SKU, state) where the store's snapshot and the hub disagree."""

    id: int
    store_id: str
    node_id: str
    sku: str
    state: StockState
    store_quantity: int = Field(description="the store's figure in its snapshot")
    hub_quantity: int = Field(description="the hub's figure as of the same seq")
    difference: int = Field(description="store - hub")
    snapshot_id: str
    as_of_seq: int
    status: Literal["open", "recount", "investigating", "accepted", "cleared"]
    threshold: int
    alert: bool
    amazon_listed: int | None = Field(description=(
        "what Amazon last accepted for the SKU, summed over accounts and marketplaces (null: "
        "never listed)"))
    chain_sellable: int = Field(description="the hub's sellable units of the SKU, every store")
    amazon_oversells: bool = Field(description="Amazon lists more than the chain holds sellable")
    found_at: datetime
    checked_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    authentication: Literal["signature", "broker"] | None = Field(None, description=(
        "how the snapshot was authenticated: signature (the node's key, checked against the "
        "certificate the hub issued) or broker (a node without a key on record: only its broker "
        "identity vouches for it)"))
    count_task_id: str | None = Field(None, description="the recount asked of the store")
    recounted_at: datetime | None = Field(None, description="when the store's count answered it")
    recount_count_id: str | None = None
    recount_counted: int | None = Field(None, description="units the recount found")


class RefusalOut(Out):
    """A snapshot page the check refused: no difference is built on it."""

    id: int
    store_id: str
    node_id: str
    seq: int
    snapshot_id: str
    page: int
    digest: str
    reason: str = Field(description="signature invalid | signature missing")
    status: Literal["open", "dismissed"]
    alert: bool
    found_at: datetime
    dismissed_at: datetime | None
    dismissed_by: str | None
    note: str | None


class DismissIn(BaseModel):
    """Why a refused page needs no more attention."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000, description="why (kept in the audit)")


class AmazonDifferenceOut(Out):
    """Amazon lists more of a SKU than the chain holds sellable."""

    account: str
    marketplace_id: str
    sku: str
    amazon_listed: int = Field(description="the quantity Amazon last accepted")
    chain_sellable: int = Field(description="the hub's sellable units, every store")
    difference: int = Field(description="listed - sellable (what could be oversold)")
    threshold: int
    alert: bool


class ResolveIn(BaseModel):
    """How to resolve a difference."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "recount", "investigate"] = Field(description=(
        "accept: take the store's figure; recount: send the store a count task (its count of "
        "the SKU answers it, and the difference is checked again); investigate: being looked "
        "into"))
    note: str | None = Field(None, max_length=2000, description="why (kept in the audit)")


class CheckIn(BaseModel):
    """Which store to check (none: every store in the caller's scope)."""

    model_config = ConfigDict(extra="forbid")

    store: str | None = Field(None, min_length=1, max_length=40)


class AskedOut(BaseModel):
    """One node asked for a snapshot."""

    store_id: str
    node_id: str
    command_id: str


def _within(who: Principal) -> Any:
    return None if who.scope.unlimited else (lambda column: stores.in_scope(who.scope, column))


def _check_store(conn: Any, who: Principal, store: str | None) -> None:
    if store:
        require_in_scope(who, stores.place(conn, store))


@router.get("/differences", response_model=Page[DifferenceOut], responses=ERRORS)
def get_differences(hub: Hub, who: Viewer, store: Store = None,
                    sku: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                    all: Annotated[bool, Query(description="settled ones too")] = False,
                    limit: Limit = 50, offset: Offset = 0) -> Page[DifferenceOut]:
    """Differences found by the consistency check, newest checked first; ``alert`` when an
    unresolved one is over its store's threshold."""
    with reading(hub.engine) as conn:
        _check_store(conn, who, store)
        rows, total = differences.listing(conn, thresholds_of(hub.settings), store, sku,
                                          not all, limit, offset, _within(who))
    return Page[DifferenceOut](items=[DifferenceOut.model_validate(r) for r in rows],
                               total=total, limit=limit, offset=offset)


@router.post("/differences/{difference_id}/resolve", response_model=DifferenceOut,
             responses=ERRORS)
def resolve(hub: Hub, who: Approver, difference_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
            body: ResolveIn) -> DifferenceOut:
    """Accept the store's figure, ask for a recount, or mark it investigated; audited. 409 when
    it is settled already."""
    with writing(hub.engine) as tx:
        row = differences.get(tx.conn, difference_id)
        require_in_scope(who, stores.place(tx.conn, row["store_id"]))
        row = differences.resolve(tx, difference_id, body.action, who.actor, who.role.value,
                                  body.note)
    with reading(hub.engine) as conn:
        (item,) = differences.decorated(conn, thresholds_of(hub.settings),
                                        [differences.get(conn, difference_id)])
    return DifferenceOut.model_validate(item)


@router.post("/checks", response_model=list[AskedOut], status_code=202, responses=ERRORS)
def request_check(hub: Hub, who: Requester, body: CheckIn) -> list[AskedOut]:
    """Ask each node of the store (or of every store in scope) for a snapshot now; the
    comparison happens when its pages arrive."""
    with writing(hub.engine) as tx:
        _check_store(tx.conn, who, body.store)
        asked = differences.request_snapshots(tx, body.store, who.actor, who.role.value,
                                              _within(who))
    return [AskedOut.model_validate(a) for a in asked]


@router.get("/refusals", response_model=list[RefusalOut], responses=ERRORS)
def get_refusals(hub: Hub, who: Viewer, store: Store = None,
                 all: Annotated[bool, Query(description="dismissed ones too")] = False,
                 ) -> list[RefusalOut]:
    """Snapshot pages refused because the node's signature is missing or does not verify
    (newest first, at most 200); each open one alerts."""
    with reading(hub.engine) as conn:
        _check_store(conn, who, store)
        rows = differences.refusals(conn, store, not all, _within(who))
    return [RefusalOut.model_validate(r) for r in rows]


@router.post("/refusals/{refusal_id}/dismiss", response_model=RefusalOut, responses=ERRORS)
def dismiss_refusal(hub: Hub, who: Approver, refusal_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
                    body: DismissIn) -> RefusalOut:
    """Stop a refused page alerting once it was looked into; audited. 409 when dismissed."""
    with writing(hub.engine) as tx:
        row = differences.refusal(tx.conn, refusal_id)
        require_in_scope(who, stores.place(tx.conn, row["store_id"]))
        row = differences.dismiss_refusal(tx, refusal_id, who.actor, who.role.value, body.note)
    return RefusalOut.model_validate(row)


@router.get("/amazon-differences", response_model=list[AmazonDifferenceOut], responses=ERRORS)
def get_amazon_differences(hub: Hub, who: Viewer) -> list[AmazonDifferenceOut]:
    """Where Amazon lists more of a SKU than the chain holds sellable (per account and
    marketplace; changes still on their way to Amazon are left out); ``alert`` over the
    check's default threshold. Chain-wide, so for unscoped callers."""
    require_unscoped(who, "Amazon's listed quantities")
    with reading(hub.engine) as conn:
        rows = differences.amazon_report(conn, thresholds_of(hub.settings))
    return [AmazonDifferenceOut.model_validate(r) for r in rows]
