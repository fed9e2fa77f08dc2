"""The desk's transfers (Stock tab) in headless Chromium on a tablet-sized page: the transfers
with their lines' figures; finance picks a month and reads who owes whom between stores and
regions, each store's net, and downloads the lines as CSV; a store manager gets the hub's
refusal for the settlement, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.access.permissions import Role, Scope
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.routing.db_support import audits
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.transfers.test_settlement import NOV, request, setup

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def sign_in(page: Any, desk: DeskHub, username: str) -> None:
    page.goto(f"{desk.url}/desk")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("sign-in").click()
    sync_api.expect(page.locator("body[data-ready=true]")).to_have_count(1)


def received_in_november(desk: DeskHub) -> None:
    from tests.hub.helpers import ingest

    nodes = setup(desk.engine)
    request(desk.engine, "T1", "s1", "s3", {"SKU-A": 2, "SKU-B": 4})
    ingest(desk.engine, *nodes["s1"].ship("T1", {"SKU-A": 2, "SKU-B": 4}, NOV))
    ingest(desk.engine, *nodes["s3"].receive("T1", {"SKU-A": 2, "SKU-B": 4},
                                             {"SKU-A": 2, "SKU-B": 3}, NOV))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_finance_reads_the_month_s_settlement_on_the_desk(desk: DeskHub, tmp_path: Path) -> None:
    received_in_november(desk)
    add_user(desk.engine, "finn", Role.FINANCE)
    add_user(desk.engine, "mona", Role.STORE_MANAGER, Scope(store="s1"))
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(accept_downloads=True) as page:
        sign_in(page, desk, "finn")
        page.get_by_test_id("nav-stock").click()
        row = page.get_by_test_id("transfer-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-status", "received_with_difference")
        expect(row.get_by_test_id("transfer-lines")).to_contain_text("4 × SKU-B, shipped 4, "
                                                                     "received 3, 1 lost")
        page.get_by_test_id("settlement-month").fill("2026-11")
        page.get_by_test_id("settlement-show").click()
        expect(page.get_by_test_id("settlement-summary")).to_contain_text(
            "2 priced transfer line(s); total 33.00 EUR")
        stores = page.get_by_test_id("settlement-store-row")
        expect(stores).to_have_count(1)
        expect(stores).to_contain_text("s3")
        expect(stores).to_contain_text("33.00 EUR")
        expect(page.get_by_test_id("settlement-region-row")).to_contain_text("south")
        expect(page.get_by_test_id("settlement-net-row")).to_have_count(2)
        with page.expect_download() as caught:
            page.get_by_test_id("settlement-csv").click()
        saved = tmp_path / "settlement.csv"
        caught.value.save_as(saved)
        lines = saved.read_text().splitlines()
        assert lines[0].startswith("month,transfer_id,sku,") and len(lines) == 3
    with chromium_page() as page:
        sign_in(page, desk, "mona")
        page.get_by_test_id("nav-stock").click()
        expect(page.get_by_test_id("transfer-row")).to_have_count(1)  # s1 sent it
        page.get_by_test_id("settlement-month").fill("2026-11")
        page.get_by_test_id("settlement-show").click()
        expect(page.get_by_test_id("settlement-problem")).to_contain_text("finance")
        expect(page.get_by_test_id("settlement-result")).to_be_hidden()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_manager_cancels_a_requested_transfer_on_the_desk(desk: DeskHub) -> None:
    setup(desk.engine)
    request(desk.engine, "T9", "s1", "s3", {"SKU-A": 1})
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page() as page:
        sign_in(page, desk, "nora")
        page.get_by_test_id("nav-stock").click()
        row = page.get_by_test_id("transfer-row")
        expect(row).to_have_attribute("data-status", "requested")
        row.get_by_test_id("transfer-cancel").click()
        expect(row.get_by_test_id("transfer-cancel-problem")).to_have_text("Say why first.")
        row.get_by_label("Why cancel").fill("asked twice")
        row.get_by_test_id("transfer-cancel").dblclick()
        expect(row).to_have_attribute("data-status", "cancelled")
        expect(row.get_by_test_id("transfer-cancel")).to_have_count(0)
    assert [e.reason for e in audits(desk.engine, "transfer.cancelled")] == ["asked twice"]
