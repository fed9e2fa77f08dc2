"""The counter follows the language the hub pushes: an English store (``STORE_LANGUAGE=en``)
whose store settings are set to German on the fleet API shows its counter page in German at the
next page load (Chromium), and its form labels (``/api/options``) too; the agent runs against
a real hub over a private Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.web import page_words
from hub.access.permissions import Role
from hub.fleet import stores
from tests.edge.conftest import NODE, STORE, make_settings, running_agent, wait_until
from tests.fleet.test_store_settings_push import signed_in
from tests.hub.conftest import RunningHub, db_url, hub_settings, start_hub  # noqa: F401
from tests.people.conftest import SETUP, add_user
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def hub(db_url: str, broker: TestBroker) -> Iterator[RunningHub]:  # noqa: F811
    """A hub on the broker, publishing store configs at once when told."""
    yield from start_hub(hub_settings(db_url, broker))


def test_a_language_pushed_by_the_hub_wins_over_store_language_at_the_next_page_load(
        hub: RunningHub, broker: TestBroker, tmp_path: Path) -> None:
    stores.set_store(hub.engine, STORE, SETUP, region="north")
    add_user(hub.engine, "tess", Role.TECHNICIAN)
    settings = make_settings(tmp_path, broker.node_creds(STORE, NODE), currency="EUR",
                             store_language="en", selftest_at_start=False)
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    tech = signed_in(hub, "tess")
    try:
        with running_agent(settings) as run, chromium_page() as page:
            before = wait_until(lambda: run.http.get("/api/health").json()["config_version"])
            page.goto(run.url)
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("#record-title")).to_have_text(page_words.EN["record_title"])
            assert run.http.get("/api/options").json()["language"] == "en"

            answer = tech.patch(f"/api/fleet/stores/{STORE}/settings", json={"language": "de"})
            assert answer.status_code == 200, answer.text
            wait_until(lambda: run.http.get("/api/health").json()["config_version"] > before)

            page.reload()
            expect(page.locator("html")).to_have_attribute("lang", "de")
            expect(page.locator("#record-title")).to_have_text(page_words.DE["record_title"])
            expect(page).to_have_title(page_words.DE["page_title"])
            options = run.http.get("/api/options").json()
            assert options["language"] == "de"
            assert options["labels"]["grade"]["good"] == "Gut"
            assert run.agent.language() == "de" and settings.store_language == "en"
    finally:
        tech.close()
