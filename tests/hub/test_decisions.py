"""The decision adapter (hub.refunds.decisions) by tables: facts -> request, decision -> refund
state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hub.errors import InvalidTransition
from hub.policy import compile_policy, decide, default_policy
from hub.refunds.decisions import (
    Verdict,
    indexed_rules,
    judge,
    offline_refusal,
    offline_verdict,
    request_of,
    top_level,
    verdict_of,
)
from hub.refunds.facts import RefundFacts, customer_key_of
from hub.refunds.states import RefundState
from protocol import Channel, Grade, Money, RefundOutcome
from tests.policy.helpers import DEFAULT

POLICY = DEFAULT  # the default policy publishing the engine tests' rates (1 JPY = 0.0064 USD)
AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ST, OC = RefundState, RefundOutcome


def facts(
    amount: str = "12.00",
    currency: str = "USD",
    *,
    grade: str | None = None,
    mismatch: bool = False,
    paid: Money | None = None,
    market: str | None = None,
    channel: Channel = Channel.POS,
) -> RefundFacts:
    return RefundFacts(
        "s1",
        "F1",
        Money.of(amount, currency),
        channel,
        market,
        AT,
        grade,
        mismatch,
        paid,
        customer_key_of("O-1"),
    )


def verdict(f: RefundFacts) -> Verdict:
    return verdict_of(decide(request_of(f), [], POLICY, AT), top_level(POLICY))


@pytest.mark.parametrize(
    ("case", "state", "outcome", "level"),
    [
        (facts("49.99"), ST.APPROVED, OC.APPROVED, None),
        (facts("50.00"), ST.PENDING_APPROVAL, OC.PENDING_APPROVAL, 1),  # below 50 is exclusive
        (facts("500.00"), ST.PENDING_APPROVAL, OC.PENDING_APPROVAL, 1),  # up_to 500 is inclusive
        (facts("500.01"), ST.PENDING_APPROVAL, OC.PENDING_APPROVAL, 2),
        (facts("7811", "JPY"), ST.APPROVED, OC.APPROVED, None),  # 7811 × 0.0064 = 49.99 USD
        (facts("7812", "JPY"), ST.PENDING_APPROVAL, OC.PENDING_APPROVAL, 1),  # 49.9968 -> 50.00 USD
        (
            facts("5.00", "CHF"),
            ST.PENDING_APPROVAL,
            OC.MANUAL_REVIEW,
            2,
        ),  # no FX rate: a person prices
        (facts(mismatch=True), ST.PENDING_APPROVAL, OC.MANUAL_REVIEW, 2),
        (facts(grade="damaged_by_customer"), ST.PENDING_APPROVAL, OC.MANUAL_REVIEW, 2),
        (facts("30.00", paid=Money.of("20.00", "USD")), ST.PENDING_APPROVAL, OC.MANUAL_REVIEW, 2),
        (facts(grade="good"), ST.APPROVED, OC.APPROVED, None),
    ],
)
def test_outcomes_map_to_refund_states(
    case: RefundFacts, state: RefundState, outcome: RefundOutcome, level: int | None
) -> None:
    v = verdict(case)
    assert (v.state, v.outcome, v.level) == (state, outcome, level)
    assert v.final is (state is not ST.PENDING_APPROVAL)
    assert v.reasons and all(isinstance(r, str) and r for r in v.reasons)


def test_a_reject_is_final_and_rejected() -> None:
    document = default_policy().model_copy(update={"version": 2})
    strict = compile_policy(
        document.model_copy(
            update={
                "default_marketplace": document.default_marketplace.model_copy(
                    update={"return_window_days": 0}
                )
            }
        )
    )
    later = datetime(2025, 3, 5, tzinfo=UTC)
    v = verdict_of(decide(request_of(facts()), [], strict, later), top_level(strict))
    assert (v.state, v.outcome, v.level, v.final) == (ST.REJECTED, OC.REJECTED, None, True)


def test_the_request_carries_what_the_hub_knows() -> None:
    req = request_of(
        facts(
            "80.00",
            grade="good",
            mismatch=True,
            paid=Money.of("99.00", "USD"),
            market="A1PA6795UKMFR9",
        )
    )
    assert (req.refund_id, req.marketplace_id, req.grade, req.mismatch) == (
        "s1/F1",
        "A1PA6795UKMFR9",
        Grade.GOOD,
        True,
    )
    assert (req.ordered_at, req.delivered_at, req.amount_paid) == (
        AT,
        None,
        Money.of("99.00", "USD"),
    )
    assert req.customer_key == "order:O-1"
    store_sale = request_of(facts(paid=Money.of("5", "EUR")))  # paid in another currency
    assert store_sale.marketplace_id == "store:s1"
    assert store_sale.amount_paid == store_sale.amount


def test_indexed_rules_leave_out_timing_and_name_tiers_and_risks() -> None:
    decision = decide(request_of(facts("80.00", mismatch=True)), [], POLICY, AT)
    assert indexed_rules(decision) == ["marketplace.default", "risk.item_mismatch", "tier.regional"]


@pytest.mark.parametrize(
    ("amount", "channel", "limit", "stands"),
    [
        ("100.00", Channel.POS, Money.of("100.00", "USD"), True),  # the limit itself is allowed
        ("100.01", Channel.POS, Money.of("100.00", "USD"), False),
        ("10.00", Channel.POS, None, False),
        ("10.00", Channel.POS, Money.of("100", "EUR"), False),
        ("10.00", Channel.WEB, Money.of("100.00", "USD"), False),
    ],
)
def test_offline_approvals_stand_only_within_the_store_limit(
    amount: str, channel: Channel, limit: Money | None, stands: bool
) -> None:
    refusal = offline_refusal(Money.of(amount, "USD"), channel, limit)
    assert (refusal is None) is stands
    base = verdict(facts(amount))
    v = offline_verdict(base, refusal, "clerk-7", 2)
    if stands:
        assert (v.state, v.outcome) == (ST.APPROVED, OC.APPROVED)
    else:
        assert (v.state, v.outcome, v.level) == (ST.PENDING_APPROVAL, OC.MANUAL_REVIEW, 2)
        assert "flagged for review" in v.reasons[-1] and "clerk-7" in v.reasons[-1]


def test_customers_are_known_by_their_order_only() -> None:
    assert customer_key_of("113-1") == "order:113-1"
    assert customer_key_of(None) is None


def test_commands_about_a_refund_go_to_the_node_that_asked_and_never_for_one_asked_at_the_hub(
) -> None:
    from hub.refunds.origin import to_asker
    from protocol import RefundPayment, RefundStatus

    def body(refund_id: str) -> RefundStatus:
        return RefundStatus(refund_id=refund_id, return_id="R1", status=RefundPayment.SUBMITTED,
                            at=AT)

    for origin in ("store", "pos"):
        asked = {"store_id": "s1", "node_id": "n2", "refund_id": "F1", "origin": origin}
        (draft,) = to_asker(asked, body("F1"))
        assert (draft.store_id, draft.node_id, draft.body) == ("s1", "n2", body("F1"))
    # the origin decides, not the id: an H id a node asked for is told, an F id asked at the hub
    # is not
    assert len(to_asker({**asked, "refund_id": "H1"}, body("H1"))) == 1
    assert to_asker({**asked, "origin": "hub"}, body("F1")) == []


def test_a_verdict_leads_to_the_same_state_from_both_undecided_states() -> None:
    for case in (facts("49.99"), facts("600.00"), facts(mismatch=True), facts("5.00", "CHF")):
        v = judge(case, [], POLICY)
        assert v.moves(ST.REQUESTED) is v.moves(ST.AWAITING_INSPECTION) is v.state
        assert v.decision is not None and (v.decided_by is not None) is v.final
    waits = judge(facts(channel=Channel.WEB), [], POLICY)  # the default policy inspects first
    assert (waits.state, waits.outcome, waits.decision, waits.decided_by) == (
        ST.AWAITING_INSPECTION, OC.AWAITING_INSPECTION, None, None)
    with pytest.raises(InvalidTransition):
        waits.moves(ST.AWAITING_INSPECTION)  # an inspected refund never waits again


def test_judge_gives_the_risk_flags_reasons_and_who_decided_an_offline_approval() -> None:
    flagged = replace(facts(), risk="order flagged high-risk: chargeback")
    v = judge(flagged, [], POLICY)
    assert (v.state, v.outcome, v.level) == (ST.PENDING_APPROVAL, OC.MANUAL_REVIEW, 2)
    assert v.reasons[-1] == "order flagged high-risk: chargeback"
    within = replace(facts("40.00"), offline_limit=Money.of("50.00", "USD"))
    assert judge(within, [], POLICY, offline_by="k1").decided_by == "store:k1"
    assert judge(facts("40.00"), [], POLICY).decided_by == "policy:auto"
