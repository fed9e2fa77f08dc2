"""``create_app`` is the one composition root: its lifespan runs and stops everything the hub
process runs beside the API, from the settings it was given.

The Amazon scheduler inside the lifespan is checked against the simulator in
``tests/amazon/test_accounts.py``; here: the mDNS announcement, and that a part failing to
start stops the parts already started (the autouse leak guard fails the test otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest

from hardware.discovery import browse
from hub.amazon.settings import AmazonSettings
from hub.app import create_app
from hub.errors import ConfigError
from hub.fleet.advertise import HUB_SERVICE
from hub.settings import load_settings
from tests.hub.conftest import hub_settings, start_hub
from tests.support.broker import TestBroker
from tests.support.databases import migrated

LOOPBACK = ["127.0.0.1"]


def test_the_running_app_announces_itself_over_mdns_under_its_own_name(tmp_path: Path) -> None:
    name = f"ACORN hub {uuid.uuid4().hex[:8]}"  # our own: other hubs may be announced here
    settings = hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", advertise=True,
                            advertise_name=name, advertise_interfaces=LOOPBACK,
                            http_port=18099, advertise_mqtt_port=18830)
    for _running in start_hub(settings):
        found = browse([HUB_SERVICE], timeout=15, interfaces=LOOPBACK,
                       stop_when=lambda seen: any(d.name == name for d in seen))
        ours = [d for d in found if d.name == name]
        assert ours, [d.name for d in found]
        assert (ours[0].port, ours[0].properties.get("mqtt_port")) == (18099, "18830")


def test_an_announcement_the_network_refuses_is_a_warning_and_the_hub_serves(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", advertise=True,
                            advertise_interfaces=LOOPBACK)
    # past validation: a name mDNS cannot carry (zeroconf refuses it while announcing)
    refused = settings.model_copy(update={"advertise_name": "x" * 200})
    with caplog.at_level(logging.WARNING, logger="hub.fleet.advertise"):
        for running in start_hub(refused):
            assert running.client.get("/api/health").status_code == 200
    # the announcement is done (or failed) by the time the hub has stopped
    assert any("not advertised over mDNS" in r.getMessage() for r in caplog.records), \
        caplog.text


def test_a_part_that_fails_to_start_stops_the_parts_already_started(
        tmp_path: Path, broker: TestBroker) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrated(url)
    settings = hub_settings(url, broker, advertise=True)
    # past validation, as a broken network configuration would be: the announcement, started
    # last, fails after the MQTT runtime and the Amazon scheduler are running
    broken = settings.model_copy(update={"advertise_interfaces": ["not-an-address"]})
    app = create_app(broken, AmazonSettings(scheduler_enabled=True))

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(OSError):
        asyncio.run(start_and_stop())
    # every thread the runtime and the scheduler started is gone: the leak guard checks it


def test_bad_advertise_interfaces_are_refused_with_the_variable_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACORN_HUB_ADVERTISE_INTERFACES", '["127.0.0.1", "eth0"]')
    with pytest.raises(ConfigError, match=r"ACORN_HUB_ADVERTISE_INTERFACES.*'eth0'"):
        load_settings()
