"""The settlements sync: V2 flat-file settlement reports, listed (never requested) and parsed.

Rules:
- per marketplace, ``getReports`` lists ``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` reports
  in DONE created since the cursor (less a day; Amazon keeps reports 90 days), following
  ``nextToken`` (sent alone, as the API requires);
- a report already stored is never downloaded again (settlements do not change);
- a new one is downloaded, parsed by header name (``settlement_file``), and stored with its
  lines (made from the parsed columns, ``BATCH`` at a time, no row object built), its problems
  (account, report id, line) and the settled refunds it proves, in one transaction; a file
  that cannot be read at all is stored as a report with no lines and one problem, so it is
  reported once rather than fetched forever;
- each new settlement is reconciled in the same transaction (``hub.finance.settlements``): its
  status (reconciled, or differences to resolve) is recorded and audited at once;
- the cursor then moves to the listing's time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sp_api.base import ApiResponse
from sqlalchemy import select

from hub.amazon.context import JobContext, iso
from hub.amazon.files.flatfile import FileFormatError, Problem
from hub.amazon.files.settlement import SettlementFile, SettlementLines, parse_settlement
from hub.amazon.marketplaces import Marketplace
from hub.amazon.refunds.matching import settle_pending
from hub.amazon.store import problem
from hub.amazon.sync import cursors
from hub.amazon.sync.reports import download
from hub.finance.settlements import store as reconciliation
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.amazon import amazon_settlement_lines, amazon_settlement_reports

JOB = "settlements"
REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
RETENTION = timedelta(days=89)
OVERLAP = timedelta(days=1)
BATCH = 2000
STORED_TEXTS = ("settlement-id", "transaction-type", "order-id", "adjustment-id",
                "merchant-adjustment-item-id", "amount-type", "amount-description", "sku",
                "order-item-code")  # fmt: skip


def sync_settlements(ctx: JobContext) -> None:
    """Store every new settlement report of every marketplace of the account."""
    for market in ctx.account.marketplaces:
        _marketplace(ctx, market)


def _marketplace(ctx: JobContext, market: Marketplace) -> None:
    with reading(ctx.engine) as conn:
        cursor = cursors.load(conn, ctx.account.name, JOB, market.marketplace_id)
    now = ctx.now()
    since = max(
        cursors.start_from(cursor.position, ctx.since, now, ctx.settings.backfill_days, OVERLAP),
        now - RETENTION,
    )
    listed = _listed(ctx, market, since)
    with reading(ctx.engine) as conn:
        known = set(
            conn.execute(
                select(amazon_settlement_reports.c.report_id).where(
                    amazon_settlement_reports.c.account == ctx.account.name
                )
            ).scalars()
        )
    fresh = sorted(
        (r for r in listed if r["reportId"] not in known),
        key=lambda r: (r.get("createdTime", ""), r["reportId"]),
    )
    ctx.progress.plan(len(fresh))
    for report in fresh:
        _report(ctx, market, report)
        ctx.progress.step()
    with writing(ctx.engine) as tx:
        cursors.save(tx.conn, cursor.moved(now), tx.now)


def _listed(ctx: JobContext, market: Marketplace, since: datetime) -> list[dict[str, Any]]:
    # No createdUntil: Amazon's default (now) also lists a report published while we ask.
    query: dict[str, Any] = {
        "reportTypes": [REPORT_TYPE],
        "processingStatuses": ["DONE"],
        "marketplaceIds": [market.marketplace_id],
        "pageSize": 100,
        "createdSince": iso(since),
    }
    found: list[dict[str, Any]] = []
    while True:
        page = ctx.api.call("getReports", market.marketplace_id, _get_reports(query))
        found += page.payload.get("reports") or []
        if not page.next_token:
            return found
        query = {"nextToken": page.next_token}


def _get_reports(query: dict[str, Any]) -> Callable[[Any], ApiResponse]:
    return lambda client: client.get_reports(**query)


def _report(ctx: JobContext, market: Marketplace, report: dict[str, Any]) -> None:
    report_id = str(report["reportId"])
    text = download(ctx, market.marketplace_id, str(report["reportDocumentId"]), report_id)
    parsed: SettlementFile | None = None
    try:
        parsed = parse_settlement(text, market.decimal_comma)
        problems = [
            *parsed.problems,
            *(Problem(1, f"unknown column {c!r} ignored") for c in parsed.unknown_columns),
        ]
    except FileFormatError as err:
        problems = [Problem(err.line, err.reason)]
    with writing(ctx.engine) as tx:
        store_report(tx, ctx.account.name, market, report_id, parsed, len(problems))
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
        settle_pending(tx, ctx.account)
        if parsed is not None and parsed.summary.settlement_id:
            # reconciled at once: its status (and any difference) is on the desk without a click
            result, _lines = reconciliation.reconcile(tx.conn, parsed.summary.settlement_id)
            reconciliation.record(tx, result, ctx.account.actor, "amazon")
    lines = len(parsed.lines) if parsed else 0
    ctx.counted(lines + len(problems), lines, 0, len(problems))


def store_report(
    tx: Tx,
    account: str,
    market: Marketplace,
    report_id: str,
    parsed: SettlementFile | None,
    problems: int,
) -> None:
    """Store one settlement report and its lines (read column by column, no row built)."""
    summary = parsed.summary if parsed else None
    currency = summary.currency if summary else market.currency
    tx.conn.execute(
        amazon_settlement_reports.insert().values(
            account=account,
            report_id=report_id,
            settlement_id=summary.settlement_id if summary else "",
            marketplace_id=market.marketplace_id,
            start_at=summary and summary.start,
            end_at=summary and summary.end,
            deposit_at=summary and summary.deposit,
            total=summary and summary.total,
            currency=currency,
            lines=len(parsed.lines) if parsed else 0,
            problems=problems,
            first_seen_at=tx.now,
        )
    )
    lines = parsed.lines if parsed else SettlementLines.of([])
    for start in range(0, len(lines), BATCH):
        rows = _line_rows(account, report_id, currency, lines[start : start + BATCH])
        tx.conn.execute(amazon_settlement_lines.insert(), rows)


def _line_rows(
    account: str, report_id: str, currency: str, lines: SettlementLines
) -> list[dict[str, Any]]:
    """The stored form of settlement lines, made from their columns."""
    columns = (
        lines.line_numbers(), *(lines.column(name) for name in STORED_TEXTS), lines.amounts(),
        lines.posted_times(), lines.quantities(),
    )  # fmt: skip
    return [
        {"account": account, "report_id": report_id, "line_no": n, "settlement_id": settlement,
         "transaction_type": kind, "order_id": order, "adjustment_id": adjustment,
         "merchant_adjustment_item_id": merchant, "amount_type": amount_type,
         "amount_description": description, "amount": amount, "currency": currency,
         "posted_at": at, "sku": sku, "quantity": quantity, "order_item_code": item}
        for (n, settlement, kind, order, adjustment, merchant, amount_type, description, sku,
             item, amount, at, quantity) in zip(*columns, strict=True)
    ]  # fmt: skip
