"""The placeholder refund decision, by table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.decisions import decide
from hub.settings import DEFAULT_LIMITS
from protocol import Money, RefundOutcome

APPROVED, PENDING = RefundOutcome.APPROVED, RefundOutcome.PENDING_APPROVAL


@pytest.mark.parametrize(("amount", "currency", "outcome", "level"), [
    ("0.01", "USD", APPROVED, None),
    ("49.99", "USD", APPROVED, None),
    ("50.00", "USD", PENDING, 1),       # strictly under: the limit itself waits
    ("50.01", "USD", PENDING, 1),
    ("39.99", "GBP", APPROVED, None),
    ("40", "GBP", PENDING, 1),
    ("64.99", "CAD", APPROVED, None),
    ("6999", "JPY", APPROVED, None),    # JPY has no minor unit
    ("7000", "JPY", PENDING, 1),
    ("1.00", "CHF", PENDING, 1),        # no limit configured for the currency
    ("0", "EUR", APPROVED, None),
])
def test_decide_by_table(amount: str, currency: str, outcome: RefundOutcome,
                         level: int | None) -> None:
    decision = decide(Money.of(amount, currency), DEFAULT_LIMITS)
    assert (decision.outcome, decision.approval_level) == (outcome, level)
    assert decision.reasons and currency in decision.reasons[0]


def test_limits_are_configuration_not_code() -> None:
    assert decide(Money.of("99", "USD"), {"USD": Decimal("100")}).outcome is APPROVED
    assert decide(Money.of("1", "USD"), {"USD": Decimal("0")}).outcome is PENDING


def test_reasons_name_the_rule() -> None:
    assert decide(Money.of("12.00", "USD"), DEFAULT_LIMITS).reasons == (
        "12.00 USD is under the auto-approve limit of 50 USD",)
    assert decide(Money.of("1.00", "CHF"), DEFAULT_LIMITS).reasons == (
        "no auto-approve limit is configured for CHF",)
