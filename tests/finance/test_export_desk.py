"""The desk's Exports tab in headless Chromium on a tablet-sized page: finance sees the FX gain
or loss per month as a chart with its table and CSV, downloads the DATEV file and the OSS
summary of the chosen entity and month, and reads the hub's refusal as a sentence; a store
manager has no Exports tab."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.access.permissions import Role, Scope
from tests.finance.exports_seed import seed
from tests.finance.test_reasons_desk import sign_in
from tests.people.conftest import DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

OUTSIDE = """() => [...document.querySelectorAll(
    "#exports-view td, #exports-view input, #exports-view select, #exports-view svg, " +
    "#exports-view button")]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
  .map((e) => e.outerHTML.slice(0, 80))"""


def test_finance_reads_the_fx_chart_and_downloads_datev_and_oss(desk: DeskHub) -> None:
    seed(desk.engine)
    add_user(desk.engine, "fiona", Role.FINANCE)
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(768, 1024, accept_downloads=True) as page:  # a tablet held upright
        sign_in(page, desk, "fiona")
        page.get_by_test_id("nav-exports").click()
        bar = page.get_by_test_id("exports-fx-chart-EUR").locator("rect[data-label='2026-11']")
        expect(bar).to_have_attribute("data-value", "2.94")
        table = page.get_by_test_id("exports-fx-table")
        expect(table.locator("tr[data-month='2026-11'] td[data-col=gain]")).to_have_text("2.94")
        expect(page.get_by_test_id("exports-fx-refunds")).to_contain_text("s1/rf-uk")
        assert page.evaluate(OUTSIDE) == []
        page.get_by_test_id("exports-entity").select_option("de")
        page.get_by_test_id("exports-period").fill("2026-11")
        with page.expect_download() as caught:
            page.get_by_test_id("exports-datev").click()
        assert caught.value.suggested_filename == "EXTF_Buchungsstapel_de_2026-11.csv"
        data = Path(caught.value.path()).read_bytes()
        assert data.startswith(b'"EXTF";700;21;"Buchungsstapel";13;')
        assert data.count(b"\r\n") == 10 and "Schlüssel".encode("cp1252") in data
        with page.expect_download() as caught:
            page.get_by_test_id("exports-oss").click()
        assert caught.value.suggested_filename == "oss-de-2026-Q4.csv"
        assert b"FR,20,EUR,75.00,15.00" in Path(caught.value.path()).read_bytes()
        with page.expect_download() as caught:
            page.get_by_test_id("exports-fx-csv").click()
        assert b"2026-11,EUR,1,50.00,47.06,2.94" in Path(caught.value.path()).read_bytes()
        # the US entity has no DATEV settings: the hub's sentence, no file
        page.get_by_test_id("exports-entity").select_option("us")
        page.get_by_test_id("exports-datev").click()
        expect(page.get_by_test_id("exports-problem")).to_contain_text("no DATEV settings")


def test_a_store_manager_has_no_exports_tab(desk: DeskHub) -> None:
    add_user(desk.engine, "sam", Role.STORE_MANAGER, Scope(store="s1"))
    with chromium_page() as page:
        sign_in(page, desk, "sam")
        sync_api.expect(page.get_by_test_id("nav-exports")).to_be_hidden()
