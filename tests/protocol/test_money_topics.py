"""Money and topics by tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

import protocol as p


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("49.99", "USD"),
        ("0", "EUR"),
        ("7000", "JPY"),
        ("1.234", "BHD"),
        (12, "GBP"),
        (Decimal("5.5"), "CAD"),
    ],
)
def test_money_accepts(amount: object, currency: str) -> None:
    money = p.Money.of(amount, currency)  # type: ignore[arg-type]
    assert money.amount == Decimal(str(amount)) and money.currency == currency


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        (49.99, "USD", "never floats"),
        ("100.5", "JPY", "JPY allows 0"),
        ("1.001", "EUR", "EUR allows 2"),
        ("1", "usd", "unknown ISO 4217"),
        ("1", "ZZZ", "unknown ISO 4217"),
        ("abc", "USD", "not a decimal"),
        ("Infinity", "USD", "finite"),
    ],
)
def test_money_refuses(amount: object, currency: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        p.Money.of(amount, currency)  # type: ignore[arg-type]


def test_money_adds_only_the_same_currency() -> None:
    assert p.Money.of("1.10", "EUR") + p.Money.of("2.05", "EUR") == p.Money.of("3.15", "EUR")
    with pytest.raises(ValueError, match="same currency"):
        _ = p.Money.of("1", "EUR") + p.Money.of("1", "USD")


def test_money_is_text_on_the_wire() -> None:
    assert p.Money.of("0.10", "USD").model_dump(mode="json") == {
        "amount": "0.10",
        "currency": "USD",
    }


@pytest.mark.parametrize("kind", [k for k in p.TopicKind if k is not p.TopicKind.CONFIG])
def test_node_topics_round_trip(kind: p.TopicKind) -> None:
    text = p.node_topic("store-a", "n-1", kind)
    assert text == f"acorn/v1/stores/store-a/nodes/n-1/{kind.value}"
    assert p.parse_topic(text) == p.Topic("store-a", "n-1", kind)


def test_config_topic_round_trips() -> None:
    assert p.parse_topic(p.config_topic("s1")) == p.Topic("s1", None, p.TopicKind.CONFIG)


@pytest.mark.parametrize(
    "text",
    [
        "acorn/v2/stores/a/nodes/b/events",
        "acorn/v1/stores/a/nodes/b/eventz",
        "acorn/v1/stores/A/nodes/b/events",
        "acorn/v1/stores/a/nodes/+/events",
        "acorn/v1/stores/a/nodes/b/config",
        "acorn/v1/stores/a",
        "",
        "acorn/v1/stores/a/nodes//events",
        "acorn/v1/stores/-a/nodes/b/events",
    ],
)
def test_foreign_topics_are_refused(text: str) -> None:
    with pytest.raises(p.TopicError):
        p.parse_topic(text)


@pytest.mark.parametrize(("store", "node"), [("a/b", "n"), ("a", "#"), ("", "n"), ("a", "N")])
def test_ids_that_would_break_a_topic_are_refused(store: str, node: str) -> None:
    with pytest.raises(p.TopicError):
        p.node_topic(store, node, p.TopicKind.EVENTS)


def test_hub_subscriptions_are_wildcards() -> None:
    assert p.subscription(p.TopicKind.EVENTS) == "acorn/v1/stores/+/nodes/+/events"


def test_a_worker_subscribes_to_one_store_and_a_wildcard_store_id_is_refused() -> None:
    """Several hub workers take the stores of their partitions, one filter per store."""
    assert (p.subscription(p.TopicKind.EVENTS, "store-berlin-1")
            == "acorn/v1/stores/store-berlin-1/nodes/+/events")
    assert p.subscription(p.TopicKind.CONFIG, "s1") == "acorn/v1/stores/s1/config"
    for bad in ("+", "#", "a/b", ""):
        with pytest.raises(p.TopicError):
            p.subscription(p.TopicKind.EVENTS, bad)
