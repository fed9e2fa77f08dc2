"""The counter page in Chromium shows the self-test: the clock guard's sentence while the
node's clock is off the hub's (returns refused), and a re-run from the page that lifts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edge.conftest import running_agent, wait_until
from tests.edge_hw.conftest import hw_settings
from tests.edge_hw.test_selftest import HubClock, hub_clock  # noqa: F401  (fixture)
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def test_the_counter_page_shows_the_clock_guard_and_a_rerun_lifts_it(
        tmp_path: Path, hub_clock: HubClock) -> None:  # noqa: F811
    hub_clock.skew = -400.0
    settings = hw_settings(tmp_path, hub_url=hub_clock.url)  # the start-up self-test runs
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with running_agent(settings, connect=False) as run, chromium_page() as page:
        wait_until(lambda: run.http.get("/api/selftest").json()["refusal"])
        by = page.get_by_test_id
        page.goto(f"{run.url}/")
        expect(by("selftest-guard")).to_be_visible()
        expect(by("selftest-guard")).to_contain_text("400 s ahead of the hub")
        expect(by("selftest-verdict")).to_have_attribute("data-passed", "false")
        expect(page.locator("[data-testid=selftest-check][data-check=clock]")).to_have_attribute(
            "data-outcome", "fail")
        hub_clock.skew = 0.0
        by("selftest-run").click()
        expect(by("selftest-verdict")).to_have_attribute("data-passed", "true")
        expect(by("selftest-guard")).to_be_hidden()
