"""Settlement reconciliation through the API: ``/api/settlements/...`` — the settlements with their
status, one settlement's difference table, deposit check and accounting summary (JSON and CSV),
reconciling it, resolving a difference with a note, and the account mapping (read; publish).

Who may do what: finance and admins, every action; nobody else (regional managers included:
settlements span every store). Every change is audited (``hub.finance.settlements.store``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from hub.access.permissions import Principal, Role
from hub.errors import Forbidden
from hub.finance.settlements import store, tables
from hub.finance.settlements.accounting import Summary
from hub.finance.settlements.model import COMPONENTS, OTHER, Settlement
from hub.finance.settlements.reconcile import Reconciliation
from hub.storage.engine import reading, writing
from hub.web.api.csv_download import csv_download as _csv
from hub.web.api.deps import Caller, Hub
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/settlements", tags=["settlements"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}
FINANCE = frozenset({Role.FINANCE, Role.ADMIN})
SettlementId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
PARTS = (*COMPONENTS, OTHER)


def finance(who: Caller) -> Principal:
    """The caller, when they may read and reconcile settlements."""
    if who.role not in FINANCE:
        raise Forbidden(f"{who.role.value} may not read settlements: finance and admins only")
    return who


Finance = Annotated[Principal, Depends(finance)]


class SettlementOut(BaseModel):
    """One settlement (counted once) and its reconciliation status."""

    settlement_id: str
    account: str
    marketplace_id: str
    currency: str
    start: datetime | None
    end: datetime | None
    deposit_at: datetime | None
    total: Decimal | None
    lines: int
    report_id: str
    repeated_in: list[str]
    status: str
    differences: int
    unresolved: int
    gap: Decimal | None


class DifferenceOut(BaseModel):
    """One row of the difference table; ``resolved`` is who resolved it and why."""

    key: str
    kind: str
    order_id: str
    sku: str
    adjustment_id: str
    refund: str
    acorn: dict[str, Decimal]
    settlement: dict[str, Decimal]
    lines: list[int]
    note: str
    resolved: dict[str, Any] | None


class DepositOut(BaseModel):
    """Do the lines add up to the deposit."""

    deposit: Decimal | None
    lines_total: Decimal
    gap: Decimal
    adds_up: bool
    flags: list[str]


class BookingOut(BaseModel):
    """One accounting summary row."""

    month: str
    transaction_type: str
    amount_type: str
    account: str
    tax_rate: Decimal | None
    amount: Decimal
    lines: int


class PartOut(BaseModel):
    """One month's part of the deposit."""

    month: str
    amount: Decimal


class SummaryOut(BaseModel):
    """The accounting summary: bookings per month and the month parts of the deposit."""

    mapping_version: int
    clearing_account: str
    bookings: list[BookingOut]
    parts: list[PartOut]
    total: Decimal


class DetailOut(BaseModel):
    """One settlement reconciled now (the status is the last recorded one)."""

    settlement: SettlementOut
    refund_lines: int
    matched: int
    deposit: DepositOut
    differences: list[DifferenceOut]
    summary: SummaryOut


