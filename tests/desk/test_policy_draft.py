"""The policy editor's drafts through the API (``POST /api/policy/draft``), on both databases:
the round trip YAML → form fields → YAML → the same document, the version raised by the editor,
comments kept for YAML edits and for form edits (the form's YAML edited in place), each problem at
its field, and publishing what the form wrote."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from hub.access.permissions import Role
from hub.policy import default_policy, default_policy_text, load_policy_yaml
from hub.policy.draft import dump_policy, from_sections
from tests.people.conftest import DeskHub, add_user

DEFAULT = default_policy_text()


@pytest.fixture
def admin(desk: DeskHub) -> httpx.Client:
    add_user(desk.engine, "ada", Role.ADMIN)
    return desk.sign_in("ada")


def draft(client: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/policy/draft", json=body)
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    return out


def test_yaml_to_fields_to_yaml_is_the_same_document_one_version_up(admin: httpx.Client) -> None:
    from_yaml = draft(admin, yaml=DEFAULT)
    assert (from_yaml["valid"], from_yaml["version"], from_yaml["problems"]) == (True, 2, [])
    assert from_yaml["yaml"] == DEFAULT.replace(
        "version: 1                 #", "version: 2                 #")  # comments kept
    fields = from_yaml["document"]
    assert fields["tiers"][0] == {"id": "auto", "below": "50.00", "up_to": None,
                                  "outcome": "auto_approve", "level": None, "approver": None}
    from_form = draft(admin, document=fields)
    assert (from_form["valid"], from_form["version"]) == (True, 2)
    assert load_policy_yaml(from_form["yaml"]) == default_policy().model_copy(
        update={"version": 2})
    assert from_form["document"] == fields
    assert "below: 50.00\n" in from_form["yaml"]  # an exact decimal, not a quoted text


def test_the_editor_raises_the_version_whatever_the_draft_says(admin: httpx.Client) -> None:
    fields = draft(admin, yaml=DEFAULT)["document"]
    assert draft(admin, document={**fields, "version": 1})["version"] == 2
    assert draft(admin, document={**fields, "version": 77})["version"] == 2
    text = DEFAULT.replace("version: 1 ", "version: 9 ")
    assert "\nversion: 2 " in draft(admin, yaml=text)["yaml"]


def test_a_bad_field_is_named_by_its_path(admin: httpx.Client) -> None:
    fields = draft(admin, yaml=DEFAULT)["document"]
    fields["tiers"][1]["up_to"] = "40.00"  # not above the previous bound 50.00
    fields["marketplaces"]["ATVPDKIKX0DER"]["return_window_days"] = "-3"
    bad = draft(admin, document=fields)
    assert bad["valid"] is False and bad["document"] is None
    assert {p["field"] for p in bad["problems"]} == {
        "marketplaces.ATVPDKIKX0DER.return_window_days"}  # field errors come before cross-checks
    fields["marketplaces"]["ATVPDKIKX0DER"]["return_window_days"] = 30
    bad = draft(admin, document=fields)
    assert bad["problems"] == [{"field": "tiers[1].up_to",
                                "message": "40.00 must be above the previous bound 50.00"}]
    assert "up_to: '40.00'" in bad["yaml"]  # the advanced view follows the form even so
    broken = draft(admin, yaml="tiers: [")
    assert broken["valid"] is False and broken["problems"][0]["field"] == ""
    assert "not valid YAML" in broken["problems"][0]["message"]


COMMENTED = """\
# Our refund policy, kept by HQ finance (ticket FIN-2211).
schema_version: 1
version: 1   # raised by the desk
name: Commented policy
base_currency: EUR  # amounts below are euros

fx_rates: []  # ECB quotes all our currencies

# three tiers, agreed with the works council
tiers:
  - id: auto     # small refunds
    below: 40.00
    outcome: auto_approve
  - id: store
    up_to: 400.00
    outcome: needs_approval
    level: 1
  - id: hq
    outcome: needs_approval
    level: 2

risk:
  frequent_refunder: {count: 4, days: 60}  # four in two months
