"""The buyer page speaks the order's marketplace language (German for Amazon.de), on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from hub.app import create_app
from hub.settings import Settings
from tests.buyer.conftest import DE_ORDER, DE_POSTCODE, seed
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.databases import migrated
from tests.support.server import serving

pytestmark = BROWSER_MARKS


@pytest.fixture
def hub_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrated(url)
    seed(url)
    with serving(create_app(Settings(database_url=url, mqtt_enabled=False))) as base:
        yield base


def test_an_amazon_de_order_is_shown_in_german(hub_url: str) -> None:
    with chromium_page(390, 844, locale="en-US") as page:
        page.goto(f"{hub_url}/returns")
        expect(page.locator("h1")).to_have_text("Return an item to a store")
        page.fill("#order-id", DE_ORDER)
        page.fill("#postcode", DE_POSTCODE)
        page.click("#find-button")
        page.wait_for_selector("#choose:not([hidden])")
        expect(page.locator("h1")).to_have_text("Artikel im Geschäft zurückgeben")
        assert page.get_attribute("html", "lang") == "de"
        stores = page.locator("#stores li").all_inner_texts()
        assert len(stores) == 1 and "Unter den Linden 1" in stores[0]  # no US store
        assert "Mo " in stores[0]
        assert "1,7 km" in stores[0]  # 10117's shipped centroid, written the German way
        page.click("#book-button")
        page.wait_for_selector("#done:not([hidden])")
        expect(page.locator("#done h2")).to_have_text("Ihr Rücksendecode")
