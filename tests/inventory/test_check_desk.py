"""The desk's Stock tab in headless Chromium (tablet-sized): a difference says how its snapshot
was authenticated and that a recount was sent; a refused page shows "signature invalid" with an
alert and is dismissed; Amazon listing more than the stores hold shows with an alert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.stock.snapshot import Signer
from hub.access.permissions import Role
from hub.storage.engine import writing
from hub.storage.tables.amazon_listings import amazon_listing_changes
from protocol import utc_now
from tests.hub.helpers import ingest
from tests.hub.test_stock_view import story
from tests.inventory.test_check_recount import keep_key, page
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def tablet() -> Iterator[Any]:
    with chromium_page(1024, 768, has_touch=True) as tab:
        yield tab


def test_the_stock_tab_shows_refusals_recounts_and_amazon_differences(
        desk: DeskHub, tablet: Any) -> None:
    keep_key(desk.engine)
    forged = page(6, 4, 9, signer=Signer(ec.generate_private_key(ec.SECP256R1())),
                  snapshot_id="SN2")
    ingest(desk.engine, *story("s1"), page(5, 4, 6), forged)  # signed: +2; then a forgery
    with writing(desk.engine) as tx:  # Amazon accepted 9 of SKU-K; the chain holds 4
        tx.conn.execute(amazon_listing_changes.insert().values(
            account="na", marketplace_id="ATVPDKIKX0DER", sku="SKU-K", change_id=1, quantity=9,
            status="accepted", attempts=1, created_at=utc_now()))
    add_user(desk.engine, "ada", Role.ADMIN)
    expect, by = sync_api.expect, tablet.get_by_test_id
    expect.set_options(timeout=15_000)
    tablet.goto(f"{desk.url}/desk")
    by("username").fill("ada")
    by("password").fill(PASSWORD)
    by("sign-in").click()
    expect(tablet.locator("body[data-ready=true]")).to_have_count(1)
    by("nav-stock").click()

    row = by("stockcheck-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("stockcheck-auth")).to_have_text("signed by the node")
    refusal = by("stockcheck-refusal")
    expect(refusal).to_have_count(1)
    expect(refusal).to_have_attribute("data-alert", "true")
    expect(refusal.get_by_test_id("stockcheck-refusal-reason")).to_contain_text(
        "signature invalid")
    amazon = by("stockcheck-amazon-row")
    expect(amazon).to_have_count(1)
    expect(amazon).to_have_attribute("data-alert", "true")
    expect(amazon.locator("[data-figure=difference]")).to_have_text("+5")

    row.locator("[data-action=recount]").click()
    expect(row.get_by_test_id("stockcheck-recount")).to_contain_text("sent to the store")
    refusal.locator("[data-action=dismiss]").click()
    expect(by("stockcheck-refusals")).to_be_hidden()
