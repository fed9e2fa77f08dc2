"""Reconciling one settlement (pure): deduplication, refund matching, the deposit check.

Rules:
- ``dedupe``: one ``Settlement`` per ``settlement-id``; the report read is the one with lines
  seen first (then by report id), every other report of the id is a repeat, reported, never
  counted;
- refund lines (``transaction-type`` Refund) are grouped per adjusted item by (order id, SKU,
  adjustment id) and matched to ACORN's items on that key; a group with no adjustment id, or
  none that matches, is tried on (order id, ``merchant-adjustment-item-id``) = ACORN's
  merchant item id (what ACORN sent Amazon);
- an item matched with equal components is fine; with any component different it is
  ``amounts_differ``; a group no item matches is ``unknown_to_acorn``; an item posted in the
  settlement's period that no settlement holds is ``not_settled`` (items posted in another
  period, or held by another settlement, are that settlement's business);
- ACORN's components: the Principal ACORN refunded, the rest as Amazon confirmed them in its
  refund event; an item whose event was never read compares its Principal only;
- the deposit check: the lines must add up to ``total-amount``; when they do not, and the
  settlement has no reserve or loan lines, those are flagged as likely missing (as A2X does); a
  reserve the previous settlement held (``Current Reserve Amount``) must come back as
  ``Previous Reserve Amount Balance``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hub.finance.settlements.model import (
    COMPONENTS,
    OTHER,
    ZERO,
    DepositCheck,
    Difference,
    Kind,
    Line,
    RefundItem,
    Report,
    Settlement,
)

REFUND = "Refund"
PREVIOUS_RESERVE = "previous reserve amount balance"
CURRENT_RESERVE = "current reserve amount"
Key = tuple[str, str, str]


@dataclass(slots=True)
class _Group:
    """The refund lines of one adjusted item."""

    order_id: str
    sku: str
    adjustment_id: str
    merchant_item_id: str
    components: dict[str, Decimal] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A settlement's difference table and deposit check."""

    settlement: Settlement
    differences: tuple[Difference, ...]
    deposit: DepositCheck
    refund_lines: int
    matched: int


def dedupe(reports: Iterable[Report]) -> list[Settlement]:
    """One settlement per settlement id, oldest deposit first; repeats kept aside."""
    by_id: dict[str, list[Report]] = {}
    for report in reports:
        if report.settlement_id:  # "" is a file that could not be read at all
            by_id.setdefault(report.settlement_id, []).append(report)
    found = []
    for group in by_id.values():
        group.sort(key=lambda r: (r.lines == 0, r.first_seen_at, r.report_id))
        found.append(Settlement(group[0], tuple(group[1:])))
    return sorted(found, key=_order)


def _order(s: Settlement) -> tuple[datetime | str, str]:
    return (s.report.deposit_at or s.report.end or s.report.first_seen_at, s.settlement_id)


def component_of(description: str) -> str:
    """The compared component an amount description belongs to."""
    return description if description in COMPONENTS else OTHER