default_marketplace:
  name: other
  return_window_days: 30   # statutory minimum is 14
timing:
  default: after_inspection
"""


def test_a_form_edit_keeps_the_comments_and_order_of_the_yaml(admin: httpx.Client) -> None:
    first = draft(admin, yaml=COMMENTED)
    assert first["valid"], first["problems"]
    fields = first["document"]
    fields["tiers"][1]["up_to"] = "450.00"  # one tier changed in the form
    edited = draft(admin, document=fields, base=first["yaml"])
    assert (edited["valid"], edited["version"]) == (True, 2)
    assert edited["yaml"] == COMMENTED.replace("up_to: 400.00", "up_to: 450.00").replace(
        "version: 1   #", "version: 2   #")  # every comment, the key order, the layout kept
    assert load_policy_yaml(edited["yaml"]).tiers[1].up_to == Decimal("450.00")

    fields["fx_rates"] = [{"currency": "AED", "rate": "0.2510", "source": "central bank",
                           "as_of": "2026-01-02"}]  # the form's exchange-rate rows
    with_rate = draft(admin, document=fields, base=edited["yaml"])
    assert with_rate["valid"], with_rate["problems"]
    assert "# three tiers, agreed with the works council\n" in with_rate["yaml"]
    assert ("fx_rates: [{currency: AED, rate: 0.2510, source: central bank, as_of: 2026-01-02}]"
            " # ECB quotes all our currencies\n") in with_rate["yaml"]  # "[]" filled in place
    rate = load_policy_yaml(with_rate["yaml"]).fx_rates[0]
    assert (rate.currency, rate.rate, str(rate.as_of)) == ("AED", Decimal("0.2510"), "2026-01-02")

    fields["tiers"][1]["up_to"] = "30.00"  # a problem: the comments stay all the same
    bad = draft(admin, document=fields, base=with_rate["yaml"])
    assert bad["valid"] is False and "# four in two months" in bad["yaml"]
    unreadable = draft(admin, document=draft(admin, yaml=COMMENTED)["document"], base="tiers: [")
    assert unreadable["valid"] and "# three tiers" not in unreadable["yaml"]  # written anew
    assert admin.post("/api/policy/draft", json={"yaml": COMMENTED,
                                                 "base": COMMENTED}).status_code == 422


def test_publishing_what_the_form_wrote(desk: DeskHub, admin: httpx.Client) -> None:
    fields = draft(admin, yaml=DEFAULT)["document"]
    fields["tiers"][0]["below"] = "75.00"
    written = draft(admin, document=fields)["yaml"]
    answer = admin.put("/api/policy", json={"yaml": written, "reason": "form"})
    assert answer.status_code == 200, answer.text
    active = admin.get("/api/policy").json()
    assert active["version"] == 2 and active["yaml"] == written
    assert load_policy_yaml(active["yaml"]).tiers[0].below == load_policy_yaml(
        DEFAULT.replace("below: 50.00", "below: 75.00")).tiers[0].below
    assert draft(admin, yaml=active["yaml"])["version"] == 3


def test_drafts_need_a_policy_editor_and_one_kind_of_body(desk: DeskHub,
                                                          admin: httpx.Client) -> None:
    add_user(desk.engine, "finn", Role.FINANCE)
    finn = desk.sign_in("finn")
    assert finn.post("/api/policy/draft", json={"yaml": DEFAULT}).status_code == 403
    for body in ({}, {"yaml": DEFAULT, "document": {}}, {"yaml": DEFAULT, "extra": 1}):
        answer = admin.post("/api/policy/draft", json=body)
        assert answer.status_code == 422, (body, answer.text)


def test_every_shipped_document_round_trips_through_the_canonical_layout() -> None:
    doc = default_policy()
    assert load_policy_yaml(dump_policy(doc)) == doc
    off = doc.model_copy(update={"risk": doc.risk.model_copy(update={"frequent_refunder": None})})
    assert load_policy_yaml(dump_policy(off)) == off
    assert from_sections(off.model_dump(mode="json"), 4).document == off.model_copy(
        update={"version": 5})