class ResolveIn(BaseModel):
    """Resolve one difference with a note."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=300)
    note: str = Field(min_length=1, max_length=store.NOTE_MAX)


class AccountsOut(BaseModel):
    """The active account mapping."""

    version: int
    name: str
    yaml: str


class AccountsIn(BaseModel):
    """A new version of the account mapping."""

    model_config = ConfigDict(extra="forbid")
    yaml: str = Field(min_length=1, max_length=100_000)


def _settlement_out(listed: store.Listed) -> SettlementOut:
    r = listed.settlement.report
    return SettlementOut(
        settlement_id=r.settlement_id, account=r.account, marketplace_id=r.marketplace_id,
        currency=r.currency, start=r.start, end=r.end, deposit_at=r.deposit_at, total=r.total,
        lines=r.lines, report_id=r.report_id,
        repeated_in=[x.report_id for x in listed.settlement.repeats], status=listed.status.value,
        differences=listed.differences, unresolved=listed.unresolved, gap=listed.gap,
    )  # fmt: skip


def _listed(conn: Connection, settlement: Settlement) -> store.Listed:
    found = [
        s for s in store.listing(conn) if s.settlement.settlement_id == settlement.settlement_id
    ]
    return found[0]


def _summary_out(summary: Summary) -> SummaryOut:
    return SummaryOut(
        mapping_version=summary.mapping_version, clearing_account=summary.clearing_account,
        bookings=[BookingOut(month=b.month, transaction_type=b.transaction_type,
                             amount_type=b.amount_type, account=b.account, tax_rate=b.tax_rate,
                             amount=b.amount, lines=b.lines) for b in summary.bookings],
        parts=[PartOut(month=p.month, amount=p.amount) for p in summary.parts],
        total=summary.total,
    )  # fmt: skip


def _detail(conn: Connection, settlement_id: str) -> DetailOut:
    result, lines = store.reconcile(conn, settlement_id)
    return _detail_of(conn, result, lines)


def _detail_of(conn: Connection, result: Reconciliation, lines: list[Any]) -> DetailOut:
    s = result.settlement
    done = store.resolutions(conn, s.settlement_id)
    d = result.deposit
    return DetailOut(
        settlement=_settlement_out(_listed(conn, s)), refund_lines=result.refund_lines,
        matched=result.matched,
        deposit=DepositOut(deposit=d.deposit, lines_total=d.lines_total, gap=d.gap,
                           adds_up=d.adds_up, flags=list(d.flags)),
        differences=[DifferenceOut(
            key=x.key, kind=x.kind.value, order_id=x.order_id, sku=x.sku,
            adjustment_id=x.adjustment_id, refund=x.refund, acorn=x.acorn,
            settlement=x.settlement, lines=list(x.lines), note=x.note,
            resolved=_resolution(done.get(x.key))) for x in result.differences],
        summary=_summary_out(store.summary(conn, s, lines)),
    )  # fmt: skip


def _resolution(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"by": row["resolved_by"], "role": row["role"], "note": row["note"],
            "at": row["resolved_at"].isoformat()}  # fmt: skip


def _text(value: Decimal | datetime | None) -> str:
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else value.isoformat()


@router.get("", response_model=list[SettlementOut], responses=ERRORS)
def list_settlements(hub: Hub, who: Finance) -> list[SettlementOut]:
    """Every settlement once (repeats named), with its status; newest deposit first."""
    with reading(hub.engine) as conn:
        return [_settlement_out(s) for s in reversed(store.listing(conn))]


@router.get("/accounts", response_model=AccountsOut, responses=ERRORS)
def get_accounts(hub: Hub, who: Finance) -> AccountsOut:
    """The active account mapping (YAML)."""
    with reading(hub.engine) as conn:
        mapping = store.ACCOUNTS.active(conn)
        return AccountsOut(version=mapping.version, name=mapping.name,
                           yaml=store.ACCOUNTS.active_text(conn))  # fmt: skip


@router.put("/accounts", response_model=AccountsOut, responses=WRITE_ERRORS)
def put_accounts(hub: Hub, who: Finance, body: AccountsIn) -> AccountsOut:
    """Publish a new version of the account mapping (a higher version); audited."""
    with writing(hub.engine) as tx:
        mapping = store.ACCOUNTS.publish(tx, body.yaml, who.actor, who.role.value)
    return AccountsOut(version=mapping.version, name=mapping.name, yaml=body.yaml)


@router.get("/{settlement_id}", response_model=DetailOut, responses=ERRORS)
def show(hub: Hub, who: Finance, settlement_id: SettlementId) -> DetailOut:
    """One settlement reconciled now: difference table, deposit check, accounting summary."""
    with reading(hub.engine) as conn:
        return _detail(conn, settlement_id)


@router.get("/{settlement_id}/differences.csv", responses=ERRORS, response_class=Response)
def differences_csv(hub: Hub, who: Finance, settlement_id: SettlementId) -> Response:
    """The difference table as CSV: ACORN's and the settlement's components side by side."""
    with reading(hub.engine) as conn:
        result, _lines = store.reconcile(conn, settlement_id)
        done = store.resolutions(conn, settlement_id)
    return _csv(f"settlement-{settlement_id}-differences", list(tables.DIFFERENCE_HEADER),
                ([_cell(v) for v in row]
                 for row in tables.difference_rows(list(result.differences), done)))


@router.get("/{settlement_id}/summary.csv", responses=ERRORS, response_class=Response)
def summary_csv(hub: Hub, who: Finance, settlement_id: SettlementId) -> Response:
    """The accounting summary as CSV, then each month's part of the deposit (clearing account)."""
    with reading(hub.engine) as conn:
        result, lines = store.reconcile(conn, settlement_id)
        summary = store.summary(conn, result.settlement, lines)
    return _csv(f"settlement-{settlement_id}-summary", list(tables.SUMMARY_HEADER),
                ([_cell(v) for v in row] for row in tables.summary_rows(summary)))


def _cell(value: tables.Cell) -> Any:
    return _text(value) if isinstance(value, Decimal | datetime) or value is None else value


@router.post("/{settlement_id}/reconcile", response_model=DetailOut, responses=WRITE_ERRORS)
def reconcile(hub: Hub, who: Finance, settlement_id: SettlementId) -> DetailOut:
    """Reconcile now and record the status (audited when it changes)."""
    with writing(hub.engine) as tx:
        result, lines = store.reconcile(tx.conn, settlement_id)
        store.record(tx, result, who.actor, who.role.value)
        return _detail_of(tx.conn, result, lines)


@router.post("/{settlement_id}/resolve", response_model=DetailOut, responses=WRITE_ERRORS)
def resolve(hub: Hub, who: Finance, settlement_id: SettlementId, body: ResolveIn) -> DetailOut:
    """Resolve one difference with a note (once); the status follows, audited."""
    with writing(hub.engine) as tx:
        store.resolve(tx, settlement_id, body.key, body.note, who.actor, who.role.value)
        return _detail(tx.conn, settlement_id)
