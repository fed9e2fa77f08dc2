"""The desk's draft check shows the simulation's category warnings (Chromium): a draft naming a
category no SKU has is still valid and publishable, and says so."""

from __future__ import annotations

import pytest

from hub.access.permissions import Role
from tests.hub.helpers import ingest
from tests.inventory.test_catalogue_allocation import COUNTED, DRAFT
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_draft_check_shows_category_warnings(desk: DeskHub) -> None:
    ingest(desk.engine, *COUNTED)
    add_user(desk.engine, "ada", Role.ADMIN)
    expect = sync_api.expect
    with chromium_page(768, 1024) as page:
        by = page.get_by_test_id
        page.goto(f"{desk.url}/desk")
        by("username").fill("ada")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        by("nav-inventory").click()
        expect(by("rules-draft")).not_to_have_value("")
        by("rules-draft").fill(DRAFT)
        by("rules-check-go").click()
        check = by("rules-check")
        expect(check).to_contain_text("Valid.")
        expect(check).to_contain_text("Warnings: safety_stock.categories.garden: no SKU in the "
                                      "stock has the category 'garden'")
        expect(check).to_contain_text("3 of 3 SKUs have no category")
        expect(by("rules-publish")).to_be_enabled()
