"""Return reasons through the API: ``/api/reasons/...`` — the taxonomy, the breakdown of return
lines by reason across a dimension (JSON and CSV), the lines behind one bar, money refunded per
reason, the SKUs whose defect or "not as described" rate stands out, the unmapped texts, and the
text rules (read; publish).

Who may do what:
- reading: finance, admins, regional and store managers; a caller with a limited scope sees the
  lines of the stores in their scope only (Amazon lines, which belong to no store, and Amazon's
  sales need an unlimited scope);
- ``PUT /api/reasons/rules``: an admin or finance; audited (``hub.finance.reasons.store``).
Bad filters are 422 with the field named.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access.permissions import Principal, Role
from hub.errors import Forbidden
from hub.finance.reasons import analytics, store
from hub.finance.reasons.taxonomy import TAXONOMY
from hub.storage.engine import reading, writing
from hub.web.api.csv_download import csv_download as _csv
from hub.web.api.deps import Caller, Hub
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/reasons", tags=["return reasons"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}
READERS = frozenset({Role.FINANCE, Role.ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER})
EDITORS = frozenset({Role.FINANCE, Role.ADMIN})
Dimension = Literal["reason", "sku", "category", "store", "region", "marketplace", "month"]
Month = Annotated[str | None, Query(pattern=r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$",
                                    description="YYYY-MM (UTC), inclusive")]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]


def reader(who: Caller) -> Principal:
    """The caller, when they may read reason analytics."""
    if who.role not in READERS:
        raise Forbidden(f"{who.role.value} may not read return reason analytics")
    return who


Reader = Annotated[Principal, Depends(reader)]


def filters(who: Reader, month_from: Month = None, month_to: Month = None, store: Text = None,
            region: Text = None, marketplace: Text = None, sku: Text = None,
            category: Text = None, reason: Text = None) -> analytics.Filters:
    """The query's filters, in the caller's scope."""
    return analytics.Filters(month_from, month_to, store, region, marketplace, sku, category,
                             reason, who.scope)


Filtered = Annotated[analytics.Filters, Depends(filters)]


class Breakdown(BaseModel):
    """One key of a dimension: units and lines returned, and units per reason."""

    key: str
    units: int
    lines: int
    by_reason: dict[str, int]


class BreakdownOut(BaseModel):
    """Return lines by reason across a dimension."""

    dimension: Dimension
    reasons: list[str]
    rows: list[Breakdown]


class LineOut(BaseModel):
    """One return line behind a bar."""

    source: str
    line_key: str
    store_id: str | None
    return_id: str | None
    line_no: int | None
    account: str | None
    amazon_ref: str | None
    order_id: str | None
    channel: str
    marketplace_id: str | None
    sku: str
    quantity: int
    occurred_at: Any
    raw_reason: str
    reason: str
    sub_reason: str
    method: str


class MoneyOut(BaseModel):
    """Money refunded under one reason in one currency (exact decimal text)."""

    reason: str
    currency: str
    amount: Decimal


class RateOut(BaseModel):
    """One SKU's product-problem return rate against its sales."""

    sku: str
    sold: int
    returned: int
    rate: float
    p_value: float
    stands_out: bool


class RatesOut(BaseModel):
    """The chain's rate, the test, and each SKU tested."""

    chain_rate: float
    test: str
    skus: list[RateOut]


class RulesOut(BaseModel):
    """The active text rules."""

    version: int
    name: str
    yaml: str


