"""The desk's queue, story and bulk approval through the real API, on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.access.permissions import Role, Scope
from hub.refunds.queue import ageing
from hub.storage.engine import reading
from hub.storage.tables.core import commands, refunds
from protocol import Channel, utc_now
from tests.desk.seed import Ask, seed
from tests.people.conftest import DeskHub, add_user

US = "ATVPDKIKX0DER"
ASKS = [
    Ask("s1", "1", "80.00", hours_ago=30),  # level 1, late
    Ask("s1", "2", "800.00", hours_ago=13),  # level 2, due
    Ask(
        "s1",
        "3",
        "20.00",
        hours_ago=5,
        mismatch=True,
        order="O-7",
        photos=("sha256-aa.jpg", "sha256-bb.jpg"),
    ),  # manual review
    Ask(
        "s2", "4", "60.00", hours_ago=1, channel=Channel.AMAZON_MFN, marketplace=US, order="O-9"
    ),  # level 1, ok
    Ask("s3", "5", "100.00", hours_ago=3),  # level 1, south
    Ask("s1", "6", "20.00", hours_ago=40, order="O-7"),  # auto-approved
]


@pytest.fixture
def hub(desk: DeskHub) -> DeskHub:
    seed(desk.engine, ASKS)
    add_user(desk.engine, "finn", Role.FINANCE)
    add_user(desk.engine, "rita", Role.REGIONAL_MANAGER, Scope(region="north"))
    return desk


def ids(client: httpx.Client, **params: Any) -> list[str]:
    answer = client.get("/api/desk/queue", params=params)
    assert answer.status_code == 200, answer.text
    return [row["refund_id"] for row in answer.json()["items"]]


def test_refunds_waiting_for_their_inspection_are_listed_apart(desk: DeskHub) -> None:
    seed(desk.engine, [
        Ask("s1", "7", "30.00", hours_ago=50, channel=Channel.WEB, inspected=False),
        Ask("s3", "8", "30.00", hours_ago=2, channel=Channel.WEB, inspected=False),
        Ask("s1", "9", "80.00", hours_ago=1)])  # POS, level 1: waits for approval
    add_user(desk.engine, "finn", Role.FINANCE)
    add_user(desk.engine, "rita", Role.REGIONAL_MANAGER, Scope(region="north"))
    finn, rita = desk.sign_in("finn"), desk.sign_in("rita")
    assert ids(finn) == ["F9"]
    assert ids(finn, waiting_for="inspection") == ["F7", "F8"]
    assert ids(rita, waiting_for="inspection") == ["F7"]  # s3 is in the south
    row = finn.get("/api/desk/queue", params={"waiting_for": "inspection"}).json()["items"][0]
    assert row["ageing"] == "late" and row["approval_level"] is None
    assert row["reasons"][0].startswith("refund after inspection (web / unknown)")
    assert finn.get("/api/desk/queue", params={"waiting_for": "nobody"}).status_code == 422


def test_the_queue_filters_by_level_store_marketplace_reason_age_and_review(hub: DeskHub) -> None:
    finn = hub.sign_in("finn")
    assert ids(finn) == ["F1", "F2", "F3", "F5", "F4"]  # oldest request first
    assert ids(finn, level=2) == ["F2", "F3"]  # manual review waits at the top level
    assert ids(finn, level=1, store="s1") == ["F1"]
    assert ids(finn, marketplace=US) == ["F4"]
    assert ids(finn, marketplace="none") == ["F1", "F2", "F3", "F5"]
    assert ids(finn, reason="risk.item_mismatch") == ["F3"]
    assert ids(finn, reason="tier.finance") == ["F2"]
    assert ids(finn, min_age_hours=24) == ["F1"]
    assert ids(finn, max_age_hours=4) == ["F5", "F4"]
    assert ids(finn, review=True) == ["F3"]
    assert ids(finn, review=False, store="s1") == ["F1", "F2"]
    page = finn.get("/api/desk/queue", params={"limit": 2, "offset": 2}).json()
    assert ([r["refund_id"] for r in page["items"]], page["total"]) == (["F3", "F5"], 5)
    bad = finn.get("/api/desk/queue", params={"level": 0, "limit": 0})
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["detail"]} == {
        "level",
        "limit",
    }


def test_queue_rows_carry_ageing_money_and_the_reasons(hub: DeskHub) -> None:
    rows = {r["refund_id"]: r for r in hub.sign_in("finn").get("/api/desk/queue").json()["items"]}
    assert [rows[f]["ageing"] for f in ("F1", "F2", "F4")] == ["late", "due", "ok"]
    assert rows["F1"]["age_hours"] == pytest.approx(30, abs=0.1)
    assert rows["F2"]["amount"] == {"amount": "800.00", "currency": "USD"}
    assert rows["F2"]["base_amount"] == {"amount": "800.00", "currency": "USD"}
    assert rows["F3"]["manual_review"] is True and rows["F3"]["approval_level"] == 2
    assert "the scanned item is not the ordered item" in rows["F3"]["reasons"]


def test_ageing_against_the_target_by_table() -> None:
    now = utc_now()
    from datetime import timedelta

    cases = [(0, "ok"), (11.99, "ok"), (12, "due"), (23.99, "due"), (24, "late"), (-1, "ok")]
    for hours, status in cases:
        assert ageing(now - timedelta(hours=hours), now, 24)[0] == status, hours


def test_facets_list_what_waits_in_scope(hub: DeskHub) -> None:
    facets = hub.sign_in("rita").get("/api/desk/facets").json()
    assert facets["stores"] == ["s1", "s2"] and facets["levels"] == [1, 2]
    assert facets["marketplaces"] == [US]
    assert {"tier.regional", "tier.finance", "risk.item_mismatch"} <= set(facets["reasons"])
    assert not any(r.startswith("timing.") for r in facets["reasons"])


def test_a_refunds_story_has_everything_the_approver_needs(hub: DeskHub) -> None:
    story = hub.sign_in("finn").get("/api/refunds/F3", params={"store": "s1"}).json()
    assert story["refund"]["state"] == "pending_approval"
    assert story["refund"]["outcome"] == "manual_review"
    rules = {r["rule_id"]: r for r in story["decision"]["rules"]}
    assert rules["risk.item_mismatch"]["sentence"] == "the scanned item is not the ordered item"
    assert story["decision"]["policy_version"] == 1
    assert story["decision"]["fx"] == {
        "currency": "USD",
        "rate": "1",
        "source": "base currency",
        "as_of": None,
    }
    assert story["return"]["mismatch"] is True and story["return"]["order_id"] == "O-7"
    assert story["return"]["inspections"][0]["photos"] == ["sha256-aa.jpg", "sha256-bb.jpg"]
    assert [h["refund_id"] for h in story["customer_history"]] == ["F6"]  # same order
    actions = [a["action"] for a in story["audit"]]
    assert actions[:2] == ["return.received", "inspection.recorded"]
    assert {"refund.requested", "refund.decided"} <= set(actions)
    assert story["store"]["offline_limit"] == {"amount": "150.00", "currency": "USD"}
    assert (story["can_decide"], story["why_not"]) == (True, None)
    rita = hub.sign_in("rita").get("/api/refunds/F3", params={"store": "s1"}).json()
    assert rita["can_decide"] is False and "manual review" in rita["why_not"]


def test_the_decision_record_is_in_the_audit_entry(hub: DeskHub) -> None:
    from hub.storage.tables.core import audit_log

    with reading(hub.engine) as conn:
        entry = conn.execute(
            select(audit_log).where(
                audit_log.c.action == "refund.decided", audit_log.c.entity_id == "s1/F2"
            )
        ).one()
    assert entry.after["policy_version"] == 1
    assert entry.after["decision"]["outcome"] == "needs_approval"
    assert "tier.finance" in [r["rule_id"] for r in entry.after["decision"]["rules"]]
    assert "needs approval at level 2" in entry.reason


def _bulk(client: httpx.Client, keys: list[tuple[str, str]], total: str) -> httpx.Response:
    return client.post(
        "/api/refunds/bulk-approve",
        json={
            "refunds": [{"store_id": s, "refund_id": r} for s, r in keys],
            "expected_total": {"amount": total, "currency": "USD"},
            "reason": "weekly batch",
        },
    )


def states(hub: DeskHub) -> dict[str, str]:
    with reading(hub.engine) as conn:
        return {
            r.refund_id: r.state for r in conn.execute(select(refunds.c.refund_id, refunds.c.state))
        }


def test_bulk_approval_guards_its_total_and_tells_the_stores(hub: DeskHub) -> None:
    finn, before = hub.sign_in("finn"), states(hub)
    wrong = _bulk(finn, [("s1", "F1"), ("s2", "F4")], "139.99")
    assert wrong.status_code == 409 and wrong.json()["detail"][0]["field"] == "expected_total"
    assert states(hub) == before
    done = _bulk(finn, [("s1", "F1"), ("s2", "F4")], "140.00")
    assert done.status_code == 200, done.text
    assert [(r["refund_id"], r["state"], r["decided_by"]) for r in done.json()] == [
        ("F1", "approved", "finn"),
        ("F4", "approved", "finn"),
    ]
    with reading(hub.engine) as conn:
        told = conn.execute(
            select(commands.c.store_id, commands.c.body).order_by(commands.c.created_at)
        ).all()
    approved = [
        (c.store_id, c.body["refund_id"])
        for c in told
        if c.body["outcome"] == "approved" and c.body["decided_by"] == "finn"
    ]
    assert approved == [("s1", "F1"), ("s2", "F4")]


def test_bulk_approval_is_all_or_nothing_and_within_the_users_limit(hub: DeskHub) -> None:
    from decimal import Decimal

    from hub.access import users
    from tests.people.conftest import SETUP

    rita, before = hub.sign_in("rita"), states(hub)
    mixed = _bulk(rita, [("s1", "F1"), ("s1", "F2")], "880.00")  # F2 needs level 2
    assert mixed.status_code == 403 and "s1/F2" in mixed.json()["detail"][0]["message"]
    users.update_user(hub.engine, "finn", SETUP, bulk_limit=Decimal("100"))
    over = _bulk(hub.sign_in("finn"), [("s1", "F1"), ("s2", "F4")], "140.00")
    assert over.status_code == 403 and "bulk approval limit" in over.json()["detail"][0]["message"]
    assert states(hub) == before
