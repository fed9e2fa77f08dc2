"""The desk's stock view in headless Chromium: a SKU across the stores in scope, its figures as
of each store's latest move, the charts (by store, by state, per day), and the consistency
check's differences with their resolution."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.access.permissions import Role, Scope
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log
from protocol import StockState
from tests.hub.helpers import ingest
from tests.hub.test_stock_check import snapshot
from tests.hub.test_stock_view import story
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.support.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def test_the_stock_view_shows_a_sku_per_store_with_its_charts(desk: DeskHub, page: Any) -> None:
    ingest(desk.engine, *story("s1"), *story("s3"))
    add_user(desk.engine, "rita", Role.REGIONAL_MANAGER, Scope(region="north"))
    expect, by = sync_api.expect, page.get_by_test_id
    expect.set_options(timeout=15_000)
    page.goto(f"{desk.url}/desk")
    by("username").fill("rita")
    by("password").fill(PASSWORD)
    by("sign-in").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    by("nav-stock").click()
    expect(by("stock-filters")).to_be_visible()
    expect(by("queue")).to_be_hidden()
    by("stock-sku").fill("SKU-K")
    by("stock-show").click()
    rows = by("stock-store-row")
    expect(rows).to_have_count(1)  # s3 is in the south: out of rita's scope
    expect(rows.first).to_have_attribute("data-store", "s1")
    expect(rows.first.locator("[data-state=sellable]")).to_have_text("4")
    expect(by("stock-chain-row").locator("[data-state=sellable]")).to_have_text("4")
    expect(by("chart-by-store").locator("rect")).to_have_count(1)
    expect(by("chart-by-state").locator("rect[data-label=sellable]")).to_have_attribute(
        "data-value", "4")
    expect(by("chart-per-day").locator("rect")).to_have_count(1)  # every move today: net +4
    expect(by("chart-per-day").locator("rect")).to_have_attribute("data-value", "4")
    by("nav-queue").click()
    expect(by("stock-filters")).to_be_hidden()
    by("nav-stock").click()
    by("stock-sku").fill("NOPE")
    by("stock-show").click()
    expect(by("stock-problem")).to_contain_text("no stock known for NOPE")


def test_the_stock_tab_lists_the_check_s_differences_and_resolves_one(desk: DeskHub,
                                                                      page: Any) -> None:
    ingest(desk.engine, *story("s1"), snapshot(5, 4, {"SKU-K": {StockState.SELLABLE: 6}}))
    add_user(desk.engine, "ada", Role.ADMIN)
    expect, by = sync_api.expect, page.get_by_test_id
    expect.set_options(timeout=15_000)
    page.goto(f"{desk.url}/desk")
    by("username").fill("ada")
    by("password").fill(PASSWORD)
    by("sign-in").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    by("nav-stock").click()
    row = by("stockcheck-row")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-alert", "true")
    expect(row.locator("[data-figure=difference]")).to_have_text("+2")
    row.locator("[data-action=accept]").click()
    expect(row).to_have_count(0)
    expect(by("stockcheck-empty")).to_be_visible()
    with reading(desk.engine) as conn:
        actor = conn.execute(select(audit_log.c.actor).where(
            audit_log.c.action == "stock.difference.accept")).scalar_one()
    assert actor == "ada"
