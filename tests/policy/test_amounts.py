"""Amount tiers and currency conversion, by table: boundaries, JPY, EUR, rounding, FX records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hub.policy import Effect, FxRate, Outcome, decide
from protocol.limits import MAX_AMOUNT_INTEGER_DIGITS
from tests.policy.helpers import DEFAULT, NOW, fired, jpy_base, policy, request

AUTO, L1, L2, MANUAL = "auto_approve", "needs_approval:1", "needs_approval:2", "manual_review"


@pytest.mark.parametrize(
    ("amount", "currency", "base", "label", "tier"),
    [
        ("0.01", "USD", "0.01", AUTO, "tier.auto"),
        ("49.99", "USD", "49.99", AUTO, "tier.auto"),
        ("50.00", "USD", "50.00", L1, "tier.regional"),  # "under 50.00": 50.00 is not under
        ("50", "USD", "50.00", L1, "tier.regional"),
        ("50.01", "USD", "50.01", L1, "tier.regional"),
        ("499.99", "USD", "499.99", L1, "tier.regional"),
        ("500.00", "USD", "500.00", L1, "tier.regional"),  # "up to 500.00": inclusive
        ("500.01", "USD", "500.01", L2, "tier.finance"),
        ("25000", "USD", "25000.00", L2, "tier.finance"),
        # JPY has no minor unit; 1 JPY = 0.0064 USD, rounded half-even to cents
        ("7000", "JPY", "44.80", AUTO, "tier.auto"),
        ("7811", "JPY", "49.99", AUTO, "tier.auto"),  # 49.9904
        ("7812", "JPY", "50.00", L1, "tier.regional"),  # 49.9968 rounds up onto the boundary
        ("78125", "JPY", "500.00", L1, "tier.regional"),
        ("78126", "JPY", "500.01", L2, "tier.finance"),  # 500.0064
        # 1 EUR = 1.0850 USD
        ("46.07", "EUR", "49.99", AUTO, "tier.auto"),  # 49.98595
        ("46.08", "EUR", "50.00", L1, "tier.regional"),  # 49.9968
        ("460.83", "EUR", "500.00", L1, "tier.regional"),  # 500.00055
        ("460.84", "EUR", "500.01", L2, "tier.finance"),  # 500.0114
        ("39.21", "GBP", "49.99", AUTO, "tier.auto"),  # 49.99275
        ("39.22", "GBP", "50.01", L1, "tier.regional"),  # 50.0055
        ("68.39", "CAD", "49.99", AUTO, "tier.auto"),
        ("68.40", "CAD", "50.00", L1, "tier.regional"),  # 50.0004
    ],
)
def test_tier_boundaries_in_the_base_currency(
    amount: str, currency: str, base: str, label: str, tier: str
) -> None:
    decision = decide(request(amount, currency), [], DEFAULT, NOW)
    assert decision.label == label
    assert decision.base_amount == Decimal(base)
    assert str(decision.base_amount) == base  # quantized to cents, trailing zeros kept
    assert [rule.rule_id for rule in decision.rules if rule.rule_id.startswith("tier.")] == [tier]


def test_the_tier_sentence_names_the_amount_and_the_bound() -> None:
    sentences = {
        "49.99": "49.99 USD is under 50.00 USD: approved without a person (tier auto)",
        "500.00": "500.00 USD is at most 500.00 USD: needs approval at level 1 "
        "(regional manager) (tier regional)",
        "500.01": "500.01 USD is over 500.00 USD: needs approval at level 2 (finance) "
        "(tier finance)",
    }
    for amount, sentence in sentences.items():
        assert decide(request(amount), [], DEFAULT, NOW).rules[0].sentence == sentence


@pytest.mark.parametrize(
    ("currency", "rate", "source", "as_of"),
    [
        ("USD", "1", "base currency", None),
        ("EUR", "1.0850", "illustrative default rate", date(2024, 6, 3)),
        ("JPY", "0.0064", "illustrative default rate", date(2024, 6, 3)),
    ],
)
def test_every_conversion_records_rate_source_and_date(
    currency: str, rate: str, source: str, as_of: date | None
) -> None:
    fx = decide(request("10", currency), [], DEFAULT, NOW).fx
    assert fx is not None
    assert (fx.currency, fx.base_currency, fx.rate, fx.source, fx.as_of) == (
        currency,
        "USD",
        Decimal(rate),
        source,
        as_of,
    )


@pytest.mark.parametrize(
    ("amount", "base"),
    [("10.01", "15.02"), ("10.03", "15.04"), ("10.05", "15.08"), ("10.07", "15.10")],
)
def test_rounding_is_half_even_to_the_base_minor_unit(amount: str, base: str) -> None:
    # 10.01 × 1.5 = 15.015 → 15.02 (to even); 10.03 × 1.5 = 15.045 → 15.04 (to even)
    fx = FxRate("EUR", "USD", Decimal("1.5"), "test", date(2024, 6, 10))
    decision = decide(request(amount, "EUR"), [], policy(fx=(fx,)), NOW)
    assert decision.base_amount == Decimal(base)


def test_a_passed_in_rate_replaces_the_documents_rate() -> None:
    fx = FxRate("JPY", "USD", Decimal("0.0072"), "daily feed", date(2024, 6, 10))
    decision = decide(request("7000", "JPY"), [], policy(fx=(fx,)), NOW)
    assert (decision.base_amount, decision.label, decision.fx) == (Decimal("50.40"), L1, fx)


@pytest.mark.parametrize(
    ("amount", "currency", "base", "label"),
    [
        ("6999", "JPY", "6999", AUTO),
        ("7000", "JPY", "7000", L1),
        ("70000", "JPY", "70000", L1),
        ("70001", "JPY", "70001", L2),
        ("0.01", "USD", "2", AUTO),  # 1.5625 → 2
        ("0.02", "USD", "3", AUTO),  # 3.125 → 3
        ("0.04", "USD", "6", AUTO),  # 6.25 → 6 (half-even)
        ("44.79", "USD", "6998", AUTO),  # 6998.4375
        ("44.80", "USD", "7000", L1),
    ],
)
def test_a_jpy_base_currency_has_no_minor_unit(
    amount: str, currency: str, base: str, label: str
) -> None:
    decision = decide(request(amount, currency), [], policy(jpy_base), NOW)
    assert (str(decision.base_amount), decision.label) == (base, label)
    assert decision.base_currency == "JPY"


def test_a_currency_without_a_rate_goes_to_manual_review() -> None:
    decision = decide(request("10.00", "CHF"), [], DEFAULT, NOW)
    assert (decision.outcome, decision.base_amount, decision.fx) == (
        Outcome.MANUAL_REVIEW,
        None,
        None,
    )
    assert fired(decision)["fx.no_rate"] is Effect.MANUAL_REVIEW
    assert not any(rule.rule_id.startswith("tier.") for rule in decision.rules)
    assert decision.base_money is None


@pytest.mark.parametrize("amount", ["0", "-0.01", "-100"])
def test_an_amount_not_above_zero_goes_to_manual_review(amount: str) -> None:
    decision = decide(request(amount), [], DEFAULT, NOW)
    assert decision.label == MANUAL
    assert "amount.not_positive" in fired(decision)


def test_the_largest_amount_the_protocol_takes_is_converted_and_decided() -> None:
    """Amounts are bounded where they enter (protocol.limits), so every one the engine sees
    converts: the largest goes to a person by the top tier, never to "too large to convert"."""
    largest = "9" * MAX_AMOUNT_INTEGER_DIGITS
    decision = decide(request(largest, "JPY"), [], DEFAULT, NOW)
    assert decision.base_money is not None
    assert "amount.out_of_range" not in fired(decision)
    with pytest.raises(ValueError, match="digits before the decimal point"):
        request("1" + "0" * MAX_AMOUNT_INTEGER_DIGITS, "JPY")


def test_the_base_amount_is_also_money() -> None:
    decision = decide(request("7000", "JPY"), [], DEFAULT, NOW)
    assert str(decision.base_money) == "44.80 USD"
