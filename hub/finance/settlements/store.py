"""Stored settlements reconciled: read through ``hub.storage``, statuses and resolutions kept.

Rules:
- settlements, their lines and Amazon's refund events are read from the tables the Amazon sync
  wrote (``hub.storage.tables.amazon``); ACORN's refunds are the submissions Amazon confirmed
  (``confirmed`` or ``settled``) with their refund's event;
- ``reconcile`` computes a settlement's reconciliation (nothing written); ``record`` keeps its
  status: ``differences`` while any difference is unresolved or the deposit does not add up
  (its ``deposit`` difference unresolved), else ``reconciled``; a status that changes is audited
  (``settlement.status``, before and after);
- ``resolve``: one difference of the current table, once, with a note; audited
  (``settlement.difference.resolved``) and the status recorded again in the same transaction;
- the account mapping is a versioned document (``settlement_accounts.published``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, select

from hub.errors import Conflict, InputError, NotFound
from hub.finance.settlements.accounting import (
    AccountMap,
    AccountMapError,
    Summary,
    default_accounts_text,
    load_accounts_yaml,
    summarize,
)
from hub.finance.settlements.model import ZERO, Line, RefundItem, Report, Settlement, Status
from hub.finance.settlements.reconcile import (
    REFUND,
    Reconciliation,
    component_of,
    dedupe,
    holds_reserve,
)
from hub.finance.settlements.reconcile import reconcile as reconcile_lines
from hub.storage.audit_chain import AuditDraft, Json
from hub.storage.documents import VersionedDocuments
from hub.storage.engine import Tx
from hub.storage.tables.amazon import (
    amazon_orders,
    amazon_refund_events,
    amazon_refund_submissions,
    amazon_settlement_lines,
    amazon_settlement_reports,
)
from hub.storage.tables.finance_settlements import (
    settlement_accounts,
    settlement_resolutions,
    settlement_status,
)
from protocol.money import minor_units

CONFIRMED = ("confirmed", "settled")
STATUS, RESOLVED = "settlement.status", "settlement.difference.resolved"
NOTE_MAX = 2000

ACCOUNTS: VersionedDocuments[AccountMap] = VersionedDocuments(
    settlement_accounts, "settlement_accounts.published", load_accounts_yaml,
    default_accounts_text, lambda message: AccountMapError.at("version", message),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Listed:
    """One settlement in the list, with its recorded status."""

    settlement: Settlement
    status: Status
    differences: int
    unresolved: int
    gap: Decimal | None


def exact(amount: Decimal, currency: str) -> Decimal:
    """An amount as the currency writes it (PostgreSQL gives 4 places: 15.0000 is 15.00)."""
    unit = Decimal(1).scaleb(-minor_units(currency)) if len(currency) == 3 else Decimal("0.01")
    short = amount.quantize(unit)
    return short if short == amount else amount


def _report(row: Any) -> Report:
    total = None if row.total is None else exact(row.total, row.currency)
    return Report(row.account, row.report_id, row.settlement_id, row.marketplace_id, row.currency,
                  row.start_at, row.end_at, row.deposit_at, total, row.lines,
                  row.first_seen_at)  # fmt: skip


def settlements(conn: Connection) -> list[Settlement]:
    """Every stored settlement, once each (oldest deposit first)."""
    return dedupe(_report(r) for r in conn.execute(select(amazon_settlement_reports)))


def settlement(conn: Connection, settlement_id: str) -> Settlement:
    """One settlement; NotFound if no report holds it."""
    rows = conn.execute(select(amazon_settlement_reports).where(
        amazon_settlement_reports.c.settlement_id == settlement_id)).all()  # fmt: skip
    found = dedupe(_report(r) for r in rows)
    if not found:
        raise NotFound(f"no settlement {settlement_id}")
    return found[0]


def listing(conn: Connection) -> list[Listed]:
    """Every settlement with its status (``open`` until reconciled)."""
    recorded = {r.settlement_id: r for r in conn.execute(select(settlement_status))}
    found = []
    for s in settlements(conn):
        row = recorded.get(s.settlement_id)
        if row is None:
            found.append(Listed(s, Status.OPEN, 0, 0, None))
        else:
            gap = exact(row.gap, row.currency)
            found.append(Listed(s, Status(row.status), row.differences, row.unresolved, gap))
    return found


def lines(conn: Connection, report: Report) -> list[Line]:
    """The settlement lines of one report, in file order."""
    t = amazon_settlement_lines.c
    query = (select(t.line_no, t.transaction_type, t.order_id, t.adjustment_id,
                    t.merchant_adjustment_item_id, t.sku, t.amount_type, t.amount_description,
                    t.amount, t.posted_at)
             .where(t.account == report.account, t.report_id == report.report_id)
             .order_by(t.line_no))  # fmt: skip
    exacts: dict[Decimal, Decimal] = {}  # amounts repeat: each is made exact once
    found = []
    for n, kind, order, adjustment, merchant, sku, a_type, text, amount, at in conn.execute(query):
        short = exacts.get(amount)
        if short is None:
            short = exacts[amount] = exact(amount, report.currency)
        found.append(Line(n, kind, order, adjustment, merchant, sku, a_type, text, short, at))
    return found


def refund_items(conn: Connection, account: str, currency: str) -> list[RefundItem]:
    """ACORN's refunds of the account Amazon confirmed, one per adjusted item."""
    s = amazon_refund_submissions.c
    subs = conn.execute(select(s.store_id, s.refund_id, s.order_id, s.currency, s["items"]).where(
        s.account == account, s.currency == currency, s.status.in_(CONFIRMED))).all()  # fmt: skip
    if not subs:
        return []
    e = amazon_refund_events.c
    events = {
        (r.order_id, r.adjustment_item_id): r
        for r in conn.execute(
            select(e.order_id, e.adjustment_item_id, e.sku, e.posted_at, e.charges)
            .join_from(amazon_refund_events, amazon_refund_submissions, and_(
                s.account == e.account, s.order_id == e.order_id))
            .where(e.account == account, s.status.in_(CONFIRMED))
        )
    }  # fmt: skip
    skus = _skus(conn, account, {sub.order_id for sub in subs if _needs_sku(sub, events)})
    return [
        _item(sub, item, events.get((sub.order_id, str(item.get("adjustment_id") or ""))), skus)
        for sub in subs
        for item in sub.items
    ]


