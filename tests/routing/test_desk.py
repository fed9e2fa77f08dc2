"""The desk's routed orders (Stock tab) in headless Chromium on a tablet-sized page: an order
opens on its reasons and each store's verdict; a regional manager routes it to another store of
their region with a reason, once, and the audit names them."""

from __future__ import annotations

from typing import Any

import pytest

from hub.access.permissions import Role, Scope
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.routing.db_support import audits
from tests.routing.test_api import ORDER, routed
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def sign_in(page: Any, desk: DeskHub, username: str) -> None:
    page.goto(f"{desk.url}/desk")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("sign-in").click()
    sync_api.expect(page.locator("body[data-ready=true]")).to_have_count(1)


def test_a_manager_reads_the_reasons_and_routes_an_order_by_hand(desk: DeskHub) -> None:
    routed(desk)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page() as page:  # a tablet, landscape
        sign_in(page, desk, "nora")
        page.get_by_test_id("nav-stock").click()
        row = page.get_by_test_id("routing-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-order", ORDER)
        expect(row).to_have_attribute("data-status", "routed")
        expect(row.get_by_test_id("routing-stores")).to_have_text("s1")
        detail = page.get_by_test_id("routing-detail")
        expect(detail).to_be_hidden()
        row.get_by_test_id("routing-open").click()
        expect(detail).to_be_visible()
        expect(detail.get_by_test_id("routing-reasons")).to_contain_text(
            "s1 fills the whole order and ranks first of 3")
        expect(detail.locator("[data-store=s3]")).to_contain_text("rank 3")
        detail.get_by_test_id("routing-store").fill("s3")  # Portland: out of nora's region
        detail.get_by_test_id("routing-reason").fill("try the west")
        detail.get_by_test_id("routing-route").click()
        expect(detail.get_by_test_id("routing-problem")).to_contain_text("outside")
        detail.get_by_test_id("routing-store").fill("s2")
        detail.get_by_test_id("routing-reason").fill("the customer collects it in Chicago")
        detail.get_by_test_id("routing-route").dblclick()
        expect(page.get_by_test_id("routing-row")).to_have_attribute("data-status", "manual")
        expect(page.get_by_test_id("routing-stores")).to_have_text("s2")
    (entry,) = audits(desk.engine, "order.rerouted")  # the double click routed once
    assert (entry.actor, entry.reason) == ("nora", "the customer collects it in Chicago")
