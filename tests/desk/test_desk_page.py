"""The desk page in headless Chromium over a real hub (both databases), seeded through its ingest.

Promises: a queue row opens, and its refund is decided, with the keyboard alone, and the focus
shows; every input, select and textarea has a label; the filters offer what ``/api/options``
answers (values only the API knows); amounts are exact however large, and so are sums.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hub.access.permissions import Role
from protocol import Channel
from tests.desk.seed import Ask, seed
from tests.hub.conftest import hub_settings
from tests.people.conftest import PASSWORD, DeskHub, add_user, describe_stores, running
from tests.support.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
STATIC = Path(str(resources.files("hub.web.desk").joinpath("static")))
US = "ATVPDKIKX0DER"

# Every input, select and textarea of the page (shown or not) without a <label> that says
# something, and anything that asks with a placeholder instead.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((e) => ![...e.labels].some((l) => l.textContent.trim()))
  .map((e) => e.id || e.name || e.dataset.testid || e.outerHTML)
  .concat([...document.querySelectorAll("[placeholder]")].map((e) => `placeholder: ${e.id}`))"""
FOCUS = """() => { const e = document.activeElement, s = getComputedStyle(e);
  return { testid: e.dataset.testid || null, refund: e.closest("tr")?.dataset.refund || null,
           visible: e.matches(":focus-visible") && s.outlineStyle !== "none"
                    && parseFloat(s.outlineWidth) >= 2 }; }"""


def sign_in(hub: DeskHub, page: Any, username: str, rows: int) -> Any:
    """Sign ``username`` in through the form; wait for the desk and ``rows`` queue rows."""
    expect, by = sync_api.expect, page.get_by_test_id
    expect.set_options(timeout=15_000)
    page.goto(f"{hub.url}/desk")
    by("username").fill(username)
    by("password").fill(PASSWORD)
    by("sign-in").click()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(by("queue-row")).to_have_count(rows)
    return by


def tab_to(page: Any, testid: str, refund: str | None = None, most: int = 40) -> dict[str, Any]:
    """Press Tab until the element ``testid`` (in ``refund``'s row) has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        focus: dict[str, Any] = page.evaluate(FOCUS)
        if focus["testid"] == testid and (refund is None or focus["refund"] == refund):
            return focus
    raise AssertionError(f"{most} Tabs never reached {testid} {refund or ''}")


def test_a_refund_opens_and_is_approved_with_the_keyboard_alone(desk: DeskHub, page: Any) -> None:
    seed(desk.engine, [Ask("s1", "1", "80.00", hours_ago=3), Ask("s2", "4", "60.00")])
    add_user(desk.engine, "finn", Role.FINANCE)
    expect, by = sync_api.expect, sign_in(desk, page, "finn", 2)

    focus = tab_to(page, "open-refund", "F1")
    assert focus["visible"], "the focused row button shows its focus"
    expect(page.get_by_role("button", name="Open refund F1 of store s1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(by("story")).to_be_visible()
    expect(page.locator("#story-title")).to_contain_text("Refund F1")
    page.keyboard.press("Escape")
    expect(by("story")).to_be_hidden()
    assert page.evaluate(FOCUS)["refund"] == "F1", "closing gives the focus back to its row"

    page.keyboard.press("Enter")
    expect(by("story")).to_be_visible()
    tab_to(page, "decision-reason")
    page.keyboard.type("receipt checked")
    assert tab_to(page, "approve")["visible"]
    page.keyboard.press("Enter")
    expect(by("toast")).to_have_text("refund F1 approved")
    expect(by("queue-row")).to_have_count(1)
    focus = page.evaluate(FOCUS)
    assert (focus["testid"], focus["refund"]) == ("open-refund", "F4"), "focus on the next refund"


def test_every_input_select_and_textarea_has_a_label(desk: DeskHub, page: Any) -> None:
    seed(desk.engine, [Ask("s1", "1", "80.00")])
    add_user(desk.engine, "ada", Role.ADMIN)
    page.goto(f"{desk.url}/login?locked=61")  # login.js (a module too) says how long to wait
    sync_api.expect(page.get_by_test_id("locked")).to_contain_text("Try again in 2 minutes")
    assert page.evaluate(UNLABELLED) == []
    by = sign_in(desk, page, "ada", 1)
    by("queue-row").first.click()
    sync_api.expect(by("story")).to_be_visible()
    assert page.locator("input, select, textarea").count() >= 12  # filters, rows, story, policy
    assert page.evaluate(UNLABELLED) == []
    for status in ("toast", "queue-total", "selection", "sim-status"):
        assert by(status).get_attribute("aria-live") == "polite", status


@pytest.fixture
def late_desk(db_url: str, tmp_path: Path) -> Iterator[DeskHub]:
    """A hub whose desk aims to decide within 10 hours (both databases)."""
    for hub in running(db_url, tmp_path, hub_settings(db_url, desk_target_hours=10)):
        describe_stores(hub.engine)
        yield hub


def shown(page: Any, testid: str) -> list[dict[str, str]]:
    """A select's options as the page shows them."""
    script = "s => [...s.options].map((o) => ({ value: o.value, label: o.textContent }))"
    return list(page.get_by_test_id(testid).evaluate(script))


