"""The desk's Reasons view in headless Chromium on a tablet-sized page: finance sees the chart
by reason with its table, downloads its CSV, and clicks a bar to list the returns behind it; a
regional manager sees their region's stores only, on a tablet held upright."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from hub.access.permissions import Role, Scope
from hub.finance.reasons import store
from tests.finance.reasons_seed import seed
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


# every cell, control and chart of the view lies inside the window (no sideways scrolling)
OUTSIDE = """() => [...document.querySelectorAll(
    "#reasons-view td, #reasons-view input, #reasons-view select, #reasons-view svg")]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
  .map((e) => e.outerHTML.slice(0, 80))"""


def sign_in(page: Any, desk: DeskHub, username: str) -> None:
    page.goto(f"{desk.url}/desk")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("sign-in").click()
    sync_api.expect(page.locator("body[data-ready=true]")).to_have_count(1)


def test_finance_reads_a_chart_its_table_its_csv_and_the_returns_behind_a_bar(
        desk: DeskHub) -> None:
    seed(desk.engine)
    store.classify_pending(desk.engine)
    add_user(desk.engine, "fiona", Role.FINANCE)
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(accept_downloads=True) as page:
        sign_in(page, desk, "fiona")
        page.get_by_test_id("nav-reasons").click()
        chart = page.get_by_test_id("reasons-chart")
        expect(chart.locator("rect[data-label=defective]")).to_have_attribute("data-value", "5")
        expect(chart.locator("rect")).to_have_count(5)
        table = page.get_by_test_id("reasons-table")
        expect(table.locator("tr[data-key=defective] td[data-col=units]")).to_have_text("5")
        expect(page.get_by_test_id("reasons-money-table")
               .locator("tr[data-reason=defective][data-currency=EUR] td").nth(2)
               ).to_have_text("79.90")
        expect(page.get_by_test_id("reasons-unmapped")).to_contain_text("WEIRD_NEW_CODE")
        with page.expect_download() as caught:
            page.get_by_test_id("reasons-csv").click()
        rows = list(csv.reader(io.StringIO(Path(caught.value.path()).read_text("utf-8"))))
        assert rows[0][:3] == ["reason", "units", "lines"]
        assert {row[0]: row[1] for row in rows[1:]} == {
            "defective": "5", "unknown": "2", "not_as_described": "1", "customer_choice": "1",
            "suspected_abuse": "1"}
        # the same figures by SKU in January: a click on SKU-A's bar lists its three units
        page.get_by_test_id("reasons-reason").select_option("defective")
        page.get_by_test_id("reasons-dimension").select_option("sku")
        page.get_by_test_id("reasons-to").fill("2026-01")
        page.get_by_test_id("reasons-show").click()
        bar = page.get_by_test_id("reasons-chart").locator("rect[data-label=SKU-A]")
        expect(bar).to_have_attribute("data-value", "3")
        bar.click()
        lines = page.get_by_test_id("reasons-line")
        expect(lines).to_have_count(2)
        expect(page.get_by_test_id("reasons-lines")).to_contain_text("s1 R1 #1")
        expect(page.get_by_test_id("reasons-lines")).to_contain_text("Kunde sagt: Gerät kaputt")
        # the trend per month in the same filters: January only, five defective units
        trend = page.get_by_test_id("reasons-chart-trend").locator("rect")
        expect(trend).to_have_count(1)
        expect(trend).to_have_attribute("data-value", "5")


def test_a_regional_manager_sees_their_stores_only(desk: DeskHub) -> None:
    seed(desk.engine)
    store.classify_pending(desk.engine)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(width=768, height=1024) as page:  # a tablet upright
        sign_in(page, desk, "nora")
        page.get_by_test_id("nav-reasons").click()
        page.get_by_test_id("reasons-dimension").select_option("store")
        page.get_by_test_id("reasons-show").click()
        chart = page.get_by_test_id("reasons-chart")
        expect(chart.locator("rect")).to_have_count(2)
        expect(chart.locator("rect[data-label=s1]")).to_have_attribute("data-value", "3")
        expect(page.get_by_test_id("reasons-unmapped")).to_have_count(0)
        expect(page.get_by_test_id("reasons-problem")).to_have_text("")
        outside = page.evaluate(OUTSIDE)
        assert outside == [], outside


def test_metrics_say_how_many_returns_wait_for_their_reasons(desk: DeskHub) -> None:
    seed(desk.engine)  # four store returns, their lines queued as they were stored
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    assert "acorn_hub_reasons_queued 4.0" in ada.get("/metrics").text
    store.classify_pending(desk.engine)
    assert "acorn_hub_reasons_queued 0.0" in ada.get("/metrics").text
