"""``GET /api/options``: the desk's choices with their words, through the real API on both
databases. Auth as the queue's (401 without a caller; a token or a session with ``view``); every
member of the enums it names has words; the approval levels name who the hub really lets approve
at them; the reasons follow the active policy and cover every rule id the policy code fires."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.amazon.marketplaces import MARKETPLACES
from hub.policy import Effect, default_policy_text
from hub.refunds.states import RefundState
from protocol import Channel, Grade, RefundOutcome
from tests.desk.seed import Ask, seed
from tests.people.conftest import DeskHub, add_user
from tests.support.http_calls import http_get

GROUPS = {"refund_states", "refund_outcomes", "channels", "grades", "roles", "effects",
          "approval_levels", "marketplaces", "reasons", "waiting_for", "ages", "review",
          "timings"}
POLICY_CODE = Path(__file__).resolve().parents[2] / "hub" / "policy"


def values(answer: dict[str, list[dict[str, str]]], group: str) -> list[str]:
    return [o["value"] for o in answer[group]]


def words(answer: dict[str, list[dict[str, str]]], group: str) -> dict[str, str]:
    return {o["value"]: o["label"] for o in answer[group]}


def test_options_need_a_caller_and_answer_the_same_to_a_token_and_a_session(desk: DeskHub) -> None:
    assert http_get(f"{desk.url}/api/options", timeout=10).status_code == 401
    bad = http_get(f"{desk.url}/api/options", headers={"Authorization": "Bearer nope"},
                   timeout=10)
    assert bad.status_code == 401 and bad.json()["detail"][0]["message"]
    token = create_token(desk.engine, "wall-screen", Role.VIEWER)
    by_token = http_get(f"{desk.url}/api/options", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    add_user(desk.engine, "vic", Role.VIEWER, Scope(region="north"))
    by_session = desk.sign_in("vic").get("/api/options")
    assert by_token.status_code == by_session.status_code == 200
    assert by_token.json() == by_session.json()
    assert set(by_token.json()) == GROUPS
    for group, choices in by_token.json().items():
        assert choices, group
        for choice in choices:
            assert set(choice) == {"value", "label"} and choice["label"].strip(), (group, choice)
        assert len(values(by_token.json(), group)) == len(set(values(by_token.json(), group)))


def test_every_member_of_the_enums_has_words_in_its_own_order(desk: DeskHub) -> None:
    add_user(desk.engine, "vic", Role.VIEWER)
    answer = desk.sign_in("vic").get("/api/options").json()
    assert values(answer, "refund_states") == [s.value for s in RefundState]
    assert values(answer, "refund_outcomes") == [o.value for o in RefundOutcome]
    assert values(answer, "channels") == [c.value for c in Channel]
    assert values(answer, "grades") == [g.value for g in Grade]
    assert values(answer, "roles") == [r.value for r in Role]
    assert values(answer, "effects") == [e.value for e in Effect]
    assert values(answer, "marketplaces") == ["none", *(m.marketplace_id for m in MARKETPLACES)]
    assert words(answer, "marketplaces")["ATVPDKIKX0DER"] == "Amazon US"
    assert values(answer, "waiting_for") == ["approval", "inspection"]
    assert values(answer, "review") == ["true", "false"]
    assert values(answer, "ages") == ["12", "24", "48"]  # due, late, twice late at 24 h


def test_every_filter_value_offered_is_one_the_queue_takes(desk: DeskHub) -> None:
    """Promise: every filter value the options offer is accepted by the queue as it is."""
    add_user(desk.engine, "finn", Role.FINANCE)
    finn = desk.sign_in("finn")
    answer = finn.get("/api/options").json()
    for param, group in (("waiting_for", "waiting_for"), ("min_age_hours", "ages"),
                         ("review", "review"), ("level", "approval_levels"),
                         ("marketplace", "marketplaces"), ("reason", "reasons")):
        for value in values(answer, group):
            queue = finn.get("/api/desk/queue", params={param: value})
            assert queue.status_code == 200, (param, value, queue.text)


def test_the_level_words_name_who_the_hub_lets_approve_at_that_level(desk: DeskHub) -> None:
    seed(desk.engine, [Ask("s1", "1", "120.00"), Ask("s1", "2", "800.00")])  # levels 1 and 2
    add_user(desk.engine, "rita", Role.REGIONAL_MANAGER, Scope(region="north"))
    add_user(desk.engine, "finn", Role.FINANCE)
    rita, finn = desk.sign_in("rita"), desk.sign_in("finn")
    levels = words(rita.get("/api/options").json(), "approval_levels")
    assert list(levels) == ["1", "2"]
    assert "regional manager" in levels["1"] and "regional manager" not in levels["2"]
    assert "finance" in levels["1"] and "finance" in levels["2"]
    assert rita.post("/api/refunds/F2/approve", params={"store": "s1"}, json={}).status_code == 403
    assert rita.post("/api/refunds/F1/approve", params={"store": "s1"}, json={}).status_code == 200
    assert finn.post("/api/refunds/F2/approve", params={"store": "s1"}, json={}).status_code == 200


def test_the_reasons_and_levels_follow_the_active_policy(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    before = ada.get("/api/options").json()
    assert {"tier.auto", "tier.regional", "tier.finance"} <= set(values(before, "reasons"))
    board = re.sub(r"(?m)^version: 1\b", "version: 2", default_policy_text())
    board = board.replace("id: finance", "id: board").replace("level: 2", "level: 3")
    assert ada.put("/api/policy", json={"yaml": board, "reason": "a board"}).status_code == 200
    after = ada.get("/api/options").json()
    reasons = words(after, "reasons")
    assert "tier.finance" not in reasons
    assert reasons["tier.board"] == "amount the rest: approval at level 3"
    assert reasons["tier.regional"] == "amount up to 500.00 USD: approval at level 1"
    assert values(after, "approval_levels") == ["1", "2", "3"]


def fired_rule_ids() -> set[str]:
    """Every rule id written as a literal ``FiredRule("<id>", ...)`` in the policy code."""
    found = set()
    for path in POLICY_CODE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "FiredRule" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                found.add(str(node.args[0].value))
    return found


def test_every_rule_the_policy_fires_has_words(desk: DeskHub) -> None:
    add_user(desk.engine, "vic", Role.VIEWER)
    reasons = words(desk.sign_in("vic").get("/api/options").json(), "reasons")
    fired = fired_rule_ids()
    assert len(fired) >= 10  # the scan finds the policy's rules at all
    assert fired <= set(reasons), fired - set(reasons)
    assert {"timing.on_scan", "timing.after_inspection", "timing.after_approval"} <= set(reasons)
