"""The desk's Archive tab in headless Chromium on a tablet: finance closes November, sees the
version verified, downloads a file byte for byte as archived; after one file is altered on disk
the tab names it; a regional manager has no Archive tab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.access.permissions import Role, Scope
from tests.finance.archive_seed import seed
from tests.finance.test_reasons_desk import sign_in
from tests.hub.conftest import hub_settings
from tests.people.conftest import DeskHub, add_user, describe_stores, running
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


OUTSIDE = """() => [...document.querySelectorAll(
    "#archive-view td, #archive-view input, #archive-view a, #archive-view button")]
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
  .map((e) => e.outerHTML.slice(0, 80))"""


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[DeskHub]:
    """A desk hub whose archive lives in the test's folder."""
    settings = hub_settings(
        db_url, archive_dir=tmp_path / "archive", evidence_dir=tmp_path / "evidence"
    )
    for hub in running(db_url, tmp_path, settings):
        describe_stores(hub.engine)
        yield hub


def test_finance_closes_a_month_downloads_and_sees_tampering(desk: DeskHub, tmp_path: Path) -> None:
    seed(desk.engine)
    add_user(desk.engine, "fiona", Role.FINANCE)
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(accept_downloads=True) as page:
        sign_in(page, desk, "fiona")
        page.get_by_test_id("nav-archive").click()
        expect(page.get_by_test_id("archive-empty")).to_be_visible()
        page.get_by_test_id("archive-month").fill("2026-11")
        page.get_by_test_id("archive-close-button").click()
        row = page.locator("tr[data-testid=archive-row][data-month='2026-11']")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("archive-status")).to_have_text("verified")
        link = row.locator("[data-testid=archive-file][data-name='journal/refunds-2026-11.csv']")
        with page.expect_download() as caught:
            link.click()
        archived = tmp_path / "archive/2026-11/v1/journal/refunds-2026-11.csv"
        assert Path(caught.value.path()).read_bytes() == archived.read_bytes()
        with page.expect_download() as caught:
            row.get_by_test_id("archive-manifest").click()
        manifest = Path(caught.value.path()).read_bytes()
        assert manifest == (tmp_path / "archive/2026-11/v1/manifest.json").read_bytes()
        # a second close is refused with the hub's sentence
        page.get_by_test_id("archive-month").fill("2026-11")
        page.get_by_test_id("archive-close-button").click()
        expect(page.get_by_test_id("archive-problem")).to_contain_text("closed already")
        # someone alters an archived file on disk: the tab names it
        archived.parent.chmod(0o755)
        archived.chmod(0o644)
        archived.write_bytes(archived.read_bytes().replace(b"30.00", b"31.00"))
        page.get_by_test_id("nav-queue").click()
        page.get_by_test_id("nav-archive").click()
        expect(row.get_by_test_id("archive-status")).to_contain_text(
            "ALTERED: journal/refunds-2026-11.csv: altered"
        )
        # on a tablet held upright nothing of the tab lies outside the window
        page.set_viewport_size({"width": 768, "height": 1024})
        assert page.evaluate(OUTSIDE) == []


def test_a_regional_manager_has_no_archive_tab(desk: DeskHub) -> None:
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    with chromium_page() as page:
        sign_in(page, desk, "nora")
        sync_api.expect(page.get_by_test_id("nav-archive")).to_be_hidden()
    client = desk.sign_in("nora")
    assert client.get("/api/archive").status_code == 403
