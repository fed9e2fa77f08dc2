"""Amazon's EU VAT reports against ACORN's refunds: ``GET /api/finance/vat-reports`` (one
month of one account, every pair) and ``GET /api/finance/vat-reports/months`` (the imported
months, newest first: reports, refunds matched and unmatched, the unmatched listed;
``hub.finance.vat_overview``).

Who may: finance and admins with an unlimited scope (Amazon's reports belong to no store; a
scoped caller is refused, 403). The month's reports are the ones the ``vat-reports`` job
fetched (``hub.amazon.sync.vat_reports``); the matching is ``hub.finance.vat_match`` (rules
there). An unknown account is 404, a malformed month or limit 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hub.access.permissions import Principal, Role
from hub.amazon.accounts import load_accounts
from hub.errors import Forbidden, InputError
from hub.finance.vat_overview import MAX_MONTHS, months, summary_json
from hub.finance.vat_store import month_view, view_json
from hub.storage.engine import reading
from hub.web.api.deps import Caller, Hub
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/finance", tags=["finance"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
READERS = frozenset({Role.FINANCE, Role.ADMIN})


def reader(who: Caller) -> Principal:
    """The caller, when they may read Amazon's VAT reports."""
    if who.role not in READERS:
        raise Forbidden(f"{who.role.value} may not read Amazon's VAT reports")
    if not who.scope.unlimited:
        raise Forbidden("Amazon's VAT reports span every store: an unlimited scope only")
    return who


class VatReportOut(BaseModel):
    """One report of the month as fetched."""

    marketplace_id: str
    report_type: str
    report_id: str
    status: str
    lines: int
    problems: int
    fetched_at: str | None


class VatPairOut(BaseModel):
    """An Amazon refund row matched to ACORN's refund line, and what differs."""

    status: str
    order_id: str
    sku: str
    store_id: str
    refund_id: str
    line_no: int
    currency: str
    acorn_gross: str
    amazon_gross: str
    amount_difference: str
    amazon_vat: str
    expected_vat: str | None
    vat_difference: str | None


class AmazonOnlyOut(BaseModel):
    """An Amazon refund row ACORN does not know."""

    order_id: str
    sku: str
    line_no: int
    transaction_id: str
    gross: str
    vat: str
    currency: str


class AcornOnlyOut(BaseModel):
    """An ACORN refund line not in Amazon's report."""

    order_id: str
    sku: str
    store_id: str
    refund_id: str
    gross: str
    currency: str
    state: str


class VatMatchOut(BaseModel):
    """One report type's refunds matched."""

    pairs: list[VatPairOut]
    only_amazon: list[AmazonOnlyOut]
    only_acorn: list[AcornOnlyOut]


class VatMonthOut(BaseModel):
    """A month of one account: its reports and, per report type, the refunds matched."""

    account: str
    month: str
    reports: list[VatReportOut]
    matches: dict[str, VatMatchOut]


@router.get("/vat-reports", response_model=VatMonthOut, responses=ERRORS)
def vat_reports(
    hub: Hub,
    who: Annotated[Principal, Depends(reader)],
    account: Annotated[str, Query(min_length=1, max_length=64, description="account name")],
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> VatMonthOut:
    """The month's VAT reports of one account and their refunds matched to ACORN's."""
    load_accounts(hub.engine, [account])  # NotFound (404) for an unknown account
    try:
        with reading(hub.engine) as conn:
            view = month_view(conn, account, month)
    except ValueError as err:  # a month out of range
        raise InputError(str(err), "month") from err
    return VatMonthOut.model_validate(view_json(view))


class VatMonthReportOut(BaseModel):
    """One report of a month as recorded by the job."""

    marketplace_id: str
    report_type: str
    status: str
    lines: int
    problems: int
    fetched_at: str | None


class VatCountsOut(BaseModel):
    """One report type's refund lines of a month by outcome."""

    report_type: str
    matched: int
    differing: int
    only_amazon: int
    only_acorn: int


class VatUnmatchedOut(BaseModel):
    """A refund line on one side only (refund: ACORN's store/refund id or Amazon's
    transaction id)."""

    report_type: str
    side: str
    order_id: str
    sku: str
    gross: str
    currency: str
    refund: str


class VatMonthSummaryOut(BaseModel):
    """One account's month: reports, counts per report type, the unmatched lines."""

    account: str
    month: str
    status: str
    reports: list[VatMonthReportOut]
    counts: list[VatCountsOut]
    unmatched: list[VatUnmatchedOut]


class VatMonthsOut(BaseModel):
    """The imported months, newest first."""

    months: list[VatMonthSummaryOut]


@router.get("/vat-reports/months", response_model=VatMonthsOut, responses=ERRORS)
def vat_report_months(
    hub: Hub,
    who: Annotated[Principal, Depends(reader)],
    account: Annotated[
        str | None, Query(min_length=1, max_length=64, description="account name; all if none")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_MONTHS, description="months at most")] = 12,
) -> VatMonthsOut:
    """The months whose VAT reports were imported, with their refunds matched and unmatched."""
    if account is not None:
        load_accounts(hub.engine, [account])  # NotFound (404) for an unknown account
    with reading(hub.engine) as conn:
        found = months(conn, account, limit)
    return VatMonthsOut.model_validate({"months": [summary_json(m) for m in found]})
