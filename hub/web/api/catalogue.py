"""The product catalogue through the API: ``GET``/``PUT /api/catalogue/{sku}`` and
``POST /api/catalogue/import``.

Reading: anyone who may view (a SKU's category, title, brand and cost are chain-wide facts, not a
store's). Writing: whoever may edit the allocation rules (``edit_policy``: admin, HQ
merchandising's role), since the rules' category entries match these categories. ``PUT``
replaces one SKU's entry; ``import`` takes the CLI's CSV as text (within the API's request size
limit; the CLI takes files of any size) and writes all of it or, when a line is bad, nothing,
answering 422 with one item per problem (``field``: ``line 4, category``). Every change is
audited; an unchanged entry is neither written nor audited, so a repeat does nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.access.users import Actor
from hub.errors import NotFound
from hub.inventory import catalogue
from hub.inventory.catalogue import CatalogueItem
from hub.storage.engine import reading
from hub.web.api.deps import Hub, PolicyEditor, Viewer
from hub.web.api.errors import error_body
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/catalogue", tags=["catalogue"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
MAX_CSV = 64 * 1024 * 1024  # the request size limit (settings) is the one that bites first


class CatalogueItemOut(CatalogueItem):
    """One SKU's entry and who changed it last."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sku: str
    updated_at: datetime
    updated_by: str


class PutOut(CatalogueItemOut):
    """The entry after a ``PUT``, and what the ``PUT`` did."""

    outcome: catalogue.Outcome


class ImportIn(BaseModel):
    """A catalogue CSV, as the CLI imports it."""

    model_config = ConfigDict(extra="forbid")

    csv: str = Field(max_length=MAX_CSV, description="header sku,category[,title,brand,"
                     "unit_cost,currency], then one SKU a line")


class ImportOut(BaseModel):
    """What an import did."""

    skus: int
    created: int
    updated: int
    unchanged: int


def _stored(hub: Hub, sku: str) -> catalogue.Stored:
    with reading(hub.engine) as conn:
        stored = catalogue.get_item(conn, sku)
    if stored is None:
        raise NotFound(f"the catalogue has no SKU {sku!r}", field="sku")
    return stored


def _out(stored: catalogue.Stored) -> dict[str, Any]:
    return {"sku": stored.sku, **dict(stored.item), "updated_at": stored.updated_at,
            "updated_by": stored.updated_by}


@router.get("/{sku}", response_model=CatalogueItemOut, responses=ERRORS)
def get_item(hub: Hub, _who: Viewer, sku: str) -> Any:
    """One SKU's catalogue entry."""
    catalogue.check_sku(sku)
    return _out(_stored(hub, sku))


@router.put("/{sku}", response_model=PutOut, responses=ERRORS, dependencies=IDEMPOTENT)
def put_item(hub: Hub, who: PolicyEditor, sku: str, body: CatalogueItem) -> Any:
    """Create or replace one SKU's entry; audited when it changes."""
    outcome = catalogue.put_item(hub.engine, sku, body, Actor(who.actor, who.role.value))
    return {**_out(_stored(hub, sku)), "outcome": outcome}


@router.post("/import", response_model=ImportOut, responses=ERRORS, dependencies=IDEMPOTENT)
def import_csv(hub: Hub, who: PolicyEditor, body: ImportIn) -> Any:
    """Create or update every SKU of a CSV, or — when a line is bad — nothing (422 per line)."""
    try:
        items = catalogue.read_csv(body.csv)
    except catalogue.CatalogueFileError as err:
        detail = [error_body(p.path or "csv", p.message, "body") for p in err.problems]
        return JSONResponse({"detail": detail}, status_code=422)
    result = catalogue.import_items(hub.engine, items, Actor(who.actor, who.role.value))
    return ImportOut(skus=result.total, created=result.created, updated=result.updated,
                     unchanged=result.unchanged)
