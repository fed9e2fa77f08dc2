"""The VAT reports job: Amazon's EU VAT Transactions and VAT Calculation reports, once a month.

Rules:
- a month is closed for Amazon's VAT reports from the 3rd of the next month (UTC): Amazon has
  no VAT Transactions report before then, and the running month never; the job asks only for
  closed months (the latest one and those back to ``since`` or ``backfill_days``), and asking
  for an open month by hand (``sync_vat_reports(ctx, ["2026-12"])``) is an ``InputError``
  before any call;
- per account, EU marketplace, month and report type (``GET_VAT_TRANSACTION_DATA`` and
  ``SC_VAT_TAX_REPORT``) one ``createReport`` for the whole month; the report id is stored
  (``requested``) as soon as Amazon gives it, so a killed run waits for that report instead of
  asking again; a ``done`` month is never asked for again;
- ``getReport`` is polled (``hub.amazon.sync.reports.wait_report``); DONE is downloaded, parsed
  (``hub.amazon.files.vat``) and stored with its lines and ``done`` in one transaction, each bad
  line and each unknown column recorded once as a problem (account, report id, line); CANCELLED
  (Amazon's "no data") is ``done`` with no lines; FATAL is ``fatal`` (asked again next run);
- an Amazon error or an unreadable document stops that marketplace's month and type only (a
  problem, counted); the others carry on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from hub.amazon.accounts import Account
from hub.amazon.client.gateway import SpApi
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.context import JobContext, utc_now
from hub.amazon.errors import AmazonApiError, ReportDataError
from hub.amazon.files.flatfile import FileFormatError, Problem
from hub.amazon.files.vat import REPORT_TYPES, VatFile, VatLine, parse_vat
from hub.amazon.marketplaces import Marketplace
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.store import Tally, problem
from hub.amazon.sync.reports import download, request_report, wait_report
from hub.errors import InputError
from hub.finance.vat_store import parse_month
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.vat_reports import amazon_vat_lines, amazon_vat_reports

JOB = "vat-reports"
AVAILABLE_FROM_DAY = 3
BATCH = 2000


def month_of(moment: datetime) -> str:
    """``YYYY-MM`` of a moment (UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def is_closed(month: str, now: datetime) -> bool:
    """True from the 3rd of the month after ``month`` (UTC); ValueError for a malformed month."""
    _, end = parse_month(month)
    return now >= end.replace(day=AVAILABLE_FROM_DAY)


def closed_months(now: datetime, back_to: datetime) -> list[str]:
    """Closed months from ``back_to``'s month to the latest closed one, oldest first."""
    latest = now.astimezone(UTC).replace(day=1) - timedelta(days=1)  # in the previous month
    if now.astimezone(UTC).day < AVAILABLE_FROM_DAY:
        latest = latest.replace(day=1) - timedelta(days=1)
    months, cursor = [], latest
    while month_of(cursor) >= month_of(back_to):
        months.append(month_of(cursor))
        cursor = cursor.replace(day=1) - timedelta(days=1)
    return months[::-1] or [month_of(latest)]


def require_closed(month: str, now: datetime) -> None:
    """InputError (field ``month``) unless ``month`` is a closed ``YYYY-MM`` at ``now``."""
    try:
        closed = is_closed(month, now)
    except ValueError as err:
        raise InputError(str(err), "month") from err
    if not closed:
        raise InputError(
            f"{month} is not closed: Amazon's VAT reports of a month exist from the "
            f"{AVAILABLE_FROM_DAY}rd of the next month (UTC)",
            "month",
        )


def sync_vat_reports(ctx: JobContext, months: Sequence[str] | None = None) -> None:
    """Fetch the VAT reports of ``months`` (default: the closed months not fetched yet)."""
    now = ctx.now()
    for month in months or ():
        require_closed(month, now)
    wanted = (
        list(months)
        if months
        else closed_months(now, ctx.since or now - timedelta(days=ctx.settings.backfill_days))
    )
    markets = [m for m in ctx.account.marketplaces if m.region == "EU"]
    ctx.progress.plan(len(wanted) * len(markets) * len(REPORT_TYPES))
    for month in wanted:
        for market in markets:
            for report_type in REPORT_TYPES:
                _one(ctx, market, month, report_type)
                ctx.progress.step()


def fetch_months(
    engine: Engine,
    settings: AmazonSettings,
    account: Account,
    months: Sequence[str],
    secrets: SecretSource,
    clock: Callable[[], datetime] = utc_now,
) -> Tally:
    """Run the job for one account and the given months, outside the scheduler (the CLI)."""
    credentials = secrets.credentials(account.name, account.seller_id)
    limiter = Limiter(factor=settings.rate_factor)
    with SpApi(account, credentials, limiter, settings, threading.Event()) as api:
        ctx = JobContext(JOB, account, api, engine, settings, clock=clock)
        sync_vat_reports(ctx, months)
    return ctx.tally


def _one(ctx: JobContext, market: Marketplace, month: str, report_type: str) -> None:
    try:
        _fetch(ctx, market, month, report_type)
    except (AmazonApiError, ReportDataError) as err:
        report_id = err.report_id if isinstance(err, ReportDataError) else None
        with writing(ctx.engine) as tx:
            problem(
                tx.conn,
                tx.now,
                ctx.account.name,
                JOB,
                f"{month} {market.code} {report_type}: {err.message}",
                report_id,
            )
        ctx.counted(0, errors=1)


def _fetch(ctx: JobContext, market: Marketplace, month: str, report_type: str) -> None:
    key = (ctx.account.name, month, market.marketplace_id, report_type)
    with reading(ctx.engine) as conn:
        known = _status(conn, key)
    if known is not None and known[1] == "done":
        return
    report_id = known[0] if known is not None and known[1] == "requested" else None
    report = _waited(ctx, market, report_id) if report_id else None
    if report is None:
        report_id = _request(ctx, market, month, report_type, key)
        report = _waited(ctx, market, report_id)
    assert report_id is not None
    if report is None:  # FATAL
        with writing(ctx.engine) as tx:
            _set(tx.conn, key, report_id, "fatal", tx.now)
            problem(
                tx.conn,
                tx.now,
                ctx.account.name,
                JOB,
                f"{month} {market.code} {report_type}: report {report_id} ended FATAL",
                report_id,
            )
        ctx.counted(0, errors=1)
        return
    text = ""
    if report.get("processingStatus") == "DONE":
        text = download(ctx, market.marketplace_id, str(report["reportDocumentId"]), report_id)
    _store(ctx, key, report_id, text)


def _waited(ctx: JobContext, market: Marketplace, report_id: str) -> dict[str, Any] | None:
    """The finished report, or None when it ended FATAL or Amazon no longer has it."""
    try:
        return wait_report(ctx, market.marketplace_id, report_id)
    except AmazonApiError as err:
        if err.code in {"Fatal", "NotFound"}:
            return None
        raise


def _request(
    ctx: JobContext,
    market: Marketplace,
    month: str,
    report_type: str,
    key: tuple[str, str, str, str],
) -> str:
    start, end = parse_month(month)
    last = end - timedelta(seconds=1)
    report_id = request_report(ctx, market.marketplace_id, report_type, start, last)
    with writing(ctx.engine) as tx:
        _set(tx.conn, key, report_id, "requested", tx.now)
    return report_id


def _status(conn: Connection, key: tuple[str, str, str, str]) -> tuple[str, str] | None:
    t = amazon_vat_reports.c
    row = conn.execute(select(t.report_id, t.status).where(*_where(key))).first()
    return (row.report_id, row.status) if row else None


def _where(key: tuple[str, str, str, str]) -> list[Any]:
    t = amazon_vat_reports.c
    return [
        t.account == key[0],
        t.month == key[1],
        t.marketplace_id == key[2],
        t.report_type == key[3],
    ]


def _set(
    conn: Connection,
    key: tuple[str, str, str, str],
    report_id: str,
    status: str,
    now: datetime,
    lines: int = 0,
    problems: int = 0,
) -> None:
    conn.execute(delete(amazon_vat_reports).where(*_where(key)))
    account, month, marketplace_id, report_type = key
    conn.execute(
        amazon_vat_reports.insert().values(
            account=account,
            month=month,
            marketplace_id=marketplace_id,
            report_type=report_type,
            report_id=report_id,
            status=status,
            lines=lines,
            problems=problems,
            requested_at=now,
            fetched_at=now if status == "done" else None,
        )
    )


def _store(ctx: JobContext, key: tuple[str, str, str, str], report_id: str, text: str) -> None:
    parsed: VatFile | None = None
    problems: list[Problem] = []
    if text:
        try:
            parsed = parse_vat(text, key[3])
            problems = [
                *parsed.problems,
                *(Problem(1, f"unknown column {c!r} ignored") for c in parsed.unknown_columns),
            ]
        except FileFormatError as err:
            problems = [Problem(err.line, err.reason)]
    lines = parsed.lines if parsed else []
    with writing(ctx.engine) as tx:
        _set(tx.conn, key, report_id, "done", tx.now, len(lines), len(problems))
        _lines(tx, key, lines)
        for found in problems:
            problem(
                tx.conn,
                tx.now,
                ctx.account.name,
                JOB,
                f"account {ctx.account.name}, report {report_id}, line {found.line}: "
                f"{found.message}",
                report_id,
                found.line,
            )
    ctx.counted(len(lines) + len(problems), len(lines), 0, len(problems))


def _lines(tx: Tx, key: tuple[str, str, str, str], lines: list[VatLine]) -> None:
    account, month, marketplace_id, report_type = key
    tx.conn.execute(
        delete(amazon_vat_lines).where(
            amazon_vat_lines.c.account == account,
            amazon_vat_lines.c.month == month,
            amazon_vat_lines.c.marketplace_id == marketplace_id,
            amazon_vat_lines.c.report_type == report_type,
        )
    )
    rows = [
        {
            "account": account,
            "month": month,
            "marketplace_id": marketplace_id,
            "report_type": report_type,
            "line_no": v.line_no,
            "kind": v.kind,
            "order_id": v.order_id,
            "transaction_id": v.transaction_id,
            "sku": v.sku,
            "asin": v.asin,
            "quantity": v.quantity,
            "tax_date": v.tax_date,
            "currency": v.currency,
            "net": v.net,
            "vat": v.vat,
            "gross": v.gross,
            "rate": v.rate,
            "jurisdiction": v.jurisdiction,
            "depart_country": v.depart_country,
            "arrival_country": v.arrival_country,
            "invoice_number": v.invoice_number,
        }
        for v in lines
    ]
    for start in range(0, len(rows), BATCH):
        tx.conn.execute(amazon_vat_lines.insert(), rows[start : start + BATCH])
