"""The layout check every page test relies on (``tests.support.layout.assert_fits``) does fail a
page that does not fit, names what sticks out and saves the screenshot as evidence; a page that
fits passes and leaves no screenshot behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.layout import assert_fits

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api")


def test_a_page_wider_than_its_window_fails_with_a_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "wide.png"
    with chromium_page(390, 844) as page:
        page.set_content('<body style="margin:0"><button style="margin-left:600px">Refund'
                         "</button></body>")
        with pytest.raises(AssertionError, match="scrolls sideways") as caught:
            assert_fits(page, shot)
    assert "wide.png" in str(caught.value)
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_a_page_that_fits_passes_without_a_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "fits.png"
    with chromium_page(390, 844) as page:
        page.set_content("<body><button>Refund</button><table><tr><td>1</td></tr></table></body>")
        found = assert_fits(page, shot)
    assert found["outside"] == [] and found["viewport"] == 390
    assert not shot.exists()
