"""Simulation: a changed tier over seeded history reports the right counts and sums.

The expected numbers are computed here from the seeded data and the tier bounds alone, with this
file's own conversion, never by calling the engine or the simulation's internals.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from hub.policy import FxRate, PriorRefund, RefundRequest, simulate
from protocol import Money
from tests.policy.helpers import DEFAULT, NOW, policy, request

EUR_RATE = Decimal("1.0850")  # the default policy's rate, written down again here


def _wider_tiers(data: dict[str, Any]) -> None:
    data["version"] = 2
    data["tiers"][0]["below"] = "100.00"
    data["tiers"][1]["up_to"] = "750.00"


DRAFT = policy(_wider_tiers)


def seeded(count: int, seed: int) -> list[tuple[RefundRequest, list[PriorRefund]]]:
    """Clean US requests, some in EUR, some flagged high-risk, amounts up to 1,000.00."""
    rng = random.Random(seed)
    cases: list[tuple[RefundRequest, list[PriorRefund]]] = []
    for n in range(count):
        currency = "EUR" if rng.random() < 0.3 else "USD"
        amount = Decimal(rng.randint(1, 100_000)).scaleb(-2)
        req = request(str(amount), currency, refund_id=f"rf-{n}", high_risk=rng.random() < 0.1)
        cases.append((req, []))
    return cases


def in_usd(req: RefundRequest, eur_rate: Decimal = EUR_RATE) -> Decimal:
    amount = req.amount.amount
    if req.amount.currency == "EUR":
        return (amount * eur_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return amount


def label(req: RefundRequest, auto_below: str, level1_up_to: str) -> str:
    if req.high_risk:
        return "manual_review"
    usd = in_usd(req)
    if usd < Decimal(auto_below):
        return "auto_approve"
    return "needs_approval:1" if usd <= Decimal(level1_up_to) else "needs_approval:2"


def test_a_changed_tier_reports_counts_sums_and_examples() -> None:
    cases = seeded(2000, seed=20240610)
    report = simulate(DRAFT, DEFAULT, cases, NOW, examples=3)

    moves: Counter[tuple[str, str]] = Counter()
    money: dict[tuple[str, str], Decimal] = {}
    for req, _ in cases:
        old, new = label(req, "50.00", "500.00"), label(req, "100.00", "750.00")
        if old != new:
            moves[(old, new)] += 1
            money[(old, new)] = money.get((old, new), Decimal(0)) + in_usd(req)

    assert set(moves) == {
        ("needs_approval:1", "auto_approve"),
        ("needs_approval:2", "needs_approval:1"),
    }
    assert report.matrix() == dict(moves)
    assert {(c.before, c.after): c.amount for c in report.changes} == money
    assert (report.total, report.changed, report.unpriced) == (2000, sum(moves.values()), 0)
    assert report.base_currency == "USD"
    assert [c.count for c in report.changes] == sorted(moves.values(), reverse=True)
    for change in report.changes:
        assert len(change.examples) == 3
        for example in change.examples:
            req = next(r for r, _ in cases if r.refund_id == example.refund_id)
            assert label(req, "50.00", "500.00") == example.before.label == change.before
            assert label(req, "100.00", "750.00") == example.after.label == change.after
            assert example.after.policy_version == 2


def test_outcome_totals_before_and_after_add_up() -> None:
    cases = seeded(500, seed=7)
    report = simulate(DRAFT, DEFAULT, cases, NOW)
    grand_total = sum((in_usd(req) for req, _ in cases), Decimal(0))
    for totals, bounds in (
        (report.before, ("50.00", "500.00")),
        (report.after, ("100.00", "750.00")),
    ):
        expected = Counter(label(req, *bounds) for req, _ in cases)
        assert {t.label: t.count for t in totals} == dict(expected)
        assert sum((t.amount for t in totals), Decimal(0)) == grand_total
        for total in totals:
            assert total.amount == sum(
                (in_usd(req) for req, _ in cases if label(req, *bounds) == total.label),
                Decimal(0),
            )


def test_the_same_policy_changes_nothing() -> None:
    report = simulate(DEFAULT, DEFAULT, seeded(300, seed=1), NOW)
    assert (report.changed, report.timing_changed, report.changes) == (0, 0, ())


def test_money_is_priced_at_the_drafts_rate() -> None:
    rate = Decimal("1.2000")
    draft = policy(fx=(FxRate("EUR", "USD", rate, "draft feed", date(2024, 6, 10)),))
    cases: list[tuple[RefundRequest, list[PriorRefund]]] = [
        (request("45.00", "EUR", refund_id="a"), []),
        (request("40.00", "EUR", refund_id="b"), []),
    ]
    report = simulate(draft, DEFAULT, cases, NOW)  # 45 EUR: 48.83 → 54.00; 40 EUR: 43.40 → 48.00
    assert report.matrix() == {("auto_approve", "needs_approval:1"): 1}
    assert report.changes[0].amount == Decimal("54.00")
    assert [e.refund_id for e in report.changes[0].examples] == ["a"]


def test_unpriced_requests_are_counted_not_summed() -> None:
    history = [PriorRefund(NOW - timedelta(days=1), Money.of("5", "USD"))]
    cases = [(request("10.00", "CHF"), history), (request("60.00"), [])]
    report = simulate(DRAFT, DEFAULT, cases, NOW)
    assert (report.total, report.unpriced, report.changed) == (2, 1, 1)
    assert {t.label: (t.count, t.amount) for t in report.before} == {
        "manual_review": (1, Decimal(0)),
        "needs_approval:1": (1, Decimal("60.00")),
    }
