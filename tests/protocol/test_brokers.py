"""The broker list setting (``protocol.brokers``): what the hub and every node parse alike."""

from __future__ import annotations

import pytest

from protocol import BrokerAddress, parse_brokers


def test_an_empty_list_is_the_one_broker_of_the_older_settings() -> None:
    assert parse_brokers("", "mq.example", 1884) == (BrokerAddress("mq.example", 1884),)
    assert parse_brokers(" , ", "mq.example", 1884) == (BrokerAddress("mq.example", 1884),)


def test_the_order_is_kept_and_a_missing_port_is_the_default() -> None:
    assert parse_brokers("b.example:1885, a.example,[::1]:1999", "x", 1883) == (
        BrokerAddress("b.example", 1885), BrokerAddress("a.example", 1883),
        BrokerAddress("::1", 1999))
    assert [str(b) for b in parse_brokers("[::1]:1999,a:1", "x", 1883)] == ["[::1]:1999", "a:1"]


@pytest.mark.parametrize(("text", "says"), [
    ("a:0", "port"), ("a:65536", "port"), ("a:x", "port"), ("::1", "brackets"),
    ("a b:1", "host"), (":1883", "host"), ("a:1,a:1", "twice"), (",".join(["a:1"] * 9), "at most"),
])
def test_a_bad_list_is_refused_with_the_entry_named(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_brokers(text, "x", 1883)
