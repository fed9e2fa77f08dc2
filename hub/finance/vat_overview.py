"""The imported VAT reports month by month: what was fetched and how its refunds matched, for
the desk's Exports view, ``GET /api/finance/vat-reports/months`` and
``acorn-hub finance vat-reports``.

Rules:
- a month of an account is listed when the ``vat-reports`` job recorded a report of it
  (``amazon_vat_reports``, any status), newest month first, at most ``limit`` months
  (``MAX_MONTHS``) per call;
- each month is ``vat_store.month_view`` summed up: its reports (marketplace, type, status,
  lines, problems), per report type the refund lines matched exactly, matched with a
  difference (amount, VAT or currency) and unmatched either way, and the unmatched refund lines
  listed (Amazon's rows ACORN does not know, ACORN's refund lines missing from the report);
- read only; no personal data (order ids, SKUs, store and refund ids, amounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, select

from hub.finance.vat_match import VatMatch
from hub.finance.vat_store import FetchedReport, money_text, month_view
from hub.storage.tables.vat_reports import amazon_vat_reports

MAX_MONTHS = 60
Side = Literal["only_amazon", "only_acorn"]


@dataclass(frozen=True, slots=True)
class Unmatched:
    """One refund line found on one side only."""

    report_type: str
    side: Side
    order_id: str
    sku: str
    gross: str
    currency: str
    refund: str  # ACORN's store/refund id, or Amazon's transaction id


@dataclass(frozen=True, slots=True)
class TypeCounts:
    """One report type's refund lines of a month, counted by outcome."""

    report_type: str
    matched: int
    differing: int
    only_amazon: int
    only_acorn: int


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """One account's month of VAT reports."""

    account: str
    month: str
    reports: list[FetchedReport]
    counts: list[TypeCounts]
    unmatched: list[Unmatched]

    @property
    def status(self) -> str:
        """``done`` when every report is in, else the first other status (``requested``…)."""
        other = sorted({r.status for r in self.reports} - {"done"})
        return other[0] if other else "done"


def months(conn: Connection, account: str | None = None, limit: int = 12) -> list[MonthSummary]:
    """The newest ``limit`` months with a recorded report (of ``account``, or every account)."""
    t = amazon_vat_reports.c
    query = select(t.account, t.month).distinct().order_by(t.month.desc(), t.account)
    if account is not None:
        query = query.where(t.account == account)
    chosen = conn.execute(query.limit(max(1, min(limit, MAX_MONTHS)))).all()
    return [summary(conn, row.account, row.month) for row in chosen]


def summary(conn: Connection, account: str, month: str) -> MonthSummary:
    """One month of one account, summed up (module rules)."""
    view = month_view(conn, account, month)
    counts = [_counts(kind, match) for kind, match in view.matches.items()]
    unmatched = [u for kind, match in view.matches.items() for u in _unmatched(kind, match)]
    return MonthSummary(account, month, view.reports, counts, unmatched)


def _counts(kind: str, match: VatMatch) -> TypeCounts:
    exact = match.count("matched")
    return TypeCounts(
        kind, exact, len(match.pairs) - exact, len(match.only_amazon), len(match.only_acorn)
    )


def _unmatched(kind: str, match: VatMatch) -> list[Unmatched]:
    found = [
        Unmatched(kind, "only_amazon", a.order_id, a.sku, money_text(a.gross), a.currency,
                  a.transaction_id)
        for a in match.only_amazon
    ]
    found += [
        Unmatched(kind, "only_acorn", a.order_id, a.sku, money_text(a.gross), a.currency,
                  f"{a.store_id}/{a.refund_id}")
        for a in match.only_acorn
    ]
    return found


def summary_json(s: MonthSummary) -> dict[str, Any]:
    """A month as plain JSON-able values."""
    return {
        "account": s.account,
        "month": s.month,
        "status": s.status,
        "reports": [
            {
                "marketplace_id": r.marketplace_id,
                "report_type": r.report_type,
                "status": r.status,
                "lines": r.lines,
                "problems": r.problems,
                "fetched_at": r.fetched_at.isoformat() if r.fetched_at else None,
            }
            for r in s.reports
        ],
        "counts": [
            {
                "report_type": c.report_type,
                "matched": c.matched,
                "differing": c.differing,
                "only_amazon": c.only_amazon,
                "only_acorn": c.only_acorn,
            }
            for c in s.counts
        ],
        "unmatched": [
            {
                "report_type": u.report_type,
                "side": u.side,
                "order_id": u.order_id,
                "sku": u.sku,
                "gross": u.gross,
                "currency": u.currency,
                "refund": u.refund,
            }
            for u in s.unmatched
        ],
    }
