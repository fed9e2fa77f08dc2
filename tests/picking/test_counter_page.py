"""The counter page lists the store's pick task in its language on a tablet (headless Chromium):
a wrong item scanned is refused with the agent's sentence, the right ones are confirmed, the
carrier and tracking number typed ship it, and the task leaves the list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from edge_agent.sync import commands
from edge_agent.web import page_words
from protocol import utc_now
from tests.edge.conftest import NODE, STORE, make_settings, running_agent
from tests.picking.test_edge_picking import pick_command
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.layout import assert_fits

pytestmark = BROWSER_MARKS


def test_a_pick_task_is_scanned_and_shipped_from_the_counter_page(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    said = page_words.PAGE["de"]
    settings = make_settings(tmp_path, currency="EUR", store_language="de")
    with running_agent(settings, connect=False) as run, \
            chromium_page(820, 1180, timezone_id="Europe/Berlin") as page:
        counted = run.http.post("/api/stock/counts", json={"count_id": "c0", "lines": [
            {"sku": "SKU-A", "quantity": 4}, {"sku": "SKU-B", "quantity": 1}]})
        assert counted.status_code == 201
        late = utc_now() - timedelta(hours=1)  # its ship-by passed an hour ago
        assert commands.handle(run.agent.store, STORE, NODE, pick_command(ship_by=late),
                               utc_now()).result == "applied"
        by = page.get_by_test_id
        page.goto(run.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        by("name-input").fill("kim")
        by("name-submit").click()
        expect(by("pick-tasks")).to_be_visible()
        expect(by("pick-tasks").locator("h3")).to_have_text(said["pick_tasks_title"])
        expect(by("pick-line")).to_have_count(2)
        expect(by("pick-due")).to_have_text(said["pick_overdue"])

        by("pick-scan").fill("SKU-Z")
        by("pick-scan").press("Enter")
        expect(by("error")).to_contain_text("SKU-Z")
        for code in ("SKU-A", "SKU-B", "SKU-A"):
            by("pick-scan").fill(code)
            # the list is read again (after a scan, a stock change) while this one is typed: the
            # field keeps what is in it (it was once replaced, and a quick scan lost)
            with page.expect_response("**/api/pick-tasks"):
                page.evaluate("document.dispatchEvent(new Event('acorn:stock'))")
            by("pick-scan").press("Enter")
            expect(by("pick-scan")).to_have_value("")
        expect(by("pick-line").first).to_have_text(
            said["pick_line"].format(sku="SKU-A", picked=2, quantity=2))
        assert_fits(page, tmp_path / "pick-task.png")
        by("pick-carrier").fill("DHL")
        by("pick-tracking").fill("00340434161234567890")
        by("pick-ship").click()
        expect(by("pick-task-message")).to_have_text(
            said["pick_shipped"].format(order_id="111-0000001-0000001"))
        expect(by("pick-task")).to_have_count(0)
        with run.agent.store.read() as tx:
            assert tx.scalar("SELECT count(*) FROM outbox WHERE kind = 'order.shipped'") == 1
