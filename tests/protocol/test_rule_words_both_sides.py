"""Fired rules from the hub's real policy engine, over the wire, worded by the store for its staff.

The hub decides with its default policy (``tests.policy.helpers``), ``wire_rules`` turns the
stored decision record into ``RefundDecided.rules``, the message is encoded and decoded, and the
edge's catalogue (``edge_agent.returns.words``) words each rule in every store language: a
specific sentence per code the engine fires (not a fallback), the refund's own amount in the
store's currency and never the policy's base-currency one. Old messages without ``rules`` still
decode, and a rule the wire cannot carry is left out rather than breaking the command.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edge_agent.returns import words
from hub.policy import decide
from hub.refunds.decisions import wire_rules
from hub.refunds.projection import refund_decided_body
from protocol import (
    DecisionRule,
    Grade,
    Money,
    RefundDecided,
    RefundOutcome,
    RuleEffect,
    decode,
    encode,
    make_envelope,
    utc_now,
)
from protocol.limits import MAX_RULE_PARAMS, MAX_RULES, MAX_TEXT_CHARS
from tests.policy.helpers import DE, DEFAULT, NOW, request

FIXTURE = Path(__file__).parents[1] / "fixtures" / "protocol" / "v1" / "refund.decided.json"
# (what happens, the request's changes, the rule codes it must fire)
CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("small: approved by the policy", {}, {"tier.auto", "timing.after_inspection"}),
    ("large, in EUR: a manager approves", {"amount": "400.00", "currency": "EUR"},
     {"tier.regional"}),
    ("unknown marketplace", {"marketplace_id": "store:store-berlin-1"}, {"marketplace.default"}),
    ("past the window", {"delivered_at": NOW - timedelta(days=60),
                         "ordered_at": NOW - timedelta(days=62)}, {"window.expired"}),
    ("opened software", {"category": "software", "opened": True, "marketplace_id": DE},
     {"opened.excluded"}),
    ("not the ordered item", {"mismatch": True}, {"risk.item_mismatch"}),
    ("damaged by the customer", {"grade": Grade.DAMAGED_BY_CUSTOMER}, {"risk.grade"}),
    ("flagged order", {"high_risk": True}, {"risk.high_risk_order"}),
    ("more than paid", {"amount_paid": Money.of("19.99", "USD")}, {"risk.over_paid"}),
    ("no FX rate", {"currency": "CHF"}, {"fx.no_rate"}),
]
FALLBACKS = {text for language in words.LANGUAGES for key, text in
             words.SENTENCES[language].items() if key.startswith("effect.") or key == "neutral"}


def through_the_wire(rules: list[DecisionRule], amount: Money) -> RefundDecided:
    """A ``refund.decided`` carrying ``rules``, encoded and decoded as the store receives it."""
    body = RefundDecided(refund_id="F1", return_id="R1", outcome=RefundOutcome.PENDING_APPROVAL,
                         amount=amount, reasons=["the desk's sentence"], rules=rules,
                         decided_by="policy:auto", decided_at=utc_now())
    decoded = decode(encode(make_envelope("store-berlin-1", "hub", 1, body))).body
    assert isinstance(decoded, RefundDecided)
    return decoded


@pytest.mark.parametrize(("case", "changes", "codes"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("language", words.LANGUAGES)
def test_every_rule_the_engine_fires_has_its_own_staff_sentence(
        case: str, changes: dict[str, Any], codes: set[str], language: str) -> None:
    decision = decide(request(**changes), [], DEFAULT, NOW)
    told = through_the_wire(wire_rules(decision.as_record()), request(**changes).amount)
    fired = {rule.code for rule in told.rules}
    assert codes <= fired, case
    for rule in told.rules:
        if rule.effect is RuleEffect.WAIVED:
            continue
        (said,) = words.rule_sentences([rule], str(decision.refund_outcome), told.amount,
                                       language)
        assert said not in FALLBACKS, f"{case}: {rule.code} has no sentence in {language}"
        assert rule.code not in said and "{" not in said


def test_a_tier_says_the_refund_in_the_store_currency_not_the_base_one() -> None:
    amount = Money.of("400.00", "EUR")
    decision = decide(request("400.00", "EUR"), [], DEFAULT, NOW)
    (tier,) = [r for r in wire_rules(decision.as_record()) if r.code.startswith("tier.")]
    assert tier.params["currency"] == "USD"  # the policy's base currency, for the desk
    said = words.rule_sentences([tier], "pending_approval", amount, "de")
    assert said == [f"400,00 EUR braucht die Freigabe einer Führungskraft (Stufe {tier.level})."]
    assert "USD" not in said[0] and tier.params["amount"] not in said[0]


@pytest.mark.parametrize("language", words.LANGUAGES)
def test_an_unknown_rule_is_said_in_neutral_words_never_by_its_code(language: str) -> None:
    novel = DecisionRule(code="novel.rule_2031", effect=RuleEffect.REJECT, params={"x": "1"})
    (said,) = words.rule_sentences([novel], "rejected", None, language)
    assert said == words.SENTENCES[language]["effect.reject"] and "novel" not in said
    quiet = DecisionRule(code="novel.note")
    assert words.rule_sentences([quiet], "approved", None, language) == [
        words.SENTENCES[language]["neutral"]]


def test_an_effect_from_a_newer_hub_reads_as_unknown_and_the_decision_still_applies() -> None:
    data = json.loads(FIXTURE.read_text())
    data["body"]["rules"][0]["effect"] = "escalate_to_board"
    decided = decode(json.dumps(data).encode()).body
    assert isinstance(decided, RefundDecided)
    assert decided.rules[0].effect is None and decided.rules[0].code == "tier.regional"


def test_a_decision_from_a_hub_before_rules_still_decodes() -> None:
    data = json.loads(FIXTURE.read_text())
    del data["body"]["rules"]
    decided = decode(json.dumps(data).encode()).body
    assert isinstance(decided, RefundDecided) and decided.rules == []
    assert words.rule_sentences(decided.rules, "pending_approval", decided.amount, "en") == [
        words.SENTENCES["en"]["neutral"]]


def test_rules_the_wire_cannot_carry_are_left_out_and_the_rest_bounded() -> None:
    good = {"rule_id": "risk.grade", "effect": "manual_review", "level": None,
            "data": {f"k{i}": "x" * 500 for i in range(MAX_RULE_PARAMS + 3)}}
    bad = {"rule_id": "Not A Code!", "effect": "note", "level": None, "data": {}}
    told = wire_rules({"rules": [bad, *[good] * (MAX_RULES + 5)]})
    assert len(told) == MAX_RULES and all(r.code == "risk.grade" for r in told)
    assert len(told[0].params) == MAX_RULE_PARAMS
    assert all(len(value) == MAX_TEXT_CHARS for value in told[0].params.values())
    assert wire_rules(None) == [] and wire_rules({"outcome": "approved"}) == []
    through_the_wire(told, Money.of("1.00", "EUR"))  # the bounded list is a valid message


def test_the_hub_tells_the_store_the_rules_of_the_stored_decision() -> None:
    decision = decide(request("400.00", "EUR"), [], DEFAULT, NOW)
    row = {"refund_id": "F1", "return_id": "R1", "state": "pending_approval",
           "outcome": "pending_approval", "amount": Decimal("400.00"), "currency": "EUR",
           "approval_level": decision.level, "reasons": list(decision.reasons()),
           "decided_by": None, "decision": decision.as_record()}
    told = refund_decided_body(row, utc_now())
    assert [rule.code for rule in told.rules] == [rule.rule_id for rule in decision.rules]
    assert told.reasons == list(decision.reasons())  # the desk's sentences travel unchanged
    waiting = refund_decided_body({**row, "state": "awaiting_inspection", "decision": None},
                                  utc_now())
    assert waiting.rules == []
