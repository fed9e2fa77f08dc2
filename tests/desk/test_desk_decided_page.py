"""The desk's decided view and store names in headless Chromium over a real hub (both databases).

Promises: stores read "Name (city / region)" in the queue, its filter, the story and the decided
view; the decided view searches with the keyboard alone (type, Enter), pages, opens a refund's
story from its row, and shows the hub's words for a refused search under the form.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.access.permissions import Role
from hub.fleet import stores
from tests.desk.seed import Ask, seed
from tests.desk.test_desk_page import sign_in, tab_to
from tests.people.conftest import SETUP, DeskHub, add_user
from tests.support.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
OSLO = "Oslo Sentrum (oslo / north)"


@pytest.fixture
def hub(desk: DeskHub) -> DeskHub:
    """26 small refunds approved by the policy (25 in s2), one rejected by finn, one waiting."""
    stores.set_store(desk.engine, "s1", SETUP, name="Oslo Sentrum")
    small = [Ask("s2", f"{n}", "10.00", hours_ago=5) for n in range(10, 35)]
    seed(desk.engine, [*small, Ask("s1", "1", "12.00", order="O-1", sku="SKU-A"),
                       Ask("s1", "2", "80.00", order="O-2"), Ask("s3", "3", "90.00")])
    add_user(desk.engine, "finn", Role.FINANCE)
    answer = desk.sign_in("finn").post("/api/refunds/F2/reject?store=s1",
                                       json={"reason": "worn"})
    assert answer.status_code == 200, answer.text
    return desk


def test_the_decided_view_searches_pages_and_opens_a_story(hub: DeskHub, page: Any) -> None:
    expect, by = sync_api.expect, sign_in(hub, page, "finn", 1)
    expect(by("store")).to_have_text(["s3 (rome / south)"])  # the queue: F3 waits
    options = by("filter-store").evaluate("s => [...s.options].map((o) => o.textContent)")
    assert options == ["any", "s3 (rome / south)"]

    by("nav-decided").click()
    expect(by("decided-total")).to_have_text("27 decided")
    expect(by("decided-row")).to_have_count(25)
    expect(by("decided-page-info")).to_have_text("1–25 of 27")
    by("decided-next").click()
    expect(by("decided-page-info")).to_have_text("26–27 of 27")
    expect(by("decided-row")).to_have_count(2)
    by("decided-prev").click()
    expect(by("decided-page-info")).to_have_text("1–25 of 27")

    stores_offered = by("search-store").evaluate("s => [...s.options].map((o) => o.textContent)")
    assert stores_offered == ["any", OSLO, "s2 (bergen / north)", "s3 (rome / south)"]

    # the keyboard alone: focus the order id, type, Enter; Tab to the row's button, Enter
    by("search-order").focus()
    page.keyboard.type("O-2")
    page.keyboard.press("Enter")
    expect(by("decided-total")).to_have_text("1 decided")
    expect(by("decided-row")).to_have_count(1)
    expect(by("decided-store")).to_have_text([OSLO])
    expect(by("decided-state")).to_have_text(["rejected"])
    assert tab_to(page, "open-decided", "F2")["visible"]
    page.keyboard.press("Enter")
    expect(by("story")).to_be_visible()
    expect(by("story")).to_contain_text(OSLO)
    expect(by("story")).to_contain_text("order:O-2")  # the customer key, to search by
    expect(by("story-state")).to_have_text("rejected")
    expect(by("why-not")).to_have_text("the refund is rejected")
    expect(by("decide")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(by("story")).to_be_hidden()

    by("search-clear").click()
    expect(by("decided-total")).to_have_text("27 decided")
    by("search-sku").fill("SKU-A")
    by("search-outcome").select_option("approved")  # a select searches at once
    expect(by("decided-total")).to_have_text("1 decided")
    expect(by("decided-row")).to_have_attribute("data-refund", "F1")
    by("search-sku").fill("")
    by("search-outcome").select_option("")
    by("search-store").select_option("s2")
    expect(by("decided-total")).to_have_text("25 decided")

    by("search-min").fill("70")
    by("search-max").fill("50")
    by("search-go").click()
    expect(by("search-problem")).to_contain_text("min_amount 70 is above max_amount 50")
    expect(by("decided-row")).to_have_count(0)
    by("search-min").fill("5")
    by("search-go").click()
    expect(by("search-problem")).to_be_hidden()
    expect(by("decided-total")).to_have_text("25 decided")