def _needs_sku(sub: Any, events: dict[tuple[str, str], Any]) -> bool:
    return any((sub.order_id, str(i.get("adjustment_id") or "")) not in events for i in sub.items)


def _skus(conn: Connection, account: str, orders: set[str]) -> dict[tuple[str, str], str]:
    if not orders:
        return {}
    o = amazon_orders.c
    found = {}
    for row in conn.execute(select(o.order_id, o["items"]).where(
            o.account == account, o.order_id.in_(orders))):  # fmt: skip
        for item in row.items or []:
            found[(row.order_id, str(item.get("order_item_id")))] = str(item.get("sku") or "")
    return found


def _item(sub: Any, item: dict[str, Any], event: Any, skus: dict[tuple[str, str], str]
          ) -> RefundItem:  # fmt: skip
    components: dict[str, Decimal] = {}
    if event is not None:
        for kind, amount in event.charges:
            name = kind if kind != "Principal" else "_event_principal"
            components[name] = components.get(name, ZERO) + Decimal(amount)
        components.pop("_event_principal", None)
    components["Principal"] = -Decimal(str(item["principal"]))  # what ACORN refunded
    components = _folded(components)
    sku = (
        event.sku if event is not None else skus.get((sub.order_id, str(item["order_item_id"])), "")
    )
    return RefundItem(
        sub.store_id, sub.refund_id, str(item["merchant_item_id"]), sub.order_id, sku,
        str(item.get("adjustment_id") or ""), sub.currency,
        event.posted_at if event is not None else None, components,
    )  # fmt: skip


def _folded(components: dict[str, Decimal]) -> dict[str, Decimal]:
    """Components other than the five compared are summed under ``Other``."""
    folded: dict[str, Decimal] = {}
    for name, amount in components.items():
        key = component_of(name)
        folded[key] = folded.get(key, ZERO) + amount
    return folded


def _elsewhere(conn: Connection, s: Settlement) -> frozenset[str]:
    t = amazon_settlement_lines.c
    rows = conn.execute(select(t.merchant_adjustment_item_id, t.adjustment_id).where(
        t.account == s.report.account, t.transaction_type == REFUND,
        t.settlement_id != s.settlement_id)).all()  # fmt: skip
    return frozenset(v for row in rows for v in row if v)