def refund_groups(lines: Iterable[Line]) -> list[_Group]:
    """The refund lines grouped per adjusted item, in file order."""
    groups: dict[tuple[str, str, str, str], _Group] = {}
    for line in lines:
        if line.transaction_type != REFUND:
            continue
        key = (line.order_id, line.sku, line.adjustment_id, line.merchant_adjustment_item_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(*key)
        name = component_of(line.amount_description)
        group.components[name] = group.components.get(name, ZERO) + line.amount
        group.lines.append(line.line_no)
    return list(groups.values())


def item_key(item: RefundItem) -> Key:
    """How a settlement names ACORN's item."""
    return (item.order_id, item.sku, item.adjustment_id)


def reconcile(
    settlement: Settlement,
    lines: Sequence[Line],
    items: Iterable[RefundItem],
    elsewhere: frozenset[str] = frozenset(),
    previous_reserve: bool = False,
) -> Reconciliation:
    """The settlement against ACORN's items (``elsewhere``: the merchant adjustment item ids and
    adjustment ids other settlements' refund lines hold; ``previous_reserve``: the previous
    settlement held a reserve)."""
    groups = refund_groups(lines)
    by_key: dict[Key, RefundItem] = {}
    by_merchant: dict[tuple[str, str], RefundItem] = {}
    for item in items:
        if item.adjustment_id:
            by_key[item_key(item)] = item
        by_merchant[(item.order_id, item.merchant_item_id)] = item
    taken: set[str] = set()
    differences: list[Difference] = []
    for group in groups:
        match = by_key.get((group.order_id, group.sku, group.adjustment_id)) or by_merchant.get(
            (group.order_id, group.merchant_item_id)
        )
        if match is None or match.merchant_item_id in taken:
            differences.append(_unknown(group))
            continue
        taken.add(match.merchant_item_id)
        found = _compared(match, group)
        if found is not None:
            differences.append(found)
    report = settlement.report
    for item in {id(i): i for i in [*by_key.values(), *by_merchant.values()]}.values():
        if (
            item.merchant_item_id in taken
            or {item.merchant_item_id, item.adjustment_id} & elsewhere
        ):
            continue
        if _in_period(item.posted_at, report.start, report.end):
            differences.append(_not_settled(item))
    deposit = deposit_check(report.total, lines, previous_reserve)
    if not deposit.adds_up:
        differences.append(_deposit(deposit))
    return Reconciliation(settlement, tuple(differences), deposit, len(groups), len(taken))


def _in_period(at: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if at is None or start is None or end is None:
        return False
    return start <= at < end


def _acorn(item: RefundItem) -> dict[str, Decimal]:
    return {name: item.components.get(name, ZERO) for name in (*COMPONENTS, OTHER)}


def _compared(item: RefundItem, group: _Group) -> Difference | None:
    names = (*COMPONENTS, OTHER) if _complete(item) else ("Principal",)
    ours = _acorn(item)
    if all(ours[n] == group.components.get(n, ZERO) for n in names):
        return None
    differing = [n for n in names if ours[n] != group.components.get(n, ZERO)]
    return Difference(
        f"amounts:{group.order_id}:{group.sku}:{group.adjustment_id}", Kind.AMOUNTS,
        group.order_id, group.sku, group.adjustment_id, f"{item.store_id}/{item.refund_id}",
        ours, _full(group.components), tuple(group.lines), "differ: " + ", ".join(differing),
    )  # fmt: skip


def _complete(item: RefundItem) -> bool:
    """Whether ACORN knows every component (its refund event was read), not only Principal."""
    return len(item.components) > 1 or "Principal" not in item.components


def _full(components: dict[str, Decimal]) -> dict[str, Decimal]:
    return {name: components.get(name, ZERO) for name in (*COMPONENTS, OTHER)}


def _unknown(group: _Group) -> Difference:
    return Difference(
        f"unknown:{group.order_id}:{group.sku}:{group.adjustment_id or group.merchant_item_id}",
        Kind.UNKNOWN, group.order_id, group.sku, group.adjustment_id, "", _full({}),
        _full(group.components), tuple(group.lines),
        f"merchant adjustment item {group.merchant_item_id}" if group.merchant_item_id else "",
    )  # fmt: skip


def _not_settled(item: RefundItem) -> Difference:
    return Difference(
        f"not_settled:{item.store_id}/{item.refund_id}:{item.merchant_item_id}",
        Kind.NOT_SETTLED, item.order_id, item.sku, item.adjustment_id,
        f"{item.store_id}/{item.refund_id}", _acorn(item), _full({}), (),
        "posted in the settlement's period, in no settlement",
    )  # fmt: skip


def _deposit(check: DepositCheck) -> Difference:
    return Difference(
        "deposit", Kind.DEPOSIT, "", "", "", "", {}, {}, (),
        f"deposit {check.deposit}, lines {check.lines_total}, gap {check.gap}; "
        + ", ".join(check.flags),
    )  # fmt: skip


def _is(line: Line, name: str) -> bool:
    return name in (line.amount_description.lower(), line.transaction_type.lower())


def deposit_check(
    deposit: Decimal | None, lines: Sequence[Line], previous_reserve: bool = False
) -> DepositCheck:
    """Do the lines add up to the deposit; which reserve or loan lines look missing."""
    total = sum((line.amount for line in lines), ZERO)
    gap = ZERO if deposit is None else deposit - total
    names = {n.lower() for line in lines for n in (line.transaction_type, line.amount_description)}
    reserve = bool(names & {PREVIOUS_RESERVE, CURRENT_RESERVE})
    loan = any("loan" in name for name in names)
    flags: list[str] = []
    if deposit is None:
        flags.append("no_deposit_total")
    if gap != ZERO:
        flags.append("lines_do_not_add_up")
        if not reserve and not loan:
            flags.append("reserve_or_loan_lines_missing")
    if previous_reserve and PREVIOUS_RESERVE not in names:
        flags.append("previous_reserve_missing")
    if CURRENT_RESERVE in names:
        flags.append("reserve_held")
    if loan:
        flags.append("loan_lines")
    return DepositCheck(deposit, total, gap, tuple(flags))


def holds_reserve(lines: Iterable[Line]) -> bool:
    """Whether a settlement held back a reserve (its next one must release it)."""
    return any(_is(line, CURRENT_RESERVE) and line.amount != ZERO for line in lines)
