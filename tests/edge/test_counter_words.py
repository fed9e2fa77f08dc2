"""The counter page says everything in words, in the store's language: a return walked through
record -> decision -> inspect -> dispose -> approval in headless Chromium (en and de) shows no raw
coded value anywhere on the page, the hub's fired rules as short staff sentences with the refund in
the store's currency (never the policy's base-currency threshold, never a rule code), and who did
each step from the name asked once, with no staff field to type at any step. A de, a zh and a ja
store's page shows its own headings, buttons, messages and mismatch reasons (no English left) and
fits a phone.

Raw values: every value of every protocol enum, and the edge's own refund statuses and refund
methods. A value with an underscore (``pending_approval``, ``like_new``) may appear nowhere in the
visible text; a one-word value (``received``, ``good``, ``pos``) may not appear as a word in the
places that show values (English chrome and staff sentences may use plain English words such
as "received by hub" or "once approved"). Real Mosquitto, a hub stand-in, the agent on uvicorn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, get_args

import pytest

import protocol
from edge_agent.returns import check_words, models
from edge_agent.web import page_words
from protocol import (
    DecisionRule,
    RefundDecided,
    RefundOutcome,
    RefundPayment,
    RefundRequested,
    RefundStatus,
    RuleEffect,
    utc_now,
)
from tests.edge.conftest import make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn
from tests.edge.test_api import cache_rma, post_return
from tests.edge_auth.conftest import STAFF, apply_config
from tests.support.broker import MqttCreds
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.layout import assert_fits

pytestmark = BROWSER_MARKS

sync_api = pytest.importorskip("playwright.sync_api")

RAW = sorted({member.value for name in dir(protocol)
              if isinstance(kind := getattr(protocol, name), type) and issubclass(kind, StrEnum)
              for member in kind}
             | set(get_args(models.RefundStatus)) | set(get_args(models.RefundMethod)))
# where the page puts values (sentences and free text, such as the reasons and the return's
# meta line, may use a plain English word like "approved"; underscores are checked everywhere)
VALUE_SLOTS = ["return-state", "line-opened", "refund-status", "refund-payment",
               "refund-method-shown", "inspection-done", "disposition-done", "recent-returns",
               "staff-name"]
# The hub's rules for a refund of 54.80 EUR: its tier in the policy's base currency (USD)
RULES = [
    DecisionRule(code="marketplace.default", effect=RuleEffect.NOTE,
                 params={"marketplace": "store:store-berlin-1", "name": "other"}),
    DecisionRule(code="tier.regional", effect=RuleEffect.NEEDS_APPROVAL, level=2,
                 params={"amount": "59.46", "currency": "USD"}),
    DecisionRule(code="window.expired", effect=RuleEffect.WAIVED, params={"days": "30"}),
    DecisionRule(code="novel.rule_2031", effect=RuleEffect.MANUAL_REVIEW),
    DecisionRule(code="timing.on_scan", effect=RuleEffect.TIMING,
                 params={"when": "on_scan", "channel": "pos", "category": "unknown"}),
]
SAID = {
    "en": ["The store's standard return rules apply.",
           "54.80 EUR needs approval by a manager (level 2).",
           "HQ checks this refund.",
           "The money goes back once the refund is approved."],
    "de": ["Es gelten die normalen Rückgaberegeln des Geschäfts.",
           "54,80 EUR braucht die Freigabe einer Führungskraft (Stufe 2).",
           "Die Zentrale prüft diese Erstattung.",
           "Das Geld geht nach der Freigabe zurück."],
}
LABELS = {  # what the page shows for the values this walk meets
    "en": {"received": "Received", "inspected": "Inspected", "disposed": "Done",
           "like_new": "Like new", "restock_sellable": "Back to stock (sellable)",
           "approved": "Approved", "decided": "Decided by hq-anna.", "total": "54.80 EUR",
           "tier_decided": "54.80 EUR was above the automatic amount: a manager decided"},
    "de": {"received": "Angenommen", "inspected": "Geprüft", "disposed": "Erledigt",
           "like_new": "Wie neu", "restock_sellable": "Zurück ins Lager (verkaufsfähig)",
           "approved": "Freigegeben", "decided": "Entschieden von hq-anna.",
           "total": "54,80 EUR",
           "tier_decided": "54,80 EUR lag über dem automatisch freigegebenen Betrag"},
}


@pytest.fixture
def page() -> Iterator[Any]:
    """A tablet-sized page in headless Chromium."""
    with chromium_page(timezone_id="UTC") as page:
        yield page


def assert_no_raw_values(page: Any) -> None:
    """No raw coded value in the page's visible text (see the module docstring). In the value
    slots the labels the agent gives (``GET /api/options``) are taken out first: "Like new" is
    the label of ``like_new``, not a raw ``new``."""
    text = page.evaluate("document.body.innerText")
    for value in RAW:
        if "_" in value:
            assert not re.search(rf"\b{re.escape(value)}\b", text), f"{value!r} shown:\n{text}"
    labels = page.evaluate("fetch('/api/options').then(r => r.json()).then(o => o.labels)")
    known = sorted({words for kind in labels.values() for words in kind.values()}, key=len,
                   reverse=True)
    for slot in VALUE_SLOTS:
        shown = page.get_by_test_id(slot).evaluate("e => e.hidden ? '' : e.innerText")
        for words in known:
            shown = shown.replace(words, " ")
        for value in RAW:
            assert not re.search(rf"\b{re.escape(value)}\b", shown), f"{value!r} in {slot}"


def decide(hub: HubStandIn, outcome: RefundOutcome, rules: list[DecisionRule],
           by: str = "policy:auto", level: int | None = None) -> None:
    """The hub's decision on the one refund requested."""
    request = wait_until(lambda: hub.kinds("refund.requested"))[0].body
    assert isinstance(request, RefundRequested)
    hub.command(RefundDecided(
        refund_id=request.refund_id, return_id=request.return_id, outcome=outcome,
        amount=request.amount, approval_level=level, rules=rules, decided_by=by,
        reasons=["59.46 USD is over 50.00 USD: needs approval at level 2 (tier regional)"],
        decided_at=utc_now()))


