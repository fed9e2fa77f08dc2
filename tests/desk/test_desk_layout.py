"""The desk fits a tablet upright, a laptop and a wide screen, in headless Chromium.

At 768, 1366 and 1920 px wide: the sign-in page, the queue (filled, a page of refunds from three
stores, amounts in two currencies, manual reviews), a refund's story, the decided view (its search
form and refunds approved by the policy) and the policy editor (its form with a problem shown at a
field and its YAML view), the fleet view (stores and nodes with alert badges) and the inventory
view (the rules' rollout, the rules, a draft, a store record): nothing scrolls sideways and every
control and table cell lies inside the window, and every select is as wide as its longest
option's text. At 768 the queue's table becomes cards, and every value on a card keeps its
label. A page that does not fit is saved as a screenshot in the test's tmp folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hub.access.permissions import Role
from hub.fleet import stores
from protocol import utc_now
from tests.desk.seed import Ask, seed
from tests.fleet.seed_nodes import seed_cert, seed_node
from tests.people.conftest import PASSWORD, SETUP, DeskHub, add_user, describe_stores, running
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.layout import assert_fits, assert_selects_readable

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

SIZES = [(768, 1024), (1366, 768), (1920, 1080)]
ASKS = [Ask("s1", "1", "80.00", hours_ago=30, by="clerk-with-a-rather-long-staff-id-1"),
        Ask("s2", "2", "1250000.00", hours_ago=9, currency="EUR"),
        Ask("s3", "3", "640.00", hours_ago=2, mismatch=True),
        Ask("s1", "4", "60.00", hours_ago=1, order="302-1234567-8912345-EXTRA-LONG-ORDER"),
        Ask("s2", "5", "999.99", hours_ago=50, currency="EUR"),
        Ask("s3", "6", "150.00", hours_ago=0.5)]
DECIDED = [Ask("s1", "7", "20.00", order="302-1234567-8912345-EXTRA-LONG-ORDER", rma="RMA-77"),
           Ask("s2", "8", "12.50", currency="EUR")]  # approved by the policy at once
LABELS = """() => [...document.querySelectorAll("table.queue tbody td")].map((td) => [
  td.dataset.label, getComputedStyle(td, "::before").content])"""


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[DeskHub]:
    """A hub of its own on SQLite with the three stores described and a queue to show."""
    for running_hub in running(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path):
        describe_stores(running_hub.engine)
        add_user(running_hub.engine, "ada", Role.ADMIN)
        stores.set_store(running_hub.engine, "s1", SETUP, name="Oslo Sentrum Storsenter")
        seed(running_hub.engine, ASKS + DECIDED)
        now = utc_now()
        seed_node(running_hub.engine, "s1", "counter-1", online=True, last_seen=now, pending=12,
                  oldest_unsent=now - timedelta(hours=3), version="1.4.0+build.20261203")
        seed_cert(running_hub.engine, "s1", "counter-1", now + timedelta(days=1))
        seed_node(running_hub.engine, "s2", "counter-1", online=False,
                  last_seen=now - timedelta(days=2), printer="paper_out", scanner="disconnected")
        yield running_hub


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_desk_fits_the_window(hub: DeskHub, tmp_path: Path, width: int, height: int) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(width, height) as page:
        by = page.get_by_test_id
        page.goto(f"{hub.url}/desk")
        expect(by("username")).to_be_visible()
        assert_fits(page, tmp_path / f"desk-{width}-login.png")

        by("username").fill("ada")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        expect(by("queue-row")).to_have_count(len(ASKS))
        by("select").first.check()  # the bulk bar shows what is selected
        assert_fits(page, tmp_path / f"desk-{width}-queue.png")
        assert_selects_readable(page, f"queue at {width}")
        labels = page.evaluate(LABELS)
        assert [label for label, _ in labels[:8]] == ["Select", "Waiting", "Store", "Refund",
                                                      "Amount", "Level", "Why", "Asked by"]
        if width < 820:  # cards: each value shows its label in front of it
            assert all(shown == f'"{label}"' for label, shown in labels), labels

        by("open-refund").nth(1).click()
        expect(by("story")).to_be_visible()
        expect(by("approve")).to_be_visible()
        assert_fits(page, tmp_path / f"desk-{width}-story.png", full_page=False)
        page.evaluate("document.querySelector('#story').scrollTop = 1e6")  # the story's end
        expect(by("approve")).to_be_in_viewport()
        assert_fits(page, tmp_path / f"desk-{width}-story-end.png", full_page=False)
        by("story-close").click()
        expect(by("story")).to_be_hidden()

        by("nav-decided").click()
        expect(by("decided-row")).to_have_count(len(DECIDED))
        assert_fits(page, tmp_path / f"desk-{width}-decided.png")
        assert_selects_readable(page, f"decided view at {width}")  # its search form's choices
        if width < 820:  # cards here too
            labels = page.evaluate(LABELS.replace("table.queue", "table.decided"))
            assert all(shown == f'"{label}"' for label, shown in labels), labels

        by("nav-policy").click()
        expect(by("draft-version")).to_have_text("Draft v2")
        expect(by("pf-tiers[0].below")).to_have_value("50.00")
        by("pf-tiers[1].up_to").fill("1")  # a problem shown at its field fits too
        expect(page.get_by_test_id("field-error")).to_have_count(1)
        assert_fits(page, tmp_path / f"desk-{width}-policy.png")
        selects = assert_selects_readable(page, f"policy form at {width}")
        assert len(selects) >= 3, selects  # the bound of each tier, the timing, the adder
        by("policy-advanced").locator("summary").click()
        expect(by("policy-yaml")).to_be_visible()
        expect(by("policy-yaml")).not_to_have_value("")
        assert_fits(page, tmp_path / f"desk-{width}-policy-yaml.png")

        by("nav-fleet").click()
        expect(by("fleet-row")).to_have_count(5)  # these two, and n1 of each store (the seed)
        expect(by("fleet-alert")).to_have_count(3)  # s1: unsent, certificate; s2: offline
        assert_fits(page, tmp_path / f"desk-{width}-fleet.png")
        assert_selects_readable(page, f"fleet at {width}")
        if width < 820:  # cards here too
            labels = page.evaluate(LABELS.replace("table.queue", "table.fleet"))
            assert all(shown == f'"{label}"' for label, shown in labels), labels

        by("nav-inventory").click()  # the rules' rollout, the rules, a draft, a store record
        expect(by("rollout-row")).to_have_count(3)
        expect(by("record-street")).to_be_visible()
        by("rules-current").locator("summary").click()
        expect(by("rules-yaml")).to_contain_text("marketplaces:")
        expect(by("rules-draft")).not_to_have_value("")
        assert_fits(page, tmp_path / f"desk-{width}-inventory.png")
        assert_selects_readable(page, f"inventory at {width}")
        if width < 820:  # cards here too
            labels = page.evaluate(LABELS.replace("table.queue", "table.rollout"))
            assert all(shown == f'"{label}"' for label, shown in labels), labels


HEADER = """() => ({ header: document.querySelector("header.top").getBoundingClientRect().height,
  tabs: [...document.querySelectorAll("nav .tab")].filter((t) => !t.hidden).map((t) =>
    t.dataset.testid) })"""


@pytest.mark.parametrize(("width", "height"), [(390, 844), (768, 1024)],
                         ids=["phone", "tablet"])
def test_every_tab_is_one_row_and_reachable(hub: DeskHub, tmp_path: Path, width: int,
                                            height: int) -> None:
    """An admin sees every tab; they stay one row (the sticky header leaves the page room) and
    the last one is reached by scrolling that row, then shown as the open tab."""
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(width, height) as page:
        by = page.get_by_test_id
        page.goto(f"{hub.url}/desk")
        by("username").fill("ada")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        found = page.evaluate(HEADER)
        assert len(found["tabs"]) >= 10, found  # the admin's tabs, Fleet and Dead letters too
        assert found["header"] <= height * 0.15, found  # was a third of a phone's height
        last = found["tabs"][-1]
        by(last).click()  # off to the side at first: the row scrolls to it
        expect(by(last)).to_have_attribute("aria-pressed", "true")
        expect(by(last)).to_be_in_viewport()
        assert_fits(page, tmp_path / f"desk-{width}-tabs.png", full_page=False)
