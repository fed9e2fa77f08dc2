"""The Fleet tab in Chromium against real processes: a real Mosquitto, a real ``acorn-hub serve``
and a real ``acorn-edge run``.

1. Killing the agent's process (SIGKILL: the broker publishes its last will) turns its row
   offline within seconds, and after the offline threshold the row carries the offline alert;
   started again, it is online again.
2. While the hub is down the agent records a return: its event stays unacknowledged in its
   outbox. The agent then goes offline for good (its last will now carries the outbox: the will
   is fixed when the agent connects, so it is restarted once and killed again). With the hub back,
   the row shows the node offline with its unsent event, and the age of the oldest unsent event
   grows on the page while the node stays silent, until the unsent alert shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.access.permissions import Role
from hub.storage.engine import make_engine
from tests.e2e.conftest import a_return
from tests.people.conftest import PASSWORD, add_user
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_post
from tests.support.procs import Proc, edge_proc, hub_proc, polling_client, wait_for

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

OFFLINE_AFTER = 2  # seconds, the hub's fleet alert thresholds for this test
UNSENT_AFTER = 6
ROW = "[data-testid=fleet-row][data-store=store-a][data-node=n1]"


@pytest.fixture
def procs(broker: TestBroker, tmp_path: Path) -> Iterator[tuple[Proc, Proc]]:
    """A hub and one store agent reporting its status every second; stopped after the test."""
    hub = hub_proc(tmp_path, broker.hub_creds(), fleet_offline_alert_seconds=str(OFFLINE_AFTER),
                   fleet_unsent_alert_seconds=str(UNSENT_AFTER))
    edge = edge_proc(tmp_path, "store-a", "n1", broker.node_creds("store-a", "n1"),
                     status_interval_seconds="1")
    try:
        hub.start()
        engine = make_engine(hub.env["ACORN_HUB_DATABASE_URL"])
        try:
            add_user(engine, "tess", Role.TECHNICIAN)
        finally:
            engine.dispose()
        edge.start()
        yield hub, edge
    finally:
        edge.stop()
        hub.stop()


def edge_health(edge: Proc) -> dict[str, Any]:
    answer = polling_client().get(f"{edge.url}/api/health", timeout=5)
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def unsent_seconds(page: Any) -> int:
    return int(page.locator(f"{ROW} [data-testid=fleet-unsent-age]").get_attribute("data-seconds"))


def test_the_fleet_tab_sees_a_killed_agent_go_offline_and_its_outbox_age_grow(
        procs: tuple[Proc, Proc]) -> None:
    hub, edge = procs
    expect = sync_api.expect
    expect.set_options(timeout=20_000)
    with chromium_page(1366, 768) as page:
        by = page.get_by_test_id
        page.goto(f"{hub.url}/desk")
        by("username").fill("tess")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        expect(by("nav-policy")).to_be_hidden()  # a technician: the fleet, not the policy
        by("nav-fleet").click()
        row = page.locator(ROW)
        expect(row.get_by_test_id("fleet-state")).to_have_attribute("data-state", "online")
        expect(row.get_by_test_id("fleet-outbox")).to_have_attribute("data-pending", "0")
        expect(row.get_by_test_id("fleet-alerts")).to_have_text("none")
        # what the agent's status says of itself: no printer or scanner configured, its version
        expect(row.get_by_test_id("fleet-printer")).to_have_text("none")
        expect(row.get_by_test_id("fleet-scanner")).to_have_text("none")
        expect(row.get_by_test_id("fleet-version")).to_have_text(edge_health(edge)["version"])

        # 1. a killed process: offline within seconds, then the offline alert
        edge.kill()
        expect(row.get_by_test_id("fleet-state")).to_have_attribute("data-state", "offline",
                                                                    timeout=10_000)
        expect(row.locator("[data-alert=offline]")).to_be_visible()
        edge.start()
        expect(row.get_by_test_id("fleet-state")).to_have_attribute("data-state", "online")
        expect(row.locator("[data-alert=offline]")).to_have_count(0)

        # 2. the hub is unreachable: a return stays in the agent's outbox
        hub.stop()
        created = http_post(f"{edge.url}/api/returns", json=a_return(1), timeout=10)
        assert created.status_code == 201, created.text
        pending = edge_health(edge)["outbox_pending"]  # the return and its refund request
        assert pending >= 1
        edge.kill()
        edge.start()  # its last will is written now, with the unsent event in it
        wait_for(lambda: edge_health(edge)["broker_connected"], 20, "the agent connected")
        assert edge_health(edge)["outbox_pending"] == pending  # nobody acknowledged them
        edge.kill()
        hub.start()
        # the page keeps polling through the hub's absence and picks up again
        expect(row.get_by_test_id("fleet-state")).to_have_attribute("data-state", "offline")
        expect(row.get_by_test_id("fleet-outbox")).to_have_attribute("data-pending", str(pending))
        first = unsent_seconds(page)
        page.wait_for_function(
            f"""() => Number(document.querySelector('{ROW} [data-testid=fleet-unsent-age]')
                        ?.dataset.seconds) >= {first + 2}""", timeout=20_000)
        assert unsent_seconds(page) >= first + 2
        expect(row.locator("[data-alert=unsent]")).to_be_visible()
        expect(row.locator("[data-alert=offline]")).to_be_visible()
