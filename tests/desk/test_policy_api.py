"""Policy as data through the API: read, refuse a bad document (422 naming the path, nothing
stored), publish a new version (audited, used by the next decisions), and simulate a draft."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from hub.access.permissions import Role
from hub.finance import fx_rates
from hub.finance.fx import EcbDay
from hub.policy import default_policy_text
from hub.storage.engine import reading
from hub.storage.tables.access import policies
from hub.storage.tables.core import audit_log, refunds
from protocol import utc_now
from tests.desk.seed import Ask, seed
from tests.people.conftest import DeskHub, add_user

DEFAULT = default_policy_text()


def draft(
    version: int = 2, auto_below: str = "50.00", regional_up_to: str = "500.00", extra: str = ""
) -> str:
    """The default policy with another version, tier bounds, or an extra risk line."""
    text = re.sub(r"(?m)^version: 1\b", f"version: {version}", DEFAULT)
    text = text.replace("below: 50.00", f"below: {auto_below}")
    text = text.replace("up_to: 500.00", f"up_to: {regional_up_to}")
    return (
        text.replace("  item_mismatch: true", f"  item_mismatch: true\n{extra}") if extra else text
    )


@pytest.fixture
def admin(desk: DeskHub) -> httpx.Client:
    add_user(desk.engine, "ada", Role.ADMIN)
    return desk.sign_in("ada")


def counts(hub: DeskHub) -> tuple[int, int]:
    with reading(hub.engine) as conn:
        return (
            conn.execute(select(func.count()).select_from(policies)).scalar_one(),
            conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
        )


def test_the_active_policy_is_seeded_and_readable(desk: DeskHub, admin: httpx.Client) -> None:
    active = admin.get("/api/policy").json()
    assert (active["version"], active["published_by"], active["yaml"]) == (1, "system", DEFAULT)
    versions = admin.get("/api/policy/versions").json()
    assert [v["version"] for v in versions] == [1]
    assert admin.get("/api/policy/versions/1").json() == DEFAULT
    assert admin.get("/api/policy/versions/9").status_code == 404


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (draft(regional_up_to="40.00"), "tiers[1].up_to"),  # not above the previous bound
        (draft(extra="  item_mismatchh: true"), "risk.item_mismatchh"),  # a typo is refused
        (draft(version=1), "version"),  # must raise the version
        (draft().replace("base_currency: USD", "base_currency: XYZ"), "base_currency"),
        ("tiers: [\n", None),  # not YAML at all
    ],
)
def test_a_bad_document_is_422_naming_the_path_and_nothing_is_stored(
    desk: DeskHub, admin: httpx.Client, document: str, path: str | None
) -> None:
    before = counts(desk)
    answer = admin.put("/api/policy", json={"yaml": document})
    assert answer.status_code == 422, answer.text
    first = answer.json()["detail"][0]
    assert first["field"] == path, first
    assert first["message"]
    assert counts(desk) == before
    assert admin.get("/api/policy").json()["version"] == 1


def test_publishing_stores_audits_and_decides_the_next_refunds(
    desk: DeskHub, admin: httpx.Client
) -> None:
    document = draft(auto_below="100.00")
    answer = admin.put(
        "/api/policy",
        content=document,
        headers={"Content-Type": "application/yaml", "X-Acorn-Reason": "fewer small approvals"},
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["version"], answer.json()["published_by"]) == (2, "ada")
    assert [v["version"] for v in admin.get("/api/policy/versions").json()] == [2, 1]
    with reading(desk.engine) as conn:
        entry = conn.execute(
            select(audit_log)
            .where(audit_log.c.action == "policy.published")
            .order_by(audit_log.c.seq.desc())
        ).first()
    assert entry is not None and (entry.actor, entry.role, entry.reason) == (
        "ada",
        "admin",
        "fewer small approvals",
    )
    assert (entry.before["version"], entry.after["version"]) == (1, 2)
    assert entry.before["yaml"] == DEFAULT and entry.after["yaml"] == document
    seed(desk.engine, [Ask("s1", "70", "70.00")])
    with reading(desk.engine) as conn:
        row = conn.execute(select(refunds).where(refunds.c.refund_id == "F70")).one()
    assert (row.state, row.policy_version) == ("approved", 2)


HISTORY = [
    Ask("s1", "a", "10.00", hours_ago=24),
    Ask("s1", "b", "30.00", hours_ago=48),
    Ask("s2", "c", "45.00", hours_ago=72),
    Ask("s2", "d", "49.99", hours_ago=96),
    Ask("s1", "e", "60.00", hours_ago=120),
    Ask("s3", "f", "120.00", hours_ago=200),
    Ask("s3", "g", "450.00", hours_ago=300),
    Ask("s1", "h", "600.00", hours_ago=400),
    Ask("s2", "j", "10000", currency="JPY", hours_ago=20),  # 64.00 USD at 0.0064
    Ask("s1", "old", "70.00", hours_ago=40 * 24),  # outside a 30-day simulation
]


def fixed_rates(desk: DeskHub) -> None:
    """ECB quotes on the JPY refund's day giving 1 JPY = 1.0850 / 169.53125 = 0.0064 USD exactly
    (the history bundled with the hub would give that day's real rate)."""
    day = (utc_now() - timedelta(hours=21)).date()
    quotes = {"USD": Decimal("1.0850"), "JPY": Decimal("169.53125")}
    fx_rates.store(desk.engine, [EcbDay(day, quotes)], "test quotes", "test", "operator")


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def by_label(totals: list[dict[str, Any]]) -> dict[str, tuple[int, dict[str, str]]]:
    return {t["label"]: (t["count"], t["amount"]) for t in totals}


def test_simulating_a_changed_tier_reports_counts_and_sums(
    desk: DeskHub, admin: httpx.Client
) -> None:
    fixed_rates(desk)
    seed(desk.engine, HISTORY)
    before = counts(desk)
    answer = admin.post(
        "/api/policy/simulate",
        json={"yaml": draft(auto_below="100.00", regional_up_to="400.00"), "days": 30},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["total"], report["changed"], report["unpriced"]) == (9, 3, 0)
    assert (report["current_version"], report["draft_version"]) == (1, 2)
    assert report["matrix"] == [
        {"from": "needs_approval:1", "to": "auto_approve", "count": 2, "amount": money("124.00")},
        {
            "from": "needs_approval:1",
            "to": "needs_approval:2",
            "count": 1,
            "amount": money("450.00"),
        },
    ]
    assert report["money_moved"] == money("574.00")
    assert by_label(report["before"]) == {
        "auto_approve": (4, money("134.99")),
        "needs_approval:1": (4, money("694.00")),
        "needs_approval:2": (1, money("600.00")),
    }
    assert by_label(report["after"]) == {
        "auto_approve": (6, money("258.99")),
        "needs_approval:1": (1, money("120.00")),
        "needs_approval:2": (2, money("1050.00")),
    }
    examples = {e["refund"]: (e["from"], e["to"]) for e in report["examples"]}
    assert examples == {
        "s1/Fe": ("needs_approval:1", "auto_approve"),
        "s2/Fj": ("needs_approval:1", "auto_approve"),
        "s3/Fg": ("needs_approval:1", "needs_approval:2"),
    }
    assert counts(desk) == before  # a simulation stores nothing


def test_simulating_a_bad_draft_names_the_field(desk: DeskHub, admin: httpx.Client) -> None:
    answer = admin.post("/api/policy/simulate", json={"yaml": draft(regional_up_to="40.00")})
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "tiers[1].up_to"
    assert admin.post("/api/policy/simulate", json={"yaml": DEFAULT, "days": 0}).status_code == 422
