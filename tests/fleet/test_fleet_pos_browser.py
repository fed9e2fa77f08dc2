"""The POS terminal in the fleet page's Devices cell, in Chromium against real processes: a real
Mosquitto, a real ``acorn-hub serve``, a real ``acorn-edge run`` whose POS address is the POS
simulator's health endpoint (its own process).

The agent's start-up self-test (it runs when the agent has a hub address) reaches the terminal: the
row says "POS reachable" and has no alert. The simulator is then stopped for real and the self-test
run again on the agent (as the counter's button does): the refused connection travels in the node's
status, the row says the POS refused the connection and carries the "POS not reachable" alert
badge, and the ``pos`` alert filter finds it. The simulator started again and a new self-test clear
it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.access.permissions import Role
from hub.storage.engine import make_engine
from tests.fleet.test_selftest_pos import PosSimulator
from tests.people.conftest import PASSWORD, add_user
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_post
from tests.support.procs import Proc, edge_proc, free_port, hub_proc

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

ROW = "[data-testid=fleet-row][data-store=store-a][data-node=n1]"


@pytest.fixture
def running(broker: TestBroker, tmp_path: Path) -> Iterator[tuple[Proc, Proc, PosSimulator]]:
    """The POS simulator, a hub and one agent probing it; all stopped after the test."""
    pos = PosSimulator(free_port())
    hub = hub_proc(tmp_path, broker.hub_creds())
    edge = edge_proc(tmp_path, "store-a", "n1", broker.node_creds("store-a", "n1"),
                     status_interval_seconds="1", pos_terminal_url=pos.url, hub_url=hub.url)
    try:
        hub.start()
        engine = make_engine(hub.env["ACORN_HUB_DATABASE_URL"])
        try:
            add_user(engine, "tess", Role.TECHNICIAN)
        finally:
            engine.dispose()
        edge.start()
        yield hub, edge, pos
    finally:
        edge.stop()
        hub.stop()
        pos.stop()


def selftest(edge: Proc) -> str:
    """Run the agent's self-test (no scan, no page) and return its POS finding."""
    answer = http_post(f"{edge.url}/api/selftest", json={"scan": False, "print_page": False},
                       timeout=30)
    assert answer.status_code == 200, answer.text
    return str(next(c["code"] for c in answer.json()["report"]["checks"] if c["name"] == "pos"))


def test_the_devices_cell_says_the_pos_state_and_an_unreachable_pos_alerts(
        running: tuple[Proc, Proc, PosSimulator]) -> None:
    hub, edge, pos = running
    expect = sync_api.expect
    expect.set_options(timeout=20_000)
    with chromium_page(1366, 768) as page:
        by = page.get_by_test_id
        page.goto(f"{hub.url}/desk")
        by("username").fill("tess")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        by("nav-fleet").click()
        row = page.locator(ROW)
        cell = row.get_by_test_id("fleet-pos")
        # the start-up self-test reached the simulator
        expect(cell).to_have_attribute("data-pos", "reachable")
        expect(cell).to_have_text("POS reachable")
        expect(row.get_by_test_id("fleet-alerts")).to_have_text("none")

        pos.stop()  # the terminal is switched off
        assert selftest(edge) == "refused"
        expect(cell).to_have_attribute("data-pos", "refused")
        expect(cell).to_have_text("POS refused the connection")
        badge = row.locator("[data-testid=fleet-alert][data-alert=pos]")
        expect(badge).to_have_text("POS not reachable")
        expect(row.get_by_test_id("fleet-state")).to_have_attribute("data-state", "online")
        by("fleet-filter-alert").select_option("pos")
        expect(page.locator("[data-testid=fleet-row]")).to_have_count(1)
        expect(page.locator(ROW)).to_have_count(1)

        back = PosSimulator(pos.port)  # switched on again
        try:
            assert selftest(edge) == "reachable"
            # filtered by the pos alert, the row leaves the page
            expect(page.locator("[data-testid=fleet-row]")).to_have_count(0)
            by("fleet-filter-alert").select_option("")
            expect(cell).to_have_text("POS reachable")
            expect(row.get_by_test_id("fleet-alerts")).to_have_text("none")
        finally:
            back.stop()
