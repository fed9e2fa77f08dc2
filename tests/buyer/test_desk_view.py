"""The desk's Stock tab lists the returns buyers booked online with where each stands, and a
scoped reader sees only its stores (a real hub of its own, the desk in Chromium)."""

from __future__ import annotations

import pytest

from hub.access.permissions import Role, Scope
from hub.returns.buyer import Limits, book
from protocol import utc_now
from tests.buyer.conftest import ORDER, POSTCODE, seed_engine
from tests.people.conftest import DeskHub, add_user
from tests.people.conftest import desk as desk
from tests.support.browser import CHROMIUM

ROOMY = Limits(per_client=100, overall=1000)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_the_desk_lists_booked_returns_by_status(desk: DeskHub) -> None:
    from playwright.sync_api import expect

    from tests.routing.test_desk import sign_in
    from tests.support.browser import chromium_page

    seed_engine(desk.engine)
    done = book(desk.engine, ORDER, POSTCODE, "store-a", {"MUG-01": 1}, "198.51.100.7", ROOMY,
                utc_now())
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "ola", Role.VIEWER, Scope(store="store-far"))
    assert desk.sign_in("ola").get("/api/buyer-returns").json() == []  # not its store
    expect.set_options(timeout=15_000)
    with chromium_page() as page:
        sign_in(page, desk, "ada")
        page.get_by_test_id("nav-stock").click()
        row = page.get_by_test_id("buyer-return-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-code", done.code)
        expect(row.get_by_test_id("buyer-return-status")).to_have_text("expected")
        page.get_by_test_id("buyer-returns-status").select_option("received")
        expect(row).to_have_count(0)
        expect(page.get_by_test_id("buyer-returns-empty")).to_be_visible()
