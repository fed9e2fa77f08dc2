"""The Dead letters tab in Chromium against a hub serving its API: an admin replays the event of a
wiped node once (the button is gone after, the return is there once) and discards a forged
message with a reason; a technician does not see the tab."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.access.permissions import Role
from hub.storage.engine import reading
from hub.storage.tables.core import returns
from tests.hub.conftest import RunningHub, api_hub, db_url  # noqa: F401  (fixtures)
from tests.hub.helpers import ingest, received
from tests.people.conftest import PASSWORD, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def sign_in(page: object, url: str, username: str) -> None:
    by = page.get_by_test_id  # type: ignore[attr-defined]
    page.goto(f"{url}/desk")  # type: ignore[attr-defined]
    by("username").fill(username)
    by("password").fill(PASSWORD)
    by("sign-in").click()
    sync_api.expect(page.locator("body[data-ready=true]")).to_have_count(1)  # type: ignore[attr-defined]


def test_an_admin_replays_a_wiped_nodes_event_once_and_discards_with_a_reason(
        api_hub: RunningHub,  # noqa: F811
) -> None:
    engine, url = api_hub.engine, str(api_hub.client.base_url).rstrip("/")
    ingest(engine, received("s1", "n1", 1, "R-OLD"))
    ingest(engine, received("s1", "n1", 1, "R-WIPED"))  # the same seq again: a wiped database
    ingest(engine, ("acorn/v1/stores/s1/nodes/n1/events", b"{forged"))
    add_user(engine, "ada", Role.ADMIN)
    add_user(engine, "tess", Role.TECHNICIAN)
    expect = sync_api.expect
    with chromium_page(1366, 768) as page:
        by = page.get_by_test_id
        sign_in(page, url, "tess")
        expect(by("nav-deadletters")).to_be_hidden()
    with chromium_page(1366, 768) as page:
        by = page.get_by_test_id
        sign_in(page, url, "ada")
        by("nav-deadletters").click()
        rows = page.locator("[data-testid=dead-letter-row]")
        expect(rows).to_have_count(2)
        wiped = rows.filter(has_text="return.received")
        forged = rows.filter(has_not_text="return.received")
        expect(forged.get_by_test_id("dead-letter-replay")).to_have_count(0)
        wiped.get_by_test_id("dead-letter-replay").click()
        expect(by("toast")).to_contain_text("applied once")
        expect(rows).to_have_count(1)  # the replayed one is resolved: off the open list
        forged.get_by_test_id("dead-letter-discard").click()
        expect(by("toast")).to_contain_text("reason")  # the hub refuses a discard without one
        forged.get_by_test_id("dead-letter-reason").fill("garbage from a test tool")
        forged.get_by_test_id("dead-letter-discard").click()
        expect(by("toast")).to_contain_text("discarded")
        expect(rows).to_have_count(0)
        by("dead-letters-all").check()
        expect(rows).to_have_count(2)
        expect(rows.get_by_test_id("dead-letter-state").first).to_contain_text("discarded")
        expect(page.get_by_text("replayed as replay seq 1")).to_have_count(1)
        expect(page.get_by_test_id("dead-letter-replay")).to_have_count(0)
    with reading(engine) as conn:
        assert sorted(conn.scalars(select(returns.c.return_id))) == ["R-OLD", "R-WIPED"]
