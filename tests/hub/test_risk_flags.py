"""Risk flags through the real hub API and the CLI, on both databases: rights, errors, audit.

Finance and admin flag and clear; a viewer or a regional manager is refused (403). Every change is
audited and the chain stays intact; ``active_risk`` answers what the policy asks.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.cli.main import app
from hub.risk.flags import active_risk
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log
from tests.hub.conftest import RunningHub

ORDER = "111-2223334-4445556"
BUYER = "buyer:" + "0f" * 32


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(api_hub: RunningHub) -> dict[str, dict[str, str]]:
    made = {name: create_token(api_hub.engine, name, role) for name, role in [
        ("viewer-1", Role.VIEWER), ("boss-1", Role.REGIONAL_MANAGER),
        ("finance-1", Role.FINANCE), ("admin-1", Role.ADMIN)]}
    return {name: bearer(token) for name, token in made.items()}


def audited(hub: RunningHub, action: str) -> list[Any]:
    with reading(hub.engine) as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)
                                 .order_by(audit_log.c.seq)).all())


def cli(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"ACORN_HUB_DATABASE_URL": db_url})
    return result.exit_code, result.stdout, result.stderr


def test_only_finance_and_admin_see_and_change_flags(api_hub: RunningHub,
                                                     tokens: dict[str, dict[str, str]]) -> None:
    client = api_hub.client
    body = {"kind": "order", "subject": ORDER, "reason": "chargeback last month"}
    for who in ("viewer-1", "boss-1"):
        for answer in (client.get("/api/risk-flags", headers=tokens[who]),
                       client.post("/api/risk-flags", json=body, headers=tokens[who]),
                       client.post("/api/risk-flags/1/clear", json={"reason": "x"},
                                   headers=tokens[who])):
            assert answer.status_code == 403, answer.text
            assert "finance and admin" in answer.json()["detail"][0]["message"]
    assert client.get("/api/risk-flags").status_code == 401
    assert audited(api_hub, "risk.flagged") == []

    made = client.post("/api/risk-flags", json=body, headers=tokens["finance-1"])
    assert made.status_code == 201, made.text
    flag = made.json()
    assert {k: flag[k] for k in ("kind", "subject", "reason", "source", "flagged_by", "active",
                                 "cleared_at")} == {
        "kind": "order", "subject": ORDER, "reason": "chargeback last month",
        "source": "person", "flagged_by": "finance-1", "active": True, "cleared_at": None}
    assert flag["flagged_at"].endswith("Z")
    assert client.get("/api/risk-flags", headers=tokens["admin-1"]).json()["total"] == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "order", "subject": "not an order id!", "reason": "r"}, "subject"),
    ({"kind": "customer", "subject": "buyer:xyz", "reason": "r"}, "subject"),
    ({"kind": "customer", "subject": "no-scheme", "reason": "r"}, "subject"),
    ({"kind": "store", "subject": "s1", "reason": "r"}, "kind"),
    ({"kind": "order", "subject": ORDER, "reason": "   "}, "reason"),
    ({"kind": "order", "subject": ORDER}, "reason"),
    ({"kind": "order", "subject": ORDER, "reason": "r", "extra": 1}, "extra"),
])
def test_bad_flags_are_refused_naming_the_field(api_hub: RunningHub,
                                                tokens: dict[str, dict[str, str]],
                                                body: dict[str, Any], field: str) -> None:
    answer = api_hub.client.post("/api/risk-flags", json=body, headers=tokens["finance-1"])
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == field


def test_flag_list_clear_audited_and_what_the_policy_sees(
        api_hub: RunningHub, tokens: dict[str, dict[str, str]], db_url: str) -> None:
    client, finance, admin = api_hub.client, tokens["finance-1"], tokens["admin-1"]

    def post(body: dict[str, Any], who: dict[str, str] = finance) -> dict[str, Any]:
        answer = client.post("/api/risk-flags", json=body, headers=who)
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    first = post({"kind": "order", "subject": ORDER, "reason": "chargeback last month"})
    post({"kind": "order", "subject": ORDER, "reason": "address on a fraud list"}, admin)
    post({"kind": "order", "subject": ORDER, "reason": "chargeback last month"})  # same reason
    buyer = post({"kind": "customer", "subject": BUYER.upper().replace("BUYER:", "buyer:"),
                  "reason": "resells returned goods"})
    assert buyer["subject"] == BUYER  # buyer keys are kept lower-case

    with reading(api_hub.engine) as conn:
        risk = active_risk(conn, {ORDER, "111-0000000-0000000"}, {BUYER, "buyer:" + "1" * 64})
    assert risk == {ORDER: "chargeback last month; address on a fraud list",
                    BUYER: "resells returned goods"}

    listed = client.get("/api/risk-flags", params={"kind": "customer"}, headers=finance).json()
    assert [f["subject"] for f in listed["items"]] == [BUYER] and listed["total"] == 1

    cleared = client.post(f"/api/risk-flags/{first['id']}/clear",
                          json={"reason": "the bank reversed the chargeback"}, headers=admin)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["active"], cleared.json()["cleared_by"]) == (False, "admin-1")
    again = client.post(f"/api/risk-flags/{first['id']}/clear", json={"reason": "again"},
                        headers=admin)
    assert again.status_code == 409 and again.json()["detail"][0]["field"] == "flag_id"
    missing = client.post("/api/risk-flags/999999/clear", json={"reason": "x"}, headers=admin)
    assert missing.status_code == 404
    assert client.post(f"/api/risk-flags/{first['id']}/clear", json={},
                       headers=admin).status_code == 422

    with reading(api_hub.engine) as conn:
        risk = active_risk(conn, {ORDER}, {BUYER})
    assert risk[ORDER] == "address on a fraud list; chargeback last month"
    active = client.get("/api/risk-flags", headers=finance).json()
    every = client.get("/api/risk-flags", params={"state": "all"}, headers=finance).json()
    gone = client.get("/api/risk-flags", params={"state": "cleared"}, headers=finance).json()
    assert (active["total"], every["total"], gone["total"]) == (3, 4, 1)
    assert gone["items"][0]["clear_reason"] == "the bank reversed the chargeback"

    flagged, cleared_entries = audited(api_hub, "risk.flagged"), audited(api_hub, "risk.cleared")
    assert [(e.actor, e.role) for e in flagged] == [
        ("finance-1", "finance"), ("admin-1", "admin"), ("finance-1", "finance"),
        ("finance-1", "finance")]
    (entry,) = cleared_entries
    assert (entry.actor, entry.role, entry.entity, entry.entity_id) == (
        "admin-1", "admin", "risk_flag", str(first["id"]))
    assert entry.before["cleared_at"] is None and entry.after["cleared_by"] == "admin-1"
    assert entry.reason == "the bank reversed the chargeback"
    code, out, _ = cli(db_url, "audit", "verify")
    assert code == 0 and "intact" in out


def test_the_cli_flags_lists_and_clears_as_the_operator(api_hub: RunningHub, db_url: str) -> None:
    code, out, _ = cli(db_url, "risk", "flag", "order", ORDER, "--reason", "seen on a fraud list")
    assert code == 0, out
    flag_id = out.strip()
    code, out, _ = cli(db_url, "risk", "flag", "customer", BUYER, "--reason", "resells")
    assert code == 0
    code, out, _ = cli(db_url, "risk", "list")
    assert code == 0 and ORDER in out and BUYER in out and "seen on a fraud list" in out

    code, out, _ = cli(db_url, "risk", "clear", flag_id, "--reason", "a mistake")
    assert code == 0 and f"risk flag {flag_id}" in out and "cleared" in out
    code, out, _ = cli(db_url, "risk", "list")
    assert ORDER not in out and BUYER in out
    code, out, _ = cli(db_url, "risk", "list", "--all", "--kind", "order")
    assert ORDER in out and "cleared" in out and BUYER not in out

    result = CliRunner().invoke(app, ["risk", "flag", "shop", "s1", "--reason", "x"],
                                env={"ACORN_HUB_DATABASE_URL": db_url})
    assert result.exit_code != 0 and "order or customer" in str(result.exception)
    result = CliRunner().invoke(app, ["risk", "clear", flag_id, "--reason", "twice"],
                                env={"ACORN_HUB_DATABASE_URL": db_url})
    assert result.exit_code != 0 and "cleared" in str(result.exception)

    entries = audited(api_hub, "risk.flagged") + audited(api_hub, "risk.cleared")
    assert len(entries) == 3 and all(e.actor.startswith("cli") and e.role == "operator"
                                     for e in entries)
    code, out, _ = cli(db_url, "audit", "verify")
    assert code == 0 and "intact" in out