class RulesIn(BaseModel):
    """A new version of the text rules."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=200_000)


@router.get("/taxonomy", responses=ERRORS)
def taxonomy(who: Reader) -> dict[str, list[str]]:
    """The reasons and their sub-reasons."""
    return {reason: list(subs) for reason, subs in TAXONOMY.items()}


def _breakdown(hub: Hub, dimension: str, f: analytics.Filters) -> BreakdownOut:
    with reading(hub.engine) as conn:
        rows = analytics.breakdown(conn, dimension, f)
    return BreakdownOut(dimension=dimension, reasons=list(TAXONOMY),
                        rows=[Breakdown(**row) for row in rows])


@router.get("/breakdown", response_model=BreakdownOut, responses=ERRORS)
def breakdown(hub: Hub, f: Filtered, dimension: Dimension = "reason") -> BreakdownOut:
    """Return lines by reason across ``dimension`` (largest first; months oldest first)."""
    return _breakdown(hub, dimension, f)


@router.get("/breakdown.csv", responses=ERRORS, response_class=Response)
def breakdown_csv(hub: Hub, f: Filtered, dimension: Dimension = "reason") -> Response:
    """The breakdown as CSV: key, units, lines, then units per reason."""
    out = _breakdown(hub, dimension, f)
    return _csv(f"reasons-by-{dimension}", [dimension, "units", "lines", *out.reasons],
                ([r.key, r.units, r.lines, *(r.by_reason.get(x, 0) for x in out.reasons)]
                 for r in out.rows))


@router.get("/lines", response_model=list[LineOut], responses=ERRORS)
def lines(hub: Hub, f: Filtered, key: Annotated[str, Query(min_length=1, max_length=64)],
          dimension: Dimension = "reason",
          limit: Annotated[int, Query(ge=1, le=analytics.MAX_LINES)] = 200) -> list[LineOut]:
    """The return lines behind one bar (``dimension`` = ``key``), newest first."""
    with reading(hub.engine) as conn:
        return [LineOut(**row) for row in analytics.lines(conn, dimension, key, f, limit)]


def _money(hub: Hub, f: analytics.Filters) -> list[MoneyOut]:
    with reading(hub.engine) as conn:
        return [MoneyOut(**row) for row in analytics.money(conn, f)]


@router.get("/money", response_model=list[MoneyOut], responses=ERRORS)
def money(hub: Hub, f: Filtered) -> list[MoneyOut]:
    """Money refunded per reason and currency (never summed across currencies)."""
    return _money(hub, f)


@router.get("/money.csv", responses=ERRORS, response_class=Response)
def money_csv(hub: Hub, f: Filtered) -> Response:
    """Money refunded per reason and currency as CSV."""
    return _csv("refunded-by-reason", ["reason", "currency", "amount"],
                ([m.reason, m.currency, format(m.amount, "f")] for m in _money(hub, f)))


def _rates(hub: Hub, f: analytics.Filters) -> RatesOut:
    with reading(hub.engine) as conn:
        chain, skus = analytics.rates(conn, f)
    test = (f"one-sided exact binomial test against the chain's rate {chain:.4f}, "
            f"Bonferroni over {len(skus)} SKUs, alpha {analytics.standouts_alpha()}, "
            f"at least {analytics.standouts_min()} returns")
    return RatesOut(chain_rate=chain, test=test, skus=[RateOut(
        sku=s.sku, sold=s.sold, returned=s.returned, rate=s.rate, p_value=s.p_value,
        stands_out=s.stands_out) for s in skus])


@router.get("/standouts", response_model=RatesOut, responses=ERRORS)
def standouts(hub: Hub, f: Filtered) -> RatesOut:
    """Each SKU's defect or "not as described" rate against its sales; the outliers first."""
    return _rates(hub, f)


@router.get("/standouts.csv", responses=ERRORS, response_class=Response)
def standouts_csv(hub: Hub, f: Filtered) -> Response:
    """The SKU rates as CSV."""
    out = _rates(hub, f)
    return _csv("product-problem-rates", ["sku", "sold", "returned", "rate", "p_value",
                                          "stands_out"],
                ([s.sku, s.sold, s.returned, f"{s.rate:.6f}", f"{s.p_value:.3g}",
                  "yes" if s.stands_out else "no"] for s in out.skus))


@router.get("/unmapped", responses=ERRORS)
def unmapped(hub: Hub, who: Reader) -> list[dict[str, Any]]:
    """Texts and codes no rule maps, most frequent first (for review)."""
    if not who.scope.unlimited:
        raise Forbidden("the unmapped texts span every store: an unlimited scope only")
    with reading(hub.engine) as conn:
        return store.unmapped(conn)


@router.get("/rules", response_model=RulesOut, responses=ERRORS)
def get_rules(hub: Hub, who: Reader) -> RulesOut:
    """The active text rules."""
    with reading(hub.engine) as conn:
        text = store.active_text(conn)
        rules = store.active(conn)
    return RulesOut(version=rules.version, name=rules.name, yaml=text)


@router.put("/rules", response_model=RulesOut, responses=ERRORS)
def put_rules(hub: Hub, who: Caller, body: RulesIn) -> RulesOut:
    """Publish a new version of the text rules; lines they map are mapped again."""
    if who.role not in EDITORS:
        raise Forbidden(f"{who.role.value} may not change the reason rules")
    with writing(hub.engine) as tx:
        rules, _changed = store.publish(tx, body.yaml, who.actor, who.role.value)
    return RulesOut(version=rules.version, name=rules.name, yaml=body.yaml)
