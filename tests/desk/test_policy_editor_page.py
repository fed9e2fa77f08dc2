"""The policy editor in headless Chromium over a real hub (both databases).

Promises: the draft is the next version without anyone typing it; a tier changed in the form is
published as YAML with the new value and the version one up, the YAML's comments kept; an
exchange rate added in the form is published in ``fx_rates``; a value the hub refuses is shown at
its field (and the draft is neither simulated nor published); every change of the draft clears
the last simulation; the YAML (advanced view) follows the form and fills it when edited.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from hub.access.permissions import Role
from hub.policy import load_policy_yaml
from tests.desk.seed import Ask, seed
from tests.desk.test_desk_page import UNLABELLED, sign_in
from tests.people.conftest import DeskHub, add_user
from tests.support.browser import BROWSER_MARKS
from tests.support.layout import assert_selects_readable

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
ERROR = '[data-error-for="{}"]'


def test_a_tier_changed_in_the_form_is_published_one_version_up(desk: DeskHub, page: Any) -> None:
    seed(desk.engine, [Ask("s1", "1", "60.00", hours_ago=3)])  # level 1 today; auto under 75
    add_user(desk.engine, "ada", Role.ADMIN)
    expect, by = sync_api.expect, sign_in(desk, page, "ada", 1)
    by("nav-policy").click()
    expect(by("draft-version")).to_have_text("Draft v2")
    below, up_to = by("pf-tiers[0].below"), by("pf-tiers[1].up_to")
    expect(below).to_have_value("50.00")
    expect(up_to).to_have_value("500.00")
    assert page.evaluate(UNLABELLED) == []
    assert_selects_readable(page, "policy form at 1280")  # no choice cut off

    by("simulate").click()
    expect(by("sim-status")).to_contain_text("v1 → v2 over 30 days: 0 of 1 decisions change")
    expect(by("publish")).to_be_enabled()

    below.fill("75.00")  # a draft change clears the simulation at once
    expect(by("sim-status")).to_have_text("")
    expect(by("sim-report")).to_be_empty()
    expect(by("publish")).to_be_disabled()
    by("policy-advanced").locator("summary").click()
    written = re.compile(r".*\nversion: 2 .*# this document's revision.*\n"
                         r"# Checked in order against the converted amount.*below: 75\.00\n.*",
                         re.DOTALL)  # the shipped YAML's comments survive the form edit
    expect(by("policy-yaml")).to_have_value(written)

    up_to.fill("40.00")  # not above 75.00: the hub says so at the field
    expect(page.locator(ERROR.format("tiers[1].up_to"))).to_have_text(
        "40.00 must be above the previous bound 75.00")
    expect(up_to).to_have_attribute("aria-invalid", "true")
    by("simulate").click()
    expect(by("toast")).to_have_text("the draft has problems: see the marked fields")
    expect(by("sim-status")).to_have_text("")
    expect(by("publish")).to_be_disabled()

    up_to.fill("500.00")
    expect(page.locator(ERROR.format("tiers[1].up_to"))).to_have_count(0)
    expect(up_to).not_to_have_attribute("aria-invalid", "true")
    by("add-fx-rate").click()  # a rate ECB does not publish, in the form
    by("pf-fx_rates[0].currency").fill("aed")
    by("pf-fx_rates[0].rate").fill("0.2723")
    by("pf-fx_rates[0].source").fill("central bank")
    by("pf-fx_rates[0].as_of").fill("2026-01-02")
    expect(by("policy-yaml")).to_have_value(re.compile(
        r".*fx_rates: \[\{currency: AED, rate: 0\.2723, source: central bank, as_of: 2026-01-02"
        r"\}\].*# Checked in order.*", re.DOTALL))
    expect(page.get_by_test_id("field-error")).to_have_count(0)
    by("simulate").click()
    expect(by("sim-status")).to_contain_text("1 of 1 decisions change")
    by("publish-reason").fill("auto-approve up to 75")
    by("publish").click()
    expect(by("toast")).to_have_text("policy version 2 published")
    expect(by("draft-version")).to_have_text("Draft v3")

    active = desk.sign_in("ada").get("/api/policy").json()
    published = load_policy_yaml(active["yaml"])
    assert (active["version"], published.version) == (2, 2)
    assert (published.tiers[0].below, published.tiers[1].up_to) == (Decimal("75.00"),
                                                                    Decimal("500.00"))
    assert (published.fx_rates[0].currency, published.fx_rates[0].rate) == ("AED",
                                                                           Decimal("0.2723"))


def test_the_yaml_view_fills_the_form_and_a_bad_draft_clears_the_simulation(
    desk: DeskHub, page: Any
) -> None:
    seed(desk.engine, [Ask("s1", "1", "60.00", hours_ago=3)])
    add_user(desk.engine, "ada", Role.ADMIN)
    expect, by = sync_api.expect, sign_in(desk, page, "ada", 1)
    by("nav-policy").click()
    expect(by("draft-version")).to_have_text("Draft v2")
    expect(by("pf-risk.high_risk_orders")).to_be_checked()
    by("policy-advanced").locator("summary").click()
    yaml = by("policy-yaml")
    kept = re.compile(r".*\nversion: 2 .*# this document's revision.*", re.DOTALL)  # comments
    expect(yaml).to_have_value(kept)

    text = yaml.input_value()
    yaml.fill(text.replace("high_risk_orders: true", "high_risk_orders: false"))
    expect(by("pf-risk.high_risk_orders")).not_to_be_checked()  # the form follows the YAML
    by("simulate").click()
    expect(by("sim-status")).to_contain_text("v1 → v2")

    yaml.fill(text.replace("return_window_days: 30\n  A2EUQ", "return_window_days: -1\n  A2EUQ"))
    expect(by("sim-status")).to_have_text("")  # cleared by the change, before any answer
    expect(by("publish")).to_be_disabled()
    expect(page.locator(ERROR.format("marketplaces.ATVPDKIKX0DER.return_window_days"))).to_contain_text(
        "greater than or equal to 0")
    yaml.fill("tiers: [")
    expect(by("policy-problems")).to_contain_text("not valid YAML")
    by("simulate").click()
    expect(by("toast")).to_have_text("the draft has problems: see the marked fields")
    expect(by("sim-report")).to_be_empty()