def test_the_filters_offer_what_the_options_api_answers(late_desk: DeskHub, page: Any) -> None:
    seed(late_desk.engine, [
        Ask("s1", "1", "80.00", hours_ago=7),
        Ask("s2", "4", "60.00", hours_ago=1, channel=Channel.AMAZON_MFN, marketplace=US,
            order="O-9"),
    ])
    add_user(late_desk.engine, "finn", Role.FINANCE)
    options = late_desk.sign_in("finn").get("/api/options").json()
    by = sign_in(late_desk, page, "finn", 2)

    # The ages follow this hub's 10-hour target: values no file of the page holds.
    assert [o["value"] for o in options["ages"]] == ["5", "10", "20"]
    files = " ".join(p.read_text(encoding="utf-8") for p in STATIC.iterdir())
    for only_the_api_knows in ("over 5 h", '"20"', "inspection at the store", "Amazon US"):
        assert only_the_api_knows not in files
    assert shown(page, "filter-age") == [{"value": "", "label": "any time"}, *options["ages"]]
    assert shown(page, "filter-waiting-for") == options["waiting_for"]
    assert shown(page, "filter-review") == [{"value": "", "label": "all"}, *options["review"]]
    level_words = {o["value"]: o["label"] for o in options["approval_levels"]}
    assert shown(page, "filter-level")[1] == {"value": "1", "label": level_words["1"]}
    assert {"value": US, "label": "Amazon US"} in shown(page, "filter-marketplace")

    by("filter-age").select_option("5")
    sync_api.expect(by("queue-row")).to_have_count(1)
    sync_api.expect(by("queue-row").first).to_have_attribute("data-refund", "F1")
    by("filter-age").select_option("")
    sync_api.expect(by("queue-row")).to_have_count(2)
    by("filter-marketplace").select_option(US)
    sync_api.expect(by("queue-row")).to_have_count(1)  # (true before the reload: wait for F4)
    sync_api.expect(by("queue-row").first).to_have_attribute("data-refund", "F4")
    by("queue-row").first.click()
    sync_api.expect(by("story")).to_contain_text("Amazon (we ship) · Amazon US")
    sync_api.expect(by("story-state")).to_have_text("waiting for approval")


def test_amounts_and_their_sums_are_exact_however_large(desk: DeskHub, page: Any) -> None:
    """0.10 + 0.20 is 0.30, 12,345,678,901.23 is shown to the cent, and the hub agrees with the
    total the page sends (it refuses a total other than its own with 409)."""
    seed(desk.engine, [  # an item mismatch sends even 0.10 to manual review
        Ask("s1", "1", "0.10", hours_ago=3, mismatch=True, order="O-1"),
        Ask("s1", "2", "0.20", hours_ago=2, mismatch=True, order="O-2"),
        Ask("s1", "3", "12345678901.23", hours_ago=1),
    ])
    add_user(desk.engine, "finn", Role.FINANCE)
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data or "null"))
            if r.url.endswith("/bulk-approve") else None)
    expect, by = sync_api.expect, sign_in(desk, page, "finn", 3)
    expect(by("amount")).to_have_text(["0.10 USD", "0.20 USD", "12,345,678,901.23 USD"])

    for box in range(3):
        by("select").nth(box).check()
    expect(by("selection")).to_have_text("3 selected · 12,345,678,901.53 USD")
    by("bulk-approve").click()
    expect(by("toast")).to_contain_text("above your bulk approval limit")  # the total matched
    assert page.confirms == ["Approve 3 refunds totalling 12,345,678,901.53 USD?"]
    assert sent[0]["expected_total"] == {"amount": "12345678901.53", "currency": "USD"}

    by("select").nth(2).uncheck()
    expect(by("selection")).to_have_text("2 selected · 0.30 USD")
    by("bulk-approve").click()
    expect(by("toast")).to_have_text("2 refunds approved")
    expect(by("queue-row")).to_have_count(1)
    assert sent[-1]["expected_total"] == {"amount": "0.30", "currency": "USD"}


MONEY_CASES = """async () => {
  const m = await import("/desk/static/common.js");
  const refused = (f) => { try { f(); return false; } catch { return true; } };
  return {
    tenths: m.addAmounts(["0.10", "0.20"]),
    large: m.addAmounts(["12345678901.23", "0.01", "0.7"]),
    top: m.addAmounts(["999999999999.999", "0.001"]),
    yen: m.addAmounts(["100", "5"]),
    negative: m.addAmounts(["-0.30", "0.10"]),
    grouped: m.money({ amount: "-1234567.50", currency: "EUR" }),
    mixed: m.sumMoney([{ amount: "1.00", currency: "USD" }, { amount: "1.00", currency: "EUR" }]),
    lost: refused(() => m.toMinor("1.234", 2)),
    float: refused(() => m.toMinor("1e3", 2)),
  };
}"""


def test_the_money_helpers_never_round(desk: DeskHub, page: Any) -> None:
    page.goto(f"{desk.url}/login")
    assert page.evaluate(MONEY_CASES) == {
        "tenths": "0.30",
        "large": "12345678901.94",
        "top": "1000000000000.000",
        "yen": "105",
        "negative": "-0.20",
        "grouped": "-1,234,567.50 EUR",
        "mixed": None,
        "lost": True,
        "float": True,
    }
