"""The hub announces itself over mDNS; a store's discovery finds it and says what to configure."""

from __future__ import annotations

from edge_agent.devices.discovery import discover
from hub.fleet.advertise import Advertiser, HubAnnouncement, addresses_for
from tests.support.mdns import LOOPBACK, decoy_hub, unique


def test_a_store_agent_finds_the_advertised_hub_with_its_broker_port() -> None:
    announcement = HubAnnouncement(name=unique("ACORN hub test"), http_port=18080,
                                   mqtt_port=18830, version="9.9.9", addresses=LOOPBACK)
    with decoy_hub():  # another hub on the network: the store must be told which is ours
        advertiser = Advertiser(announcement)
        try:
            found = discover(timeout=6.0, interfaces=list(LOOPBACK), serial=False)
        finally:
            advertiser.close()
    hubs = {f.name: f for f in found if f.kind == "hub"}
    assert len(hubs) >= 2, found  # ours and the decoy
    ours = hubs[advertiser.name]
    assert ours.config_lines == ("ACORN_EDGE_MQTT_HOST=127.0.0.1", "ACORN_EDGE_MQTT_PORT=18830")
    assert ours.details["version"] == "9.9.9"


def test_addresses_follow_interfaces_then_bind_host() -> None:
    assert addresses_for(["10.1.2.3"], "0.0.0.0") == ("10.1.2.3",)
    assert addresses_for([], "192.168.5.9") == ("192.168.5.9",)
    assert all(not a.startswith("127.") for a in addresses_for([], "0.0.0.0"))
