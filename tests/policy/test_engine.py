"""Risk rules alone and switched off, precedence of combinations, timing, and the decision."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from hub.policy import Outcome, PriorRefund, Timing, decide
from protocol import Channel, Grade, Money, RefundOutcome
from tests.policy.helpers import DEFAULT, NOW, deciding, policy, request


def prior(*days_ago: float) -> list[PriorRefund]:
    """Earlier refunds of the same customer, ``days_ago`` before NOW."""
    return [PriorRefund(NOW - timedelta(days=days), Money.of("10.00", "USD")) for days in days_ago]


def test_a_clean_request_is_auto_approved_with_its_reasons() -> None:
    decision = decide(request(), [], DEFAULT, NOW)
    assert (decision.outcome, decision.level, decision.timing) == (
        Outcome.AUTO_APPROVE,
        None,
        Timing.AFTER_INSPECTION,
    )
    assert decision.reasons() == (
        "20.00 USD is under 50.00 USD: approved without a person (tier auto)",
        "refund after inspection for web / toys",
    )
    assert decision.refund_outcome is RefundOutcome.APPROVED
    assert (decision.refund_id, decision.policy_version) == ("rf-1", 1)


# (case, request fields, history, the risk rule expected to fire, or None)
RISKS: list[tuple[str, dict[str, Any], list[PriorRefund], str | None]] = [
    ("3 refunds in 30 days", {}, prior(1, 10, 29), "risk.frequent_refunder"),
    ("2 refunds in 30 days", {}, prior(1, 10), None),
    ("3 refunds, one at exactly 30 days", {}, prior(1, 10, 30), "risk.frequent_refunder"),
    ("3 refunds, one 30 days and 1 s ago", {}, prior(1, 10, 30 + 1 / 86400), None),
    ("3 refunds, one in the future", {}, prior(1, 10, -1), None),
    ("5 refunds long ago", {}, prior(40, 50, 60, 70, 80), None),
    ("scanned item is not the ordered item", {"mismatch": True}, [], "risk.item_mismatch"),
    ("damaged by the customer", {"grade": Grade.DAMAGED_BY_CUSTOMER}, [], "risk.grade"),
    ("not inspected yet", {"grade": None}, [], None),
    ("defective is not a risk", {"grade": Grade.DEFECTIVE}, [], None),
    (
        "refund above the amount paid",
        {"amount_paid": Money.of("19.99", "USD")},
        [],
        "risk.over_paid",
    ),
    ("refund equal to the amount paid", {"amount_paid": Money.of("20.00", "USD")}, [], None),
    # compared in USD: 18.42 EUR = 19.99 USD < 20.00; 18.43 EUR = 20.00 USD (19.99655)
    (
        "paid in EUR, refund in USD above it",
        {"amount_paid": Money.of("18.42", "EUR")},
        [],
        "risk.over_paid",
    ),
    ("paid in EUR, refund in USD equal to it", {"amount_paid": Money.of("18.43", "EUR")}, [], None),
    (
        "paid in a currency without a rate",
        {"amount_paid": Money.of("20.00", "CHF")},
        [],
        "risk.paid_unknown",
    ),
    ("order flagged high-risk", {"high_risk": True}, [], "risk.high_risk_order"),
]


@pytest.mark.parametrize(("case", "changes", "history", "rule"), RISKS)
def test_each_risk_rule_alone(
    case: str, changes: dict[str, Any], history: list[PriorRefund], rule: str | None
) -> None:
    decision = decide(request(**changes), history, DEFAULT, NOW)
    expected = {"tier.auto"} | ({rule} if rule else set())
    assert deciding(decision) == expected, case
    assert decision.outcome is (Outcome.MANUAL_REVIEW if rule else Outcome.AUTO_APPROVE), case


def test_the_refunder_rule_explains_itself() -> None:
    decision = decide(request(), prior(1, 2, 3, 4), DEFAULT, NOW)
    rule = next(rule for rule in decision.rules if rule.rule_id == "risk.frequent_refunder")
    assert rule.sentence == "the customer had 4 refunds in the last 30 days (review from 3)"
    assert rule.data_dict() == {"count": "4", "days": "30", "limit": "3"}


def _risk_off(data: dict[str, Any]) -> None:
    data["risk"] = {
        "frequent_refunder": None,
        "review_grades": [],
        "item_mismatch": False,
        "amount_over_paid": False,
        "high_risk_orders": False,
    }


def test_switched_off_risk_rules_do_not_fire() -> None:
    risky = request(
        mismatch=True,
        grade=Grade.DAMAGED_BY_CUSTOMER,
        high_risk=True,
        amount_paid=Money.of("1.00", "USD"),
    )
    assert decide(risky, prior(1, 2, 3, 4), DEFAULT, NOW).outcome is Outcome.MANUAL_REVIEW
    calm = decide(risky, prior(1, 2, 3, 4), policy(_risk_off), NOW)
    assert (calm.outcome, deciding(calm)) == (Outcome.AUTO_APPROVE, {"tier.auto"})


# (case, request fields, days since delivery, label, deciding rules)
PRECEDENCE: list[tuple[str, dict[str, Any], int, str, set[str]]] = [
    (
        "reject beats manual review",
        {"high_risk": True},
        40,
        "reject",
        {"tier.auto", "window.expired", "risk.high_risk_order"},
    ),
    (
        "reject beats level 2",
        {"amount": "900.00"},
        40,
        "reject",
        {"tier.finance", "window.expired"},
    ),
    (
        "manual review beats level 2",
        {"amount": "900.00", "mismatch": True},
        3,
        "manual_review",
        {"tier.finance", "risk.item_mismatch"},
    ),
    (
        "manual review beats level 1",
        {"amount": "60.00", "high_risk": True},
        3,
        "manual_review",
        {"tier.regional", "risk.high_risk_order"},
    ),
    (
        "all risks at once",
        {
            "mismatch": True,
            "high_risk": True,
            "grade": Grade.DAMAGED_BY_CUSTOMER,
            "amount_paid": Money.of("5.00", "USD"),
        },
        3,
        "manual_review",
        {"tier.auto", "risk.item_mismatch", "risk.high_risk_order", "risk.grade", "risk.over_paid"},
    ),
    (
        "no rate and a risk",
        {"currency": "CHF", "high_risk": True},
        3,
        "manual_review",
        {"fx.no_rate", "risk.high_risk_order"},
    ),
    (
        "no rate but out of window",
        {"currency": "CHF"},
        40,
        "reject",
        {"fx.no_rate", "window.expired"},
    ),
]


@pytest.mark.parametrize(("case", "changes", "days", "label", "rules"), PRECEDENCE)
def test_precedence_reject_then_manual_review_then_tiers(
    case: str, changes: dict[str, Any], days: int, label: str, rules: set[str]
) -> None:
    req = request(
        delivered_at=NOW - timedelta(days=days),
        ordered_at=NOW - timedelta(days=days + 2),
        **changes,
    )
    decision = decide(req, [], DEFAULT, NOW)
    assert decision.label == label, case
    assert deciding(decision) == rules, case
    assert decision.level is None or decision.outcome is Outcome.NEEDS_APPROVAL


# (channel, category, amount, the refund timing)
TIMINGS = [
    (Channel.POS, "toys", "20.00", Timing.ON_SCAN),  # channel rule
    (Channel.POS, "electronics", "20.00", Timing.AFTER_INSPECTION),  # channel+category rule
    (Channel.POS, "gift_card", "20.00", Timing.ON_SCAN),  # channel beats category
    (Channel.WEB, "gift_card", "20.00", Timing.AFTER_APPROVAL),  # category rule
    (Channel.AMAZON_FBA, "toys", "20.00", Timing.AFTER_INSPECTION),
    (Channel.WEB, "toys", "20.00", Timing.AFTER_INSPECTION),  # default
    (Channel.POS, "toys", "60.00", Timing.AFTER_APPROVAL),  # a person decides first
]


@pytest.mark.parametrize(("channel", "category", "amount", "timing"), TIMINGS)
def test_when_to_refund_by_channel_and_category(
    channel: Channel, category: str, amount: str, timing: Timing
) -> None:
    decision = decide(request(amount, channel=channel, category=category), [], DEFAULT, NOW)
    assert decision.timing is timing
    assert [r.rule_id for r in decision.rules if r.rule_id.startswith("timing.")] == [
        f"timing.{DEFAULT.timing_for(channel, category)}"]


def test_after_approval_timing_means_a_person_approves_even_a_small_refund() -> None:
    small = decide(request("5.00", channel=Channel.WEB, category="gift_card"), [], DEFAULT, NOW)
    assert (small.outcome, small.level, small.timing) == (
        Outcome.NEEDS_APPROVAL, 1, Timing.AFTER_APPROVAL)
    assert deciding(small) == {"tier.auto", "timing.after_approval"}
    assert small.reasons()[-1] == (
        "a person approves every web / gift_card refund before the money goes back")
    large = decide(request("900.00", channel=Channel.WEB, category="gift_card"), [], DEFAULT, NOW)
    assert (large.outcome, large.level) == (Outcome.NEEDS_APPROVAL, 2)  # the tier's level wins
    late = request("5.00", channel=Channel.WEB, category="gift_card",
                   delivered_at=NOW - timedelta(days=45))
    assert decide(late, [], DEFAULT, NOW).outcome is Outcome.REJECT  # a rejection still rejects


def test_timing_after_review_and_none_when_rejected() -> None:
    review = decide(request(channel=Channel.POS, high_risk=True), [], DEFAULT, NOW)
    assert (review.timing, review.rules[-1].rule_id) == (Timing.AFTER_APPROVAL, "timing.on_scan")
    late = request(channel=Channel.POS, delivered_at=NOW - timedelta(days=45))
    rejected = decide(late, [], DEFAULT, NOW)
    assert rejected.timing is None
    assert rejected.rules[-1].sentence == "no refund: rejected (pos / toys would refund on scan)"
    assert rejected.refund_outcome is RefundOutcome.REJECTED


def test_an_unknown_marketplace_uses_the_default_rules_and_says_so() -> None:
    decision = decide(request(marketplace_id="STORE-BERLIN-1"), [], DEFAULT, NOW)
    assert decision.outcome is Outcome.AUTO_APPROVE
    assert decision.rules[0].rule_id == "marketplace.default"
    assert decision.rules[0].sentence == (
        "marketplace STORE-BERLIN-1 has no rules of its own; the default rules (other) apply"
    )


def test_labels_and_protocol_outcomes() -> None:
    level_two = decide(request("900.00"), [], DEFAULT, NOW)
    assert (level_two.label, level_two.level) == ("needs_approval:2", 2)
    assert level_two.refund_outcome is RefundOutcome.PENDING_APPROVAL
    review = decide(request(high_risk=True), [], DEFAULT, NOW)
    assert review.refund_outcome is RefundOutcome.MANUAL_REVIEW


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(request(), [], DEFAULT, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="aware"):
        request(delivered_at=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="aware"):
        PriorRefund(NOW.replace(tzinfo=None), Money.of("1", "USD"))


def test_decide_is_pure() -> None:
    req, history = request(high_risk=True), prior(1, 2)
    assert decide(req, history, DEFAULT, NOW) == decide(req, history, DEFAULT, NOW)


def test_a_decision_as_a_json_record() -> None:
    record = decide(request("7000", "JPY", high_risk=True), [], DEFAULT, NOW).as_record()
    assert json.loads(json.dumps(record)) == record
    assert {key: record[key] for key in ("outcome", "level", "base_amount", "timing")} == {
        "outcome": "manual_review",
        "level": None,
        "base_amount": "44.80",
        "timing": "after_approval",
    }
    assert record["fx"] == {
        "currency": "JPY",
        "rate": "0.0064",
        "source": "illustrative default rate",
        "as_of": "2024-06-03",
    }
    rules = record["rules"]
    assert isinstance(rules, list)
    assert [rule["rule_id"] for rule in rules] == [
        "tier.auto",
        "risk.high_risk_order",
        "timing.after_inspection",
    ]
