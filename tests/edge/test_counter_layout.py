"""The counter page fits a phone, a tablet upright and a tablet on its side, in headless Chromium.

At 390 x 844, 768 x 1024 and 1024 x 768: nothing scrolls sideways and every control and table
cell lies inside the window, on the PIN keypad, while a manager records a return (two item rows,
"approve offline" offered) and once it is open (its card, the items table, the inspection form);
on a phone the items table becomes stacked rows that keep their labels. A state that does not fit
is saved as a screenshot in the test's tmp folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.edge.conftest import running_agent
from tests.edge_auth.conftest import apply_config, auth_settings
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.layout import assert_fits

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

SIZES = [(390, 844), (768, 1024), (1024, 768)]
LABELS = """() => [...document.querySelectorAll("#return-lines td")].map((td) => [
  td.dataset.label, getComputedStyle(td, "::before").content])"""


def fill_return(by: Any) -> None:
    """A walk-in return of two items, every field of the form filled, not yet recorded."""
    by("scan-input").fill("4006381333931")
    by("scan-input").press("Enter")
    by("record-manually").click()
    by("return-rma").fill("RMA-2026-000123456")
    by("return-order").fill("ORDER-302-1234567-8912345")
    by("item-price").fill("24.80")
    by("item-desc").fill("Electric kettle, 1.7 l, brushed steel")
    by("item-category").fill("small_appliances")
    by("add-item").click()
    by("item-sku").nth(1).fill("SKU-TOASTER-WIDE-SLOT-2")
    by("item-price").nth(1).fill("19.99")
    by("return-reason").fill("defective")


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_counter_fits_the_window(tmp_path: Path, width: int, height: int) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    settings = auth_settings(tmp_path, store_name="Filiale Berlin-Charlottenburg Kurfürstendamm")
    with running_agent(settings, connect=False) as run, \
            chromium_page(width, height, timezone_id="UTC") as page:
        assert apply_config(run) == "applied"  # staff sign in; max is a manager, limit 50 EUR
        page.goto(run.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        by = page.get_by_test_id
        expect(by("signin")).to_be_visible()
        assert_fits(page, tmp_path / f"counter-{width}x{height}-signin.png")
        by("signin-staff").fill("max")
        for digit in "8080":
            by(f"pin-key-{digit}").click()
        by("signin-submit").click()
        expect(by("staff-name")).to_have_text("max (manager)")
        assert_fits(page, tmp_path / f"counter-{width}x{height}-start.png")

        fill_return(by)
        expect(by("approve-offline")).to_be_visible()
        assert_fits(page, tmp_path / f"counter-{width}x{height}-record.png")

        by("record-return").click()
        expect(by("return-state")).to_have_text("Received")
        expect(page.locator("#return-lines tr")).to_have_count(2)
        assert_fits(page, tmp_path / f"counter-{width}x{height}-return.png")

        labels = page.evaluate(LABELS)
        assert [label for label, _ in labels[:5]] == ["SKU", "Qty", "Price", "Category",
                                                      "Packaging"]
        if width < 700:  # stacked rows: each value shows its label in front of it
            assert all(shown == f'"{label}"' for label, shown in labels), labels
