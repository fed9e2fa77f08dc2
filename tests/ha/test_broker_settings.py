"""MQTT_BROKERS on both sides: the same list, the same default, the same clear refusal."""

from __future__ import annotations

import pytest

from edge_agent.errors import ConfigError as EdgeConfigError
from edge_agent.settings import load_settings as load_edge_settings
from hub.errors import ConfigError as HubConfigError
from hub.settings import load_settings as load_hub_settings
from protocol import BrokerAddress


def test_no_list_is_the_one_broker_of_before_on_both_sides() -> None:
    hub = load_hub_settings(mqtt_host="mq.example", mqtt_port=1884)
    edge = load_edge_settings(store_id="s1", node_id="n1", mqtt_host="mq.example", mqtt_port=1884)
    assert hub.brokers == edge.brokers == (BrokerAddress("mq.example", 1884),)


def test_a_list_is_read_alike_by_the_hub_and_the_node() -> None:
    text = "mq-a.example:1883, mq-b.example:8883"
    hub = load_hub_settings(mqtt_brokers=text)
    edge = load_edge_settings(store_id="s1", node_id="n1", mqtt_brokers=text)
    assert hub.brokers == edge.brokers == (BrokerAddress("mq-a.example", 1883),
                                           BrokerAddress("mq-b.example", 8883))


def test_a_bad_list_stops_either_side_with_the_setting_and_the_entry_named() -> None:
    with pytest.raises(HubConfigError, match=r"ACORN_HUB_MQTT_BROKERS.*'a:0'.*port"):
        load_hub_settings(mqtt_brokers="a:0,b:1")
    with pytest.raises(EdgeConfigError, match=r"MQTT_BROKERS.*'a:0'.*port"):
        load_edge_settings(store_id="s1", node_id="n1", mqtt_brokers="a:0,b:1")
