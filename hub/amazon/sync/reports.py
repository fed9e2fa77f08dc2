"""Requested reports (Reports API 2021-06-30): create, wait, download, in resumable windows.

Rules:
- a report covers one marketplace and one window of at most ``span`` (60 days for the MFN
  returns report, as Amazon allows); windows run from the cursor (less an overlap) to now;
- the report id is stored in the cursor's state as soon as Amazon gives it, so a killed sync
  waits for that same report instead of asking again (Amazon's createReport quota is small);
- ``getReport`` is polled every ``report_poll_seconds``: DONE is downloaded, CANCELLED (Amazon's
  "no data") is an empty window, FATAL or a timeout is an error for that marketplace;
- the handler stores the rows and the moved cursor in one transaction; a document that cannot be
  read at all stops that marketplace (recorded as a problem with account, report id and line) and
  the cursor stays, so the window is tried again next time; the other marketplaces carry on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sp_api.base import ApiResponse

from hub.amazon.context import JobContext, iso, parse_iso
from hub.amazon.errors import AmazonApiError, ReportDataError
from hub.amazon.marketplaces import Marketplace
from hub.amazon.store import problem
from hub.amazon.sync import cursors
from hub.storage.engine import reading, writing

Handler = Callable[[JobContext, Marketplace, str, str, cursors.Cursor], None]
EMPTY = ""


def sync_windows(ctx: JobContext, report_type: str, span: timedelta, handle: Handler) -> None:
    """Fetch ``report_type`` for every marketplace, window by window, through ``handle``."""
    for market in ctx.account.marketplaces:
        try:
            _marketplace(ctx, market, report_type, span, handle)
        except (AmazonApiError, ReportDataError) as err:
            report_id = err.report_id if isinstance(err, ReportDataError) else None
            line = err.line if isinstance(err, ReportDataError) else None
            with writing(ctx.engine) as tx:
                problem(tx.conn, tx.now, ctx.account.name, ctx.job, err.message, report_id, line)
            ctx.counted(0, errors=1)


def _marketplace(
    ctx: JobContext, market: Marketplace, report_type: str, span: timedelta, handle: Handler
) -> None:
    with reading(ctx.engine) as conn:
        cursor = cursors.load(conn, ctx.account.name, ctx.job, market.marketplace_id)
    overlap = timedelta(days=ctx.settings.returns_overlap_days)
    position = cursors.start_from(
        cursor.position, ctx.since, ctx.now(), ctx.settings.backfill_days, overlap
    )
    end = ctx.now()
    ctx.progress.plan(max(1, math.ceil((end - position) / span)))
    while position < end:
        report_id, stop, cursor = _report_for(
            ctx, market, report_type, cursor, position, min(position + span, end)
        )
        text = _finished(ctx, market, report_id, cursor.state.get("remembered") == "1")
        if text is None:  # a remembered report Amazon no longer has: ask again
            cursor = cursor.moved(
                cursor.position, start=None, end=None, report_id=None, remembered=None
            )
            continue
        handle(
            ctx,
            market,
            report_id,
            text,
            cursor.moved(stop, start=None, end=None, report_id=None, remembered=None),
        )
        cursor = cursor.moved(stop, start=None, end=None, report_id=None, remembered=None)
        position = stop
        ctx.progress.step()


def _report_for(
    ctx: JobContext,
    market: Marketplace,
    report_type: str,
    cursor: cursors.Cursor,
    start: datetime,
    end: datetime,
) -> tuple[str, datetime, cursors.Cursor]:
    state = cursor.state
    if state.get("start") == iso(start) and state.get("report_id"):
        return (
            str(state["report_id"]),
            parse_iso(state["end"]),
            cursor.moved(cursor.position, remembered="1"),
        )
    report_id = request_report(ctx, market.marketplace_id, report_type, start, end)
    cursor = cursor.moved(
        cursor.position, start=iso(start), end=iso(end), report_id=report_id, remembered=None
    )
    with writing(ctx.engine) as tx:
        cursors.save(tx.conn, cursor, tx.now)
    return report_id, end, cursor


def request_report(
    ctx: JobContext, marketplace_id: str, report_type: str, start: datetime, end: datetime
) -> str:
    """``createReport`` for one marketplace and window; Amazon's report id."""
    response = ctx.api.call(
        "createReport",
        marketplace_id,
        _create(
            reportType=report_type,
            marketplaceIds=[marketplace_id],
            dataStartTime=iso(start),
            dataEndTime=iso(end),
        ),
    )
    return str(response.payload["reportId"])


def _create(**body: Any) -> Callable[[Any], ApiResponse]:
    return lambda client: client.create_report(**body)


def _finished(ctx: JobContext, market: Marketplace, report_id: str, remembered: bool) -> str | None:
    """The report's text once DONE ("" when CANCELLED); None if a remembered one is gone."""
    try:
        report = wait_report(ctx, market.marketplace_id, report_id)
    except AmazonApiError as err:
        if remembered and err.code in {"NotFound", "Fatal"}:
            return None
        raise
    if report["processingStatus"] == "CANCELLED":
        return EMPTY
    return download(ctx, market.marketplace_id, str(report["reportDocumentId"]), report_id)


def wait_report(ctx: JobContext, marketplace_id: str, report_id: str) -> dict[str, Any]:
    """Poll ``getReport`` until DONE or CANCELLED; AmazonApiError for FATAL or a timeout."""
    deadline = ctx.now() + timedelta(seconds=ctx.settings.report_timeout_seconds)
    while True:
        report: dict[str, Any] = ctx.api.call(
            "getReport", marketplace_id, lambda client: client.get_report(report_id)
        ).payload
        status = report.get("processingStatus")
        if status in {"DONE", "CANCELLED"}:
            return report
        if status == "FATAL":
            raise AmazonApiError(
                f"account {ctx.account.name}: report {report_id} ended FATAL",
                ctx.account.name,
                "Fatal",
            )
        if ctx.now() > deadline:
            raise AmazonApiError(
                f"account {ctx.account.name}: report {report_id} still "
                f"{status} after {ctx.settings.report_timeout_seconds:.0f}s",
                ctx.account.name,
                "Timeout",
            )
        ctx.api.wait(ctx.settings.report_poll_seconds)


def download(ctx: JobContext, marketplace_id: str, document_id: str, report_id: str) -> str:
    """A report document's text (decompressed and decoded by its charset)."""
    response = ctx.api.call(
        "getReportDocument",
        marketplace_id,
        lambda client: client.get_report_document(document_id, download=True),
    )
    document = response.payload.get("document")
    if not isinstance(document, str):
        charset = getattr(response, "character_code", None) or "its declared charset"
        raise ReportDataError(
            f"the document is not valid {charset} text", ctx.account.name, report_id
        )
    return document
