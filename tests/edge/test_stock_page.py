"""The counter page shows a scanned SKU's stock (headless Chromium, real agent, real SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.edge.conftest import Running
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page() -> Iterator[object]:
    with chromium_page(has_touch=True, timezone_id="UTC") as page:
        yield page


def test_a_scanned_sku_shows_its_stock_and_an_unknown_code_shows_none(
        agent: Running, page: object) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    agent.http.post("/api/stock/counts", json={"count_id": "c1", "lines": [
        {"sku": "SKU-KETTLE-1", "quantity": 6}]})
    agent.http.post("/api/pos/sales", json={"pos_transaction_id": "t1",
                                            "lines": [{"sku": "SKU-KETTLE-1", "qty": 2}]})
    by = page.get_by_test_id  # type: ignore[attr-defined]
    page.goto(f"{agent.url}/")  # type: ignore[attr-defined]
    expect(page.locator("body[data-ready=true]")).to_have_count(1)  # type: ignore[attr-defined]
    by("scan-input").fill("SKU-KETTLE-1")
    by("scan-input").press("Enter")
    expect(by("stock-panel")).to_be_visible()
    expect(by("stock-sku")).to_have_text("SKU-KETTLE-1")
    expect(by("stock-sellable")).to_have_text("4")
    expect(by("stock-on-hand")).to_have_text("4")
    expect(by("stock-needs-count")).to_be_hidden()
    by("scan-input").fill("NOTHING-HERE")
    by("scan-input").press("Enter")
    expect(by("stock-panel")).to_be_hidden()


def test_the_counter_warns_in_the_store_s_language_before_selling_kept_back_stock(
        agent: Running, page: object) -> None:
    from tests.edge.test_stock_kept_back import SHOP, WEB, apply_allocation, part

    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    agent.http.post("/api/stock/counts", json={"count_id": "c1", "lines": [
        {"sku": "SKU-W", "quantity": 4}, {"sku": "SKU-X", "quantity": 5}]})
    # SKU-W: 4 kept back (selling one leaves 3: warned), SKU-X: 2 kept back of 5
    apply_allocation(agent, part(WEB, SHOP), language="de")
    by = page.get_by_test_id  # type: ignore[attr-defined]
    page.goto(f"{agent.url}/")  # type: ignore[attr-defined]
    expect(page.locator("body[data-ready=true]")).to_have_count(1)  # type: ignore[attr-defined]
    by("scan-input").fill("SKU-X")
    by("scan-input").press("Enter")
    expect(by("stock-sku")).to_have_text("SKU-X")
    expect(by("stock-kept-back")).to_be_hidden()
    by("scan-input").fill("SKU-W")
    by("scan-input").press("Enter")
    expect(by("stock-sku")).to_have_text("SKU-W")
    expect(by("stock-kept-back")).to_be_visible()
    expect(by("stock-kept-back")).to_contain_text("Achtung: 4 verkaufbar, 4 für Online")
