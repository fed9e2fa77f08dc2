"""Finance through the API: ``/api/finance/...`` — the legal entities, the exports for
accountants and tax (journal CSV/XLSX, DATEV EXTF Buchungsstapel, EU OSS summary) as file
downloads, and the FX gain or loss between refunds and their settlements per month (JSON, CSV).

Who may do what: finance and admins only (the exports span every store). Reading an export or
the FX report first converts the amounts that have no base amount yet (audited as the system,
``hub.finance.fx_amounts_store``); ``POST /api/finance/fx/convert`` does only that.
Bad input (an unknown entity, a malformed period, a quarter for DATEV, an entity without DATEV
settings or OSS) is 422 with the field named.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Principal, Role
from hub.errors import Forbidden
from hub.finance import entities, fx_amounts_store
from hub.finance.exports import files
from hub.finance.fx_amounts import Settled, gains_table, monthly
from hub.storage.engine import reading, writing
from hub.web.api.deps import Caller, Hub
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/finance", tags=["finance exports"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}
FINANCE = frozenset({Role.FINANCE, Role.ADMIN})
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC), inclusive")
]
EntityId = Annotated[str, Query(min_length=1, max_length=40, description="an entity's id")]
Period = Annotated[
    str, Query(min_length=7, max_length=7, description="a month 2026-11 or a quarter 2026-Q4")
]


def finance(who: Caller) -> Principal:
    """The caller, when they are finance or an admin."""
    if who.role not in FINANCE:
        raise Forbidden(f"{who.role.value} may not read finance exports")
    return who


Finance = Annotated[Principal, Depends(finance)]


class EntityOut(BaseModel):
    """One legal entity."""

    id: str
    name: str
    country: str
    base_currency: str
    vat_id: str
    oss: bool
    datev: bool


class GainOut(BaseModel):
    """The FX result of one settlement month in one base currency (exact decimals)."""

    month: str
    base_currency: str
    refunds: int
    at_refund: Decimal
    at_settlement: Decimal
    gain: Decimal


class SettledOut(BaseModel):
    """One refund and the settlement that paid it out, each at its day's rate."""

    ref: str
    order_id: str
    amount: Decimal
    currency: str
    base_currency: str
    refund_day: str
    refund_rate: Decimal
    settled_day: str
    settled_rate: Decimal
    gain: Decimal


class GainsOut(BaseModel):
    """FX gains per month, and the refunds behind them (newest settlements first, 500 at most)."""

    months: list[GainOut]
    refunds: list[SettledOut]


class ConvertedOut(BaseModel):
    """Amounts converted by one pass, per kind."""

    refund: int
    settlement: int


@router.get("/entities", response_model=list[EntityOut], responses=ERRORS)
def list_entities(hub: Hub, who: Finance) -> list[EntityOut]:
    """The legal entities of the active entities document."""
    with reading(hub.engine) as conn:
        document = entities.active(conn)
    return [
        EntityOut(
            id=e.id,
            name=e.name,
            country=e.country,
            base_currency=e.base_currency,
            vat_id=e.vat_id,
            oss=e.oss,
            datev=e.datev is not None,
        )
        for e in document.entities
    ]


class DocumentOut(BaseModel):
    """The active entities document."""

    version: int
    name: str
    yaml: str


class DocumentIn(BaseModel):
    """A new version of the entities document."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=entities.MAX_TEXT)


@router.get("/entities/document", response_model=DocumentOut, responses=ERRORS)
def get_document(hub: Hub, who: Finance) -> DocumentOut:
    """The active entities document (the shipped default before any publication)."""
    with reading(hub.engine) as conn:
        document = entities.active(conn)
        text = entities.active_text(conn)
    return DocumentOut(version=document.version, name=document.name, yaml=text)


@router.put("/entities/document", response_model=DocumentOut, responses=ERRORS)
def put_document(hub: Hub, who: Finance, body: DocumentIn) -> DocumentOut:
    """Publish a new version of the entities document (a higher version; audited)."""
    with writing(hub.engine) as tx:
        document = entities.publish(tx, body.yaml, who.actor, who.role.value)
    return DocumentOut(version=document.version, name=document.name, yaml=body.yaml)


@router.get("/exports/{what}", responses=ERRORS, response_class=Response)
def export(
    hub: Hub,
    who: Finance,
    what: Literal["journal", "datev", "oss"],
    entity: EntityId,
    period: Period,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Download an export: ``journal`` (CSV or XLSX), ``datev`` (a month's EXTF
    Buchungsstapel, Windows-1252) or ``oss`` (the summary of the period's quarter)."""
    made = files.make(hub.engine, what, entity, period, utc_now(), format)
    return Response(
        made.data,
        media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.name}"'},
    )


def settled_in(
    hub: Hub,
    who: Finance,
    entity: Annotated[str | None, Query(max_length=40, description="one entity's id")] = None,
    month_from: Month = None,
    month_to: Month = None,
) -> list[Settled]:
    """The settled refunds the query asks for (after converting what is pending)."""
    fx_amounts_store.convert_pending(hub.engine)
    with reading(hub.engine) as conn:
        return fx_amounts_store.settled(conn, entity, month_from, month_to)


SettledIn = Annotated[list[Settled], Depends(settled_in)]


def _settled_out(s: Settled) -> SettledOut:
    return SettledOut(
        ref=s.ref,
        order_id=s.order_id,
        amount=s.amount,
        currency=s.currency,
        base_currency=s.base_currency,
        refund_day=s.refund_day.isoformat(),
        refund_rate=s.refund_rate,
        settled_day=s.settled_day.isoformat(),
        settled_rate=s.settled_rate,
        gain=s.gain,
    )


@router.get("/fx/gains", response_model=GainsOut, responses=ERRORS)
def gains(settled: SettledIn) -> GainsOut:
    """FX gain (+) or loss (-) per settlement month, between each refund's day and its
    settlement's posted day, in the entity's base currency."""
    foreign = sorted(
        (s for s in settled if s.currency != s.base_currency),
        key=lambda s: (s.settled_day, s.ref),
        reverse=True,
    )[:500]
    months = [GainOut.model_validate(m, from_attributes=True) for m in monthly(settled)]
    return GainsOut(months=months, refunds=[_settled_out(s) for s in foreign])


@router.get("/fx/gains.csv", responses=ERRORS, response_class=Response)
def gains_csv(settled: SettledIn) -> Response:
    """The FX gains per month as CSV."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(gains_table(monthly(settled)))
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="fx-gains.csv"'},
    )


@router.post("/fx/convert", response_model=ConvertedOut, responses=ERRORS)
def convert(hub: Hub, who: Finance) -> ConvertedOut:
    """Convert every refund and settlement amount that has no base amount yet (audited)."""
    done = fx_amounts_store.convert_pending(hub.engine, actor=(who.actor, who.role.value))
    return ConvertedOut(refund=done["refund"], settlement=done["settlement"])
