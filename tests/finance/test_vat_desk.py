"""The Amazon VAT reports section of the desk's Exports tab in headless Chromium, on a tablet
held upright (768x1024) and a phone (390x844): finance reads the imported months (status,
lines, refunds matched and unmatched, ``vat_seed``) and the unmatched refunds listed, nothing
wider than the screen; a finance user with a scoped role reads the hub's refusal in the
section, the rest of the tab still works."""

from __future__ import annotations

import pytest

from hub.access.permissions import Role, Scope
from tests.finance.test_reasons_desk import sign_in
from tests.finance.vat_seed import seed_vat
from tests.people.conftest import DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

OUTSIDE = """() => [...document.querySelectorAll(
    "#exports-vat td, #exports-vat th, #exports-vat h2, #exports-vat h3, #exports-vat p")]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
  .map((e) => e.outerHTML.slice(0, 80))"""


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (390, 844)])
def test_finance_reads_the_months_and_the_unmatched_refunds(
    desk: DeskHub, width: int, height: int
) -> None:
    seed_vat(desk.engine)
    add_user(desk.engine, "fiona", Role.FINANCE)
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(width, height) as page:
        sign_in(page, desk, "fiona")
        page.get_by_test_id("nav-exports").click()
        months = page.get_by_test_id("exports-vat-months")
        november = months.locator("tr[data-month='2026-11']")
        expect(november.locator("td[data-col=status]")).to_have_text("done")
        expect(november.locator("td[data-col=lines]")).to_have_text("3")
        expect(november.locator("td[data-col=matched]")).to_have_text("1")
        expect(november.locator("td[data-col=differing]")).to_have_text("1")
        expect(november.locator("td[data-col=unmatched]")).to_have_text("3")
        expect(months.locator("tr[data-month='2026-10'] td[data-col=status]")).to_have_text(
            "requested")
        unmatched = page.get_by_test_id("exports-vat-unmatched")
        expect(unmatched.locator("tbody tr")).to_have_count(3)
        amazon_only = unmatched.locator("tr[data-side=only_amazon]")
        expect(amazon_only).to_contain_text("only at Amazon")
        expect(amazon_only).to_contain_text("o-m3")
        expect(amazon_only).to_contain_text("5.95 EUR")
        expect(unmatched.locator("tr[data-side=only_acorn]").first).to_contain_text("s1/rf-m2")
        expect(page.get_by_test_id("exports-vat-empty")).to_be_hidden()
        expect(page.get_by_test_id("exports-vat-problem")).to_have_text("")
        page.get_by_test_id("exports-vat").scroll_into_view_if_needed()
        assert page.evaluate(OUTSIDE) == []


def test_a_scoped_finance_user_reads_the_refusal_in_the_section(desk: DeskHub) -> None:
    seed_vat(desk.engine)
    add_user(desk.engine, "fred", Role.FINANCE, Scope(region="north"))
    expect = sync_api.expect
    with chromium_page(768, 1024) as page:
        sign_in(page, desk, "fred")
        page.get_by_test_id("nav-exports").click()
        expect(page.get_by_test_id("exports-vat-problem")).to_contain_text("unlimited scope")
        expect(page.get_by_test_id("exports-vat-months")).to_have_count(0)
        expect(page.get_by_test_id("exports-entity")).to_be_visible()
