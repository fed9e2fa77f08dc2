"""The policy document: the default loads, and every bad field is named in the error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from hub.errors import InputError
from hub.policy import (
    FxRate,
    PolicyDocument,
    PolicyError,
    compile_policy,
    default_policy,
    default_policy_text,
    load_policy_yaml,
)
from tests.policy.helpers import DE


def test_default_policy_loads_with_exact_decimals() -> None:
    doc = default_policy()
    assert (doc.schema_version, doc.version, doc.base_currency) == (1, 1, "USD")
    assert doc.fx_rates == ()  # no made-up rate: the hub prices at ECB rates (hub.finance)
    assert [(t.id, t.below, t.up_to, t.level) for t in doc.tiers] == [
        ("auto", Decimal("50.00"), None, None),
        ("regional", None, Decimal("500.00"), 1),
        ("finance", None, None, 2),
    ]
    assert doc.marketplaces[DE].no_refund_once_opened == ("software", "sealed_media")
    assert doc.marketplaces[DE].withdrawal_days == 14


def test_document_is_frozen() -> None:
    doc = default_policy()
    with pytest.raises(ValidationError):
        doc.version = 2  # type: ignore[misc]


# (text to replace in the default YAML, replacement, path named, words in the message)
def _rates(first: str, rate: str, second: str, as_of: str = "2024-06-03") -> str:
    """A published ``fx_rates`` list of two entries (the default document publishes none)."""
    return (f"fx_rates:\n  - {{currency: {first}, rate: {rate}, source: s, as_of: {as_of}}}\n"
            f"  - {{currency: {second}, rate: 1.27, source: s, as_of: 2024-06-03}}")


BAD_EDITS = [
    ("    level: 1\n", "    levle: 1\n", "tiers[1].levle", "unknown field"),
    ("base_currency: USD", "base_curency: USD", "base_curency", "unknown field"),
    ("base_currency: USD", "base_currency: XYZ", "base_currency", "ISO 4217"),
    ("schema_version: 1 ", "schema_version: 2 ", "schema_version", "1"),
    ("\nversion: 1 ", "\nversion: 0 ", "version", "greater than or equal to 1"),
    ("    below: 50.00\n", "    below: 50.005\n", "tiers[0].below", "more decimals than USD"),
    ("    below: 50.00\n", "    below: fifty\n", "tiers[0].below", "decimal"),
    ("    below: 50.00\n", "    below: -1\n", "tiers[0].below", "zero or more"),
    ("    below: 50.00\n", "    below: 50.00\n    up_to: 60.00\n", "tiers[0]", "not both"),
    ("    up_to: 500.00\n", "    up_to: 40.00\n", "tiers[1].up_to", "above the previous bound"),
    ("    up_to: 500.00\n", "    up_to: 50.00\n", "tiers[1].up_to", "above the previous bound"),
    ("    level: 2\n", "    level: 2\n    up_to: 900\n", "tiers[2].up_to", "last tier"),
    ("    level: 1\n", "", "tiers[1]", "'level' is required"),
    ("    outcome: auto_approve\n", "    outcome: approve\n", "tiers[0].outcome", "auto_approve"),
    ("id: regional\n", "id: auto\n", "tiers", "unique"),
    (
        "time_zone: Europe/Berlin",
        "time_zone: Europe/Berlim",
        f"marketplaces.{DE}.time_zone",
        "IANA",
    ),
    (
        "[software, sealed_media]",
        "[Software]",
        f"marketplaces.{DE}.no_refund_once_opened[0]",
        "lower-case",
    ),
    (
        "    return_window_days: 30\n    withdrawal_days: 14\n    no_refund",
        "    return_window_days: -1\n    withdrawal_days: 14\n    no_refund",
        f"marketplaces.{DE}.return_window_days",
        "greater than or equal to 0",
    ),
    ("fx_rates: []", _rates("EUR", "0", "EUR"), "fx_rates[0].rate", "greater than 0"),
    ("fx_rates: []", _rates("EUR", "1.08", "EUR"), "fx_rates[1].currency", "a second rate for EUR"),
    ("fx_rates: []", _rates("EUR", "1.08", "USD"), "fx_rates[1].currency", "base currency"),
    ("fx_rates: []", _rates("EUR", "1.08", "GBP", "yesterday"), "fx_rates[0].as_of", "date"),
    (
        "{count: 3, days: 30}",
        "{count: 3, dyas: 30}",
        "risk.frequent_refunder.dyas",
        "unknown field",
    ),
    ("[damaged_by_customer]", "[smashed]", "risk.review_grades[0]", "damaged_by_customer"),
    ("item_mismatch: true", "item_mismatch: maybe", "risk.item_mismatch", "boolean"),
    (
        "{channel: pos, timing: on_scan}",
        "{channel: shop, timing: on_scan}",
        "timing.rules[0].channel",
        "pos",
    ),
    (
        "{channel: amazon_fba, timing: after_inspection}",
        "{channel: pos, timing: on_scan}",
        "timing.rules[2]",
        "same pair",
    ),
    (
        "{category: gift_card, timing: after_approval}",
        "{timing: after_approval}",
        "timing.rules[3]",
        "names a channel",
    ),
    ("  default: after_inspection", "  default: later", "timing.default", "on_scan"),
    ("default_marketplace:", "approvers: []\ndefault_marketplace:", "approvers", "unknown field"),
]


@pytest.mark.parametrize(("old", "new", "path", "words"), BAD_EDITS)
def test_a_bad_field_is_named(old: str, new: str, path: str, words: str) -> None:
    text = default_policy_text()
    assert old in text, "the edit must apply to the default policy"
    with pytest.raises(PolicyError) as caught:
        load_policy_yaml(text.replace(old, new, 1))
    named = {problem.path: problem.message for problem in caught.value.problems}
    assert path in named, f"{path} not in {list(named)}"
    assert words in named[path]
    assert path in str(caught.value)


def test_a_missing_section_is_named() -> None:
    text = default_policy_text().replace("base_currency: USD", "")
    with pytest.raises(PolicyError) as caught:
        load_policy_yaml(text)
    assert (caught.value.path, caught.value.problems[0].message) == (
        "base_currency",
        "required field is missing",
    )


def test_every_bad_field_is_listed_not_only_the_first() -> None:
    text = default_policy_text().replace("    level: 1\n", "    levle: 1\n")
    text = text.replace("time_zone: Asia/Tokyo", "time_zone: Asia/Tokio")
    with pytest.raises(PolicyError) as caught:
        load_policy_yaml(text)
    paths = [problem.path for problem in caught.value.problems]
    assert paths == ["tiers[1].levle", "marketplaces.A1VC38T7YXB528.time_zone"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("tiers: [", "line 1"),
        ("name: a\nname: b\n", "the key 'name' is given twice (line 2"),
        ("rate: .nan\n", "not a finite decimal"),
        ("rate: .inf\n", "not a finite decimal"),
        ("- just\n- a list\n", "mapping"),
        ("", "mapping"),
    ],
)
def test_yaml_that_is_not_a_policy_mapping_is_refused(text: str, words: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_yaml(text)
    assert caught.value.path == ""
    assert words in str(caught.value)


def test_policy_error_is_an_input_error_naming_its_field() -> None:
    with pytest.raises(InputError) as caught:
        load_policy_yaml(default_policy_text().replace("\nversion: 1 ", "\nversion: x "))
    assert caught.value.field == "version"


def test_floats_are_refused_when_a_document_is_built_in_code() -> None:
    data = default_policy().model_dump(mode="json")
    data["tiers"][0]["below"] = 50.0
    with pytest.raises(ValidationError, match="never floats"):
        PolicyDocument.model_validate(data)


def test_a_jpy_base_policy_refuses_fractional_bounds() -> None:
    text = default_policy_text().replace("base_currency: USD", "base_currency: JPY")
    text = text.replace("currency: JPY, rate: 0.0064", "currency: USD, rate: 156.25")
    with pytest.raises(PolicyError) as caught:
        load_policy_yaml(text)
    assert caught.value.path == "tiers[0].below"


def test_passed_in_rates_must_convert_into_the_base_currency() -> None:
    wrong = FxRate("JPY", "EUR", Decimal("0.0059"), "feed", date(2024, 6, 10))
    with pytest.raises(PolicyError) as caught:
        compile_policy(default_policy(), [wrong])
    assert caught.value.path == "fx_rates"


@pytest.mark.parametrize(
    ("currency", "rate", "source"),
    [("XYZ", "1", "feed"), ("EUR", "0", "feed"), ("EUR", "NaN", "feed"), ("EUR", "1.1", " ")],
)
def test_an_fx_rate_value_is_checked_when_built(currency: str, rate: str, source: str) -> None:
    with pytest.raises(ValueError):
        FxRate(currency, "USD", Decimal(rate), source, date(2024, 6, 10))
