"""A store's settings edited on the fleet page reach a real agent over a private Mosquitto, and
the agent's self-test against the real hub reaches the fleet page — on both databases.

A technician PATCHes the store's settings; the hub raises the store's config version and
publishes it, retained; the agent applies it (its health shows the store's time zone, its
receipts the language, its printer the paper) and reports the version it runs in its status,
which the fleet page shows next to the version pushed. Then the agent's self-test measures its
clock against the hub's time endpoint and the fleet row shows the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.staff import store_config
from hub.access.permissions import Role
from hub.fleet import stores
from tests.edge.conftest import NODE, STORE, make_settings, running_agent, wait_until
from tests.hub.conftest import RunningHub, db_url, hub_settings, start_hub  # noqa: F401
from tests.people.conftest import PASSWORD, SETUP, add_user
from tests.support.broker import TestBroker


@pytest.fixture
def hub(db_url: str, broker: TestBroker) -> Iterator[RunningHub]:  # noqa: F811
    """A hub on the broker, publishing store configs at once when told."""
    yield from start_hub(hub_settings(db_url, broker))


def signed_in(hub: RunningHub, username: str) -> httpx.Client:
    client = httpx.Client(base_url=str(hub.client.base_url), timeout=10)
    answer = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf"]
    return client


def row(tech: httpx.Client) -> dict[str, Any] | None:
    items = tech.get("/api/fleet/nodes", params={"store": STORE}).json()["items"]
    return next((i for i in items if i["node_id"] == NODE), None)


def test_settings_edited_on_the_fleet_page_reach_the_agent_and_its_self_test_comes_back(
        hub: RunningHub, broker: TestBroker, tmp_path: Path) -> None:
    stores.set_store(hub.engine, STORE, SETUP, region="north")
    add_user(hub.engine, "tess", Role.TECHNICIAN)
    settings = make_settings(tmp_path, broker.node_creds(STORE, NODE),
                             hub_url=str(hub.client.base_url), status_interval_seconds=1.0,
                             selftest_at_start=False)
    tech = signed_in(hub, "tess")
    try:
        check_the_journey(settings, tech)
    finally:
        tech.close()


def check_the_journey(settings: Any, tech: httpx.Client) -> None:
    """The agent runs; the technician edits; the settings arrive; the self-test comes back."""
    with running_agent(settings) as run:
        before = wait_until(lambda: run.http.get("/api/health").json()["config_version"])
        answer = tech.patch(f"/api/fleet/stores/{STORE}/settings", json={
            "language": "ja", "time_zone": "Asia/Tokyo", "printer_paper": "58mm",
            "offline_refund_limit": {"amount": "5000", "currency": "JPY"}})
        assert answer.status_code == 200, answer.text

        health = wait_until(lambda: (h := run.http.get("/api/health").json())["config_version"]
                            > before and h)
        assert health["store_timezone"] == "Asia/Tokyo"
        with run.agent.store.read() as tx:
            assert store_config.store_settings(tx) == {
                "language": "ja", "time_zone": "Asia/Tokyo", "printer_paper": "58mm"}
            in_force = store_config.effective(tx, settings)
            assert str(store_config.offline_limit(tx)) == "5000 JPY"
        assert (in_force.store_language, in_force.printer_paper) == ("ja", "58mm")

        # the version the node runs comes back in its status, next to the version pushed
        shown = wait_until(lambda: (r := row(tech)) and r["config_version"] == health[
            "config_version"] and r)
        assert shown["config_published"] == health["config_version"]
        assert shown["store_settings"]["time_zone"] == "Asia/Tokyo"

        # the self-test against the real hub: reachable, broker up, clocks in step
        report = run.http.post("/api/selftest", json={"scan": False, "print_page": False}).json()
        checks = {c["name"]: c["outcome"] for c in report["report"]["checks"]}
        assert (checks["hub"], checks["broker"], checks["clock"]) == ("pass", "pass", "pass")
        assert abs(report["report"]["clock_offset_seconds"]) < 5.0  # one machine, one clock
        tested = wait_until(lambda: (r := row(tech)) and r["selftest_at"] and r)
        assert tested["selftest_passed"] is True and tested["selftest_failing"] == []
        assert abs(tested["clock_offset_seconds"]) < 5.0 and tested["disk_free_bytes"] > 0
        assert "clock" not in tested["alerts"]
