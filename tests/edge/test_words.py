"""The counter's word catalogue: every language complete, every coded value labelled, money said
as the receipt prints it; and the local API answering in the store's language."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest

import protocol
from edge_agent.returns import words
from hardware.printing.texts import format_money as printed_money
from protocol import DecisionRule, Money, RuleEffect
from tests.edge.conftest import make_settings, running_agent

SHOWN_ENUMS = {  # the protocol enums whose values a person sees on the counter, by their kind
    "grade": protocol.Grade, "disposition": protocol.Disposition, "channel": protocol.Channel,
    "payment": protocol.RefundPayment, "compliance_tag": protocol.ComplianceTag,
}


@pytest.mark.parametrize("language", words.LANGUAGES)
def test_every_language_has_every_label_and_sentence(language: str) -> None:
    assert set(words.SENTENCES[language]) == set(words.SENTENCES["en"])
    for kind, values in words.VALUES.items():
        assert set(words.LABELS[language][kind]) == set(values), (language, kind)
        shown = words.labels(language)[kind]
        assert all(shown[value] and shown[value] != value for value in values), (language, kind)


def test_every_value_of_the_shown_enums_and_outcomes_is_in_the_catalogue() -> None:
    for kind, enum in SHOWN_ENUMS.items():
        assert set(words.VALUES[kind]) == {member.value for member in enum}, kind
    outcomes = {outcome.value for outcome in protocol.RefundOutcome}
    assert outcomes <= set(words.VALUES["refund_status"])
    assert set(words.VALUES["return_state"]) == {s.value for s in protocol.ReturnState}


def test_a_value_the_catalogue_lacks_is_spelled_out_and_an_unknown_language_reads_english(
) -> None:
    assert words.label("grade", "slightly_scuffed", "de") == "Slightly scuffed"
    assert words.label("grade", "like_new", "fr") == "Like new"


@pytest.mark.parametrize("language", words.LANGUAGES)
@pytest.mark.parametrize(("amount", "currency"), [
    ("1234.5", "EUR"), ("0.01", "USD"), ("1234567.89", "GBP"), ("1999", "JPY"), ("12.345", "KWD"),
])
def test_money_is_said_as_the_receipt_prints_it(language: str, amount: str,
                                                currency: str) -> None:
    said = words.format_money(Money.of(amount, currency), language)
    assert said == printed_money(Decimal(amount), currency, language)


def _enum_values() -> set[str]:
    return {member.value for name in dir(protocol)
            if isinstance(kind := getattr(protocol, name), type) and issubclass(kind, StrEnum)
            for member in kind}


def test_options_give_the_labels_in_the_store_language(tmp_path: Path) -> None:
    with running_agent(make_settings(tmp_path, store_language="de"), connect=False) as run:
        options = run.http.get("/api/options").json()
    assert options["language"] == "de"
    assert options["labels"]["grade"]["like_new"] == "Wie neu"
    assert options["labels"]["return_state"]["disposed"] == "Erledigt"
    grades = {o["value"]: o["label"] for o in options["grades"]}
    assert grades["damaged_in_transit"] == "Transportschaden"
    raw = _enum_values()
    for kind, labels in options["labels"].items():
        assert not set(labels.values()) & raw, kind  # no label is a raw code


@pytest.mark.parametrize("language", words.LANGUAGES)
def test_once_a_person_decided_the_approval_rules_are_said_in_the_past(language: str) -> None:
    """"Needs approval by a manager" is wrong beside "Decided by hq-anna": after an approval or a
    rejection the tier and the approval effects say that a person decided."""
    rules = [DecisionRule(code="tier.regional", effect=RuleEffect.NEEDS_APPROVAL, level=2,
                          params={"amount": "59.46", "currency": "USD"}),
             DecisionRule(code="novel.rule_2031", effect=RuleEffect.NEEDS_APPROVAL),
             DecisionRule(code="novel.rule_2032", effect=RuleEffect.MANUAL_REVIEW)]
    amount = Money.of("54.80", "EUR")
    waiting = words.rule_sentences(rules, "pending_approval", amount, language)
    table = words.SENTENCES[language]
    assert waiting == [table["tier.needs_approval"].format(
        amount=words.format_money(amount, language), level="2"),
        table["effect.needs_approval"], table["effect.manual_review"]]
    for outcome in ("approved", "rejected"):
        decided = words.rule_sentences(rules, outcome, amount, language)
        assert decided == [table["tier.needs_approval.decided"].format(
            amount=words.format_money(amount, language), level="2"),
            table["effect.needs_approval.decided"], table["effect.manual_review.decided"]]
        assert not set(decided) & set(waiting)
