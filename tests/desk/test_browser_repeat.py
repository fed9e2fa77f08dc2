"""The desk decides once, whatever the hands and the network do (issue 9, "What broke" 4): a
double click on Approve, an approval whose answer is lost and retried by the page, and a bulk
approval re-sent after a reload each make one decision per refund, one audit entry and one
command to the store. A real hub (both databases) seeded through its ingest, headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.access.permissions import Role
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, commands, refunds
from tests.desk.seed import Ask, seed
from tests.people.conftest import PASSWORD, DeskHub, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page, wait_in_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

ASKS = [Ask("s1", "1", "80.00"), Ask("s2", "4", "60.00")]


@pytest.fixture
def page() -> Iterator[Any]:
    """A laptop-sized page in headless Chromium that accepts the bulk approval's confirm()."""
    with chromium_page(1280, 800) as page:
        page.on("dialog", lambda dialog: dialog.accept())
        yield page


@pytest.fixture
def hq(desk: DeskHub) -> DeskHub:
    """Two refunds waiting for approval (s1/F1, s2/F4); finn of finance may approve both."""
    seed(desk.engine, ASKS)
    add_user(desk.engine, "finn", Role.FINANCE)
    return desk


def facts(hub: DeskHub) -> tuple[int, int, dict[str, str]]:
    """Audit entries, commands queued to stores, and each refund's state."""
    with reading(hub.engine) as conn:
        audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        told = conn.execute(select(func.count()).select_from(commands)).scalar_one()
        states = {r.refund_id: r.state
                  for r in conn.execute(select(refunds.c.refund_id, refunds.c.state))}
    return int(audits), int(told), states


def sign_in(hub: DeskHub, page: Any) -> Any:
    expect, by = sync_api.expect, page.get_by_test_id
    expect.set_options(timeout=15_000)
    page.goto(f"{hub.url}/desk")
    by("username").fill("finn")
    by("password").fill(PASSWORD)
    by("sign-in").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(by("queue-row")).to_have_count(2)
    return by


def open_f1(page: Any) -> Any:
    page.locator("[data-testid=queue-row][data-refund=F1]").click()
    sync_api.expect(page.get_by_test_id("story")).to_be_visible()


def test_a_double_click_on_approve_decides_once(hq: DeskHub, page: Any) -> None:
    """Promise: a double click on Approve makes one decision, one audit entry, one command."""
    before = facts(hq)
    by = sign_in(hq, page)
    open_f1(page)
    by("approve").dblclick()
    sync_api.expect(by("toast")).to_contain_text("refund F1 approved")
    sync_api.expect(by("queue-row")).to_have_count(1)
    audits, told, states = facts(hq)
    assert states["F1"] == "approved" and states["F4"] == "pending_approval"
    assert (audits, told) == (before[0] + 1, before[1] + 1)


def test_a_lost_approval_answer_is_retried_once_and_shown_as_done(hq: DeskHub, page: Any) -> None:
    """Promise: when the hub's answer to Approve is lost, the page retries with the same key and
    shows the approval as done; the hub decided once."""
    keys: list[str] = []

    def lose_first(route: Any) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the hub decides...
            route.abort("connectionreset")  # ...and the answer never arrives
        else:
            route.continue_()

    page.route("**/api/refunds/F1/approve*", lose_first)
    before = facts(hq)
    by = sign_in(hq, page)
    open_f1(page)
    by("approve").click()
    sync_api.expect(by("toast")).to_contain_text("refund F1 approved")
    sync_api.expect(by("toast")).not_to_have_class("toast bad")
    assert len(keys) == 2 and len(set(keys)) == 1
    audits, told, states = facts(hq)
    assert states["F1"] == "approved"
    assert (audits, told) == (before[0] + 1, before[1] + 1)


def test_a_bulk_approval_re_sent_after_a_reload_decides_once(hq: DeskHub, page: Any) -> None:
    """Promise: a reload while a bulk approval waits for its answer re-sends it with its key:
    each refund approved once, one audit entry and one command each."""
    keys: list[str] = []
    reloaded = False

    def lose_until_reload(route: Any) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if reloaded:
            route.continue_()
            return
        if len(keys) == 1:
            route.fetch()  # approved at the hub, answer lost
        route.abort("connectionreset")

    page.route("**/api/refunds/bulk-approve", lose_until_reload)
    before = facts(hq)
    by = sign_in(hq, page)
    by("select").nth(0).check()
    by("select").nth(1).check()
    by("bulk-approve").dblclick()
    wait_in_page(page, lambda: keys, 10, "the first try")
    reloaded = True
    page.reload()
    sync_api.expect(by("toast")).to_contain_text("2 refunds approved")
    sync_api.expect(by("queue-row")).to_have_count(0)
    assert len(set(keys)) == 1 and len(keys) >= 2
    audits, told, states = facts(hq)
    assert states["F1"] == states["F4"] == "approved"
    assert (audits, told) == (before[0] + 2, before[1] + 2)
