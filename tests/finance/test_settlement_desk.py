"""The desk's Settlements view in headless Chromium on a tablet: finance lists the settlements
(the repeated one once), opens one, reconciles it, reads its difference table and the deposit's
month parts, downloads the difference CSV and resolves each difference with a note until the
settlement is reconciled; a regional manager has no Settlements tab."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hub.access.permissions import Role, Scope
from tests.finance.test_reasons_desk import sign_in
from tests.finance.test_settlement_store import seed
from tests.people.conftest import DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

OUTSIDE = """() => [...document.querySelectorAll(
    "#settlements-view td, #settlements-view button, #settlements-view svg")]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
  .map((e) => e.outerHTML.slice(0, 80))"""


def test_finance_reconciles_and_resolves_a_settlement(desk: DeskHub) -> None:
    seed(desk.engine)
    add_user(desk.engine, "fiona", Role.FINANCE)
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(width=1024, height=768, accept_downloads=True) as page:  # a tablet
        sign_in(page, desk, "fiona")
        page.get_by_test_id("nav-settlements").click()
        rows = page.get_by_test_id("settlements-row")
        expect(rows).to_have_count(2)  # S1 came in two reports: listed once
        s1 = page.locator("[data-testid=settlements-row][data-settlement=S1]")
        expect(s1).to_contain_text("R2")
        expect(s1.locator("[data-status]")).to_have_attribute("data-status", "open")
        s1.get_by_test_id("settlements-open").click()
        page.get_by_test_id("settlements-reconcile").click()
        expect(s1.locator("[data-status]")).to_have_attribute("data-status", "differences")
        differences = page.get_by_test_id("difference")
        expect(differences).to_have_count(2)
        missing = page.locator("[data-testid=difference][data-kind=not_settled]")
        expect(missing).to_contain_text("store-1/F3")
        expect(missing.locator("li[data-part=Tax]")).to_have_text("Tax: -1.90 / 0")
        expect(missing.locator("li[data-part=Shipping]")).to_have_count(0)  # neither side has it
        expect(page.locator("[data-adds-up=true]")).to_have_count(1)
        chart = page.get_by_test_id("settlements-parts-chart")
        expect(chart.locator("rect[data-label='2026-01']")).to_have_attribute("data-value", "208.6")
        expect(chart.locator("rect[data-label='2026-02']")).to_have_attribute("data-value", "32.15")
        with page.expect_download() as caught:
            page.get_by_test_id("settlements-differences-csv").click()
        table = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text("utf-8"))))
        assert [(r["kind"], r["refund"]) for r in table] == [
            ("unknown_to_acorn", ""),
            ("not_settled", "store-1/F3"),
        ]
        outside = page.evaluate(OUTSIDE)
        assert outside == [], outside
        for note in ("Amazon refunded an A-to-z claim itself", "settles next period"):
            page.get_by_test_id("difference-resolve").first.click()
            page.get_by_test_id("resolve-note").fill(note)
            page.get_by_test_id("resolve-confirm").click()
            expect(page.get_by_test_id("resolution").filter(has_text=note)).to_have_count(1)
        expect(s1.locator("[data-status]")).to_have_attribute("data-status", "reconciled")
        expect(page.get_by_test_id("difference-resolve")).to_have_count(0)


def test_a_regional_manager_has_no_settlements_tab(desk: DeskHub) -> None:
    seed(desk.engine)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    with chromium_page(width=768, height=1024) as page:
        sign_in(page, desk, "nora")
        sync_api.expect(page.get_by_test_id("nav-reasons")).to_be_visible()
        sync_api.expect(page.get_by_test_id("nav-settlements")).to_be_hidden()