def _previous_reserve(conn: Connection, s: Settlement) -> bool:
    earlier = [
        other for other in settlements(conn)
        if other.report.account == s.report.account and other.report.currency == s.report.currency
        and other.report.end is not None and s.report.start is not None
        and other.report.end <= s.report.start
    ]  # fmt: skip
    if not earlier:
        return False
    previous = max(earlier, key=lambda o: o.report.end or o.report.first_seen_at)
    return holds_reserve(lines(conn, previous.report))


def reconcile(conn: Connection, settlement_id: str) -> tuple[Reconciliation, list[Line]]:
    """A settlement's reconciliation now, and its lines (nothing written)."""
    s = settlement(conn, settlement_id)
    found = lines(conn, s.report)
    items = refund_items(conn, s.report.account, s.report.currency)
    result = reconcile_lines(s, found, items, _elsewhere(conn, s), _previous_reserve(conn, s))
    return result, found


def summary(conn: Connection, settlement: Settlement, found: Iterable[Line]) -> Summary:
    """The accounting summary under the active mapping."""
    return summarize(found, ACCOUNTS.active(conn), settlement.report.deposit_at)


def resolutions(conn: Connection, settlement_id: str) -> dict[str, dict[str, Any]]:
    """Who resolved which difference of the settlement, by difference key."""
    t = settlement_resolutions.c
    return {
        row["difference_key"]: dict(row)
        for row in conn.execute(select(settlement_resolutions).where(
            t.settlement_id == settlement_id)).mappings()
    }  # fmt: skip


def record(tx: Tx, result: Reconciliation, actor: str, role: str) -> Status:
    """Keep the settlement's status after a reconciliation; audited when it changes."""
    s = result.settlement
    done = resolutions(tx.conn, s.settlement_id)
    unresolved = sum(1 for d in result.differences if d.key not in done)
    status = Status.DIFFERENCES if unresolved else Status.RECONCILED
    row = tx.conn.execute(select(settlement_status).where(
        settlement_status.c.settlement_id == s.settlement_id)).first()  # fmt: skip
    values = {"account": s.report.account, "currency": s.report.currency, "status": status.value,
              "differences": len(result.differences), "unresolved": unresolved,
              "gap": result.deposit.gap, "reconciled_by": actor, "reconciled_at": tx.now,
              "updated_at": tx.now}  # fmt: skip
    if row is None:
        tx.conn.execute(settlement_status.insert().values(settlement_id=s.settlement_id, **values))
        before: dict[str, Json] = {"status": Status.OPEN.value}
    else:
        tx.conn.execute(settlement_status.update().where(
            settlement_status.c.settlement_id == s.settlement_id).values(**values))  # fmt: skip
        before = {"status": row.status, "differences": row.differences,
                  "unresolved": row.unresolved, "gap": format(row.gap, "f")}  # fmt: skip
    after: dict[str, Json] = {"status": status.value, "differences": len(result.differences),
             "unresolved": unresolved, "gap": format(result.deposit.gap, "f")}  # fmt: skip
    if before != after:
        tx.audit(
            AuditDraft(
                actor,
                role,
                STATUS,
                "settlement",
                s.settlement_id,
                before,
                after,
                f"reconciled: {len(result.differences)} differences, "
                f"{unresolved} unresolved, deposit gap {result.deposit.gap}",
            )
        )
    return status


def resolve(tx: Tx, settlement_id: str, key: str, note: str, actor: str, role: str) -> Status:
    """Resolve one difference with a note; the settlement's status follows."""
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise InputError(f"a resolution needs a note of 1 to {NOTE_MAX} characters", "note")
    result, _ = reconcile(tx.conn, settlement_id)
    difference = next((d for d in result.differences if d.key == key), None)
    if difference is None:
        raise NotFound(f"settlement {settlement_id} has no difference {key!r}")
    if key in resolutions(tx.conn, settlement_id):
        raise Conflict(f"difference {key!r} of settlement {settlement_id} is already resolved")
    tx.conn.execute(settlement_resolutions.insert().values(
        settlement_id=settlement_id, difference_key=key, kind=difference.kind.value, note=note,
        resolved_by=actor, role=role, resolved_at=tx.now))  # fmt: skip
    tx.audit(AuditDraft(actor, role, RESOLVED, "settlement", f"{settlement_id}/{key}", None,
                        {"kind": difference.kind.value, "refund": difference.refund,
                         "order_id": difference.order_id, "note": note}, note))  # fmt: skip
    return record(tx, result, actor, role)
