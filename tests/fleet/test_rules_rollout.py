"""An allocation rules version pushed to three stores, one offline: two acknowledge at once, the
third after it reconnects; the desk shows it (the inventory issue, point 5).

A real hub on SQLite and a private Mosquitto, three real agents (s1, s2, s3; one node each).
Every agent applies version 1; s3's agent stops; an admin publishes version 2 (a floor for one
SKU at s1, a reserve for in-store sale at s3 only); s1 and s2 report version 2 in their status,
the rollout API and the desk (Chromium) show s3 waiting; s3's agent starts again, gets the
retained config and reports version 2; the desk shows every store on it. Each store holds only
its own part of the rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.settings import EdgeSettings
from edge_agent.staff import store_config
from hub.access.permissions import Role
from hub.fleet import stores
from hub.inventory.allocation import store as rules_store
from hub.inventory.allocation.loader import default_rules_text
from tests.edge.conftest import make_settings, running_agent, wait_until
from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.people.conftest import PASSWORD, SETUP, add_user
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

NODE = "counter-1"
STORES = ("s1", "s2", "s3")
V2 = default_rules_text().replace("\nversion: 1\n", "\nversion: 2\n", 1).replace(
    "  categories:\n    electronics: 2\n",
    "  categories:\n    electronics: 2\n  skus:\n    - {sku: SKU-TV-55, store: s1, floor: 4}\n",
).replace("reserves: []\n", "reserves:\n  - {name: walk_in_s3, for: in_store, quantity: 2, "
          "stores: [s3]}\n")


@pytest.fixture
def hub(tmp_path: Path, broker: TestBroker) -> Iterator[RunningHub]:
    """A hub on SQLite and the broker, with three stores and an admin."""
    for running in start_hub(hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", broker)):
        for store in STORES:
            stores.set_store(running.engine, store, SETUP, region="north", name=f"Store {store}")
        add_user(running.engine, "ada", Role.ADMIN)
        rules_store.ensure_seeded(running.engine)  # version 1, pushed to every store
        yield running


def agent_settings(tmp_path: Path, broker: TestBroker, store: str) -> EdgeSettings:
    return make_settings(tmp_path / store, broker.node_creds(store, NODE), store_id=store,
                         node_id=NODE, status_interval_seconds=0.5, selftest_at_start=False)


def signed_in(hub: RunningHub) -> httpx.Client:
    client = httpx.Client(base_url=str(hub.client.base_url), timeout=10)
    answer = client.post("/api/session", json={"username": "ada", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf"]
    return client


def rollout(admin: httpx.Client) -> dict[str, Any]:
    answer = admin.get("/api/inventory/rules/rollout")
    assert answer.status_code == 200, answer.text
    return answer.json()


def applied(admin: httpx.Client) -> dict[str, int | None]:
    """The rules version each store's node reports applying."""
    return {s["store_id"]: (s["nodes"][0]["applied_version"] if s["nodes"] else None)
            for s in rollout(admin)["stores"]}


def part_of(run: Any) -> Any:
    """The store's part of the rules its agent holds."""
    with run.agent.store.read() as tx:
        held = store_config.allocation(tx)
    assert held is not None
    return held.part


def test_a_rules_version_reaches_two_stores_at_once_and_the_third_when_it_reconnects(
        hub: RunningHub, broker: TestBroker, tmp_path: Path) -> None:
    admin = signed_in(hub)
    settings = {s: agent_settings(tmp_path, broker, s) for s in STORES}
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with ExitStack() as running, chromium_page(1366, 768) as page:
        running.callback(admin.close)  # an open client's socket, collected later, fails a test
        runs = {s: running.enter_context(running_agent(settings[s])) for s in ("s1", "s2")}
        with running_agent(settings["s3"]) as s3:
            wait_until(lambda: applied(admin) == {"s1": 1, "s2": 1, "s3": 1}, timeout=20)
            assert part_of(s3).version == 1
        # s3's agent is stopped: its last status (offline) still says version 1
        wait_until(lambda: not next(s for s in rollout(admin)["stores"]
                                    if s["store_id"] == "s3")["nodes"][0]["online"])

        answer = admin.post("/api/inventory/rules", json={"yaml": V2, "reason": "TV floor"})
        assert answer.status_code == 200, answer.text
        wait_until(lambda: applied(admin) == {"s1": 2, "s2": 2, "s3": 1}, timeout=20)
        now = rollout(admin)
        by_store = {s["store_id"]: s for s in now["stores"]}
        assert now["active_version"] == 2 and now["current"] == 2
        assert by_store["s3"]["pushed_version"] == 2  # retained at the broker, not yet applied
        assert by_store["s3"]["pending"] == [NODE] and not by_store["s3"]["current"]
        assert by_store["s1"]["nodes"][0]["since"] is not None
        # each store holds its own part: s1 its SKU floor, no reserve; s2 neither
        s1_part = part_of(runs["s1"])
        assert s1_part.version == 2 and s1_part.sku_floors == {"SKU-TV-55": 4}
        assert s1_part.reserves == [] and s1_part.category_floors == {"electronics": 2}
        assert part_of(runs["s2"]).sku_floors == {} and part_of(runs["s2"]).reserves == []

        # the desk shows two stores on version 2 and s3 waiting
        by = page.get_by_test_id
        page.goto(f"{hub.client.base_url}/desk")
        by("username").fill("ada")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        by("nav-inventory").click()
        expect(by("rollout-summary")).to_contain_text("2 of 3 stores")
        s3_row = page.locator("[data-testid=rollout-row][data-store=s3]")
        expect(s3_row.get_by_test_id("rollout-state")).to_have_text(f"waiting for {NODE}")
        expect(s3_row.get_by_test_id("rollout-nodes")).to_contain_text("offline: v1")
        expect(page.locator("[data-testid=rollout-row][data-current=true]")).to_have_count(2)

        # s3 comes back: it gets the retained config and acknowledges version 2
        s3_back = running.enter_context(running_agent(settings["s3"]))
        wait_until(lambda: applied(admin) == {"s1": 2, "s2": 2, "s3": 2}, timeout=20)
        s3_part = part_of(s3_back)
        assert [r.name for r in s3_part.reserves] == ["walk_in_s3"]
        assert s3_part.sku_floors == {}
        expect(by("rollout-summary")).to_contain_text("3 of 3 stores")
        expect(s3_row.get_by_test_id("rollout-state")).to_have_text("runs the active version")
        expect(s3_row.get_by_test_id("rollout-nodes")).to_contain_text("online: v2 since")
    admin.close()