def money_sent(hub: HubStandIn) -> None:
    request = hub.kinds("refund.requested")[0].body
    assert isinstance(request, RefundRequested)
    hub.command(RefundStatus(refund_id=request.refund_id, return_id=request.return_id,
                             status=RefundPayment.SUBMITTED, at=utc_now()))


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_return_walked_through_the_counter_shows_only_words(
        tmp_path: Path, node_creds: MqttCreds, hub: HubStandIn, page: Any,
        language: str) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    by = page.get_by_test_id
    labels = LABELS[language]
    settings = make_settings(tmp_path, node_creds, currency="EUR", store_language=language)
    with running_agent(settings) as run:
        wait_until(lambda: run.http.get("/api/health").json()["subscribed"])
        page.goto(run.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        for typed in ("return-staff", "inspection-by", "disposition-by"):
            expect(by(typed)).to_have_count(0)  # no name typed at a step
        expect(by("name-panel")).to_be_visible()  # no sign-in here: asked once
        by("name-input").fill("kim")
        by("name-submit").click()
        expect(by("name-panel")).to_be_hidden()
        expect(by("staff-name")).to_have_text("kim")

        return_id = record(by, page)
        expect(by("return-state")).to_have_text(labels["received"])
        expect(by("return-total")).to_have_text(labels["total"])  # as the receipt writes it
        assert_no_raw_values(page)

        decide(hub, RefundOutcome.PENDING_APPROVAL, RULES, level=2)
        expect(by("refund-status")).to_have_attribute("data-status", "pending_approval")
        expect(by("refund-reasons").locator("li")).to_have_text(SAID[language])
        assert "USD" not in by("refund-reasons").inner_text()
        assert_no_raw_values(page)

        by("inspection-grade").select_option("like_new")
        by("tag-battery").check()
        by("record-inspection").click()
        expect(by("return-state")).to_have_text(labels["inspected"])
        expect(by("inspection-done")).to_contain_text(labels["like_new"])
        assert_no_raw_values(page)

        by("disposition-select").select_option("restock_sellable")
        by("disposition-location").fill("A-12")
        by("record-disposition").click()
        expect(by("return-state")).to_have_text(labels["disposed"])
        expect(by("disposition-done")).to_contain_text(f"{labels['restock_sellable']} → A-12")
        assert_no_raw_values(page)

        decide(hub, RefundOutcome.APPROVED, RULES[:2], by="hq-anna")
        expect(by("refund-status")).to_have_attribute("data-status", "approved")
        expect(by("refund-status")).to_contain_text(labels["approved"])
        expect(by("refund-reasons")).to_contain_text(labels["decided"])
        expect(by("refund-reasons")).not_to_contain_text(SAID[language][1])  # said in the past
        expect(by("refund-reasons")).to_contain_text(labels["tier_decided"])
        money_sent(hub)
        expect(by("refund-payment")).to_have_attribute("data-payment", "submitted")
        expect(by("name-panel")).to_be_hidden()  # still not asked again
        assert_no_raw_values(page)

        view = run.http.get(f"/api/returns/{return_id}").json()
    assert (view["staff_id"], view["inspection"]["inspected_by"],
            view["disposition"]["decided_by"]) == ("kim", "kim", "kim")
    assert view["refund"]["staff_reasons"][0] == SAID[language][0]


def record(by: Any, page: Any) -> str:
    """Record a walk-in return of 54.80 EUR on the page; its id."""
    by("scan-input").fill("4006381333931")
    by("scan-input").press("Enter")
    by("record-manually").click()
    by("item-price").fill("54.80")
    by("return-reason").fill("changed mind")  # free text, typed by staff
    by("record-return").click()
    sync_api.expect(by("return-card")).to_be_visible()
    return str(by("return-id").text_content())


def test_a_signed_in_member_of_staff_is_recorded_without_typing(
        tmp_path: Path, page: Any) -> None:
    """With staff PINs the page asks for no name: the agent stamps the signed-in member."""
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    by = page.get_by_test_id
    with running_agent(make_settings(tmp_path, currency="EUR", store_language="de"),
                       connect=False) as run:
        assert apply_config(run) == "applied"  # names ann (staff) and max (manager)
        page.goto(run.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        by("signin-staff").fill("ann")
        for digit in STAFF["ann"][1]:
            by(f"pin-key-{digit}").click()
        by("signin-submit").click()
        expect(by("staff-name")).to_have_text("ann (Mitarbeiter)")
        expect(by("name-panel")).to_be_hidden()
        expect(by("change-name")).to_be_hidden()
        return_id = record(by, page)
        by("inspection-grade").select_option("good")
        by("record-inspection").click()
        expect(by("return-state")).to_have_text("Geprüft")
        expect(by("inspection-done")).to_contain_text("Gut")
        assert_no_raw_values(page)
        with run.agent.store.read() as tx:
            recorded = tx.one("SELECT r.staff_id, i.inspected_by FROM returns r "
                              "JOIN inspections i ON i.return_id = r.id WHERE r.id = ?",
                              (return_id,))
    assert recorded is not None and (recorded["staff_id"], recorded["inspected_by"]) == (
        "ann", "ann")


# English words of the page that no other store's page may show (sentences and labels long
# enough to be unmistakable; "RMA", "PIN" and the like read the same everywhere)
def english(language: str) -> list[str]:
    return sorted({text for key, text in page_words.EN.items()
                   if "{" not in text and len(text) >= 6
                   and not any(text in other for other in page_words.PAGE[language].values())})


@pytest.mark.parametrize("language", ["de", "zh", "ja"])
def test_the_page_speaks_the_store_language_and_fits_a_phone(tmp_path: Path,
                                                             language: str) -> None:
    """Headings, buttons, field labels, messages, the scan's answer and the mismatch reasons in
    the store's language, nothing sideways at 390 px; the API's sentences for people too, while
    its codes and the recorded (English) mismatch stay as they are."""
    expect = sync_api.expect
    expect.set_options(timeout=10_000)
    said = page_words.PAGE[language]
    settings = make_settings(tmp_path, currency="EUR", store_language=language)
    with running_agent(settings, connect=False) as run, \
            chromium_page(390, 844, timezone_id="UTC") as page:
        cache_rma(run)  # RMA-1: SKU-T x1, SKU-C x2; this return brings SKU-1
        recorded = post_return(run, rma_id="RMA-1", channel="amazon_mfn")
        by = page.get_by_test_id
        page.goto(run.url)
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#scan-title")).to_have_text(said["scan_title"])
        expect(by("scan-submit")).to_have_text(said["look_up"])
        expect(page.locator("#name-title")).to_have_text(said["who_at_counter"])
        expect(by("name-submit")).to_have_text(said["start"])
        expect(by("scan-input")).to_have_attribute("placeholder", said["scan_placeholder"])
        pending = run.http.get("/api/health").json()["outbox_pending"]
        expect(by("outbox-pending")).to_have_text(said["to_send"].format(n=pending))
        by("name-input").fill("kim")
        by("name-submit").click()
        assert_fits(page, tmp_path / f"counter-{language}-start.png")

        by("scan-input").fill(recorded["return_id"])
        by("scan-submit").click()
        expect(by("scan-result")).to_contain_text(
            said["already_recorded"].format(n=1, code=recorded["return_id"]))
        by("open-return").click()
        expect(by("return-card")).to_be_visible()
        expect(by("record-inspection")).to_have_text(said["record_inspection"])
        expect(page.locator("#return-card th").first).to_have_text(said["sku"])
        reason = check_words.mismatch_text("extra", language, sku="SKU-1", rma="RMA-1")
        expect(by("return-mismatch")).to_contain_text(said["mismatch"].split("{")[0])
        expect(by("return-mismatch")).to_contain_text(reason)
        expect(by("return-sync")).to_have_text(said["not_synced"])
        text = page.evaluate("document.body.innerText")
        assert [words for words in english(language) if words in text] == []
        assert_fits(page, tmp_path / f"counter-{language}-return.png")

        view = run.http.get(f"/api/returns/{recorded['return_id']}").json()
        pos = run.http.get("/api/pos/lookup", params={"order": "113-1"}).json()
        with run.agent.store.read() as tx:
            kept = tx.one("SELECT mismatch_detail FROM returns WHERE id = ?",
                          (recorded["return_id"],))
    assert reason in view["mismatch_reasons"] and view["state"] == "received"  # codes stay
    assert reason in pos["returns"][0]["mismatch_reasons"]
    assert kept is not None and "SKU-1 is not on RMA RMA-1" in kept["mismatch_detail"]
