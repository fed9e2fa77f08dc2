"""The permission matrix through the real API: every role × action × scope, and self-approval.

Stores: s1 and s2 in region north, s3 in region south; s1 may refund up to 150 USD offline.
Users sign in with a password and act with their session cookie and CSRF token.
Scopes: viewer, technician and regional manager → region north; store staff and store manager
→ store s1; finance and admin → every store. Level-1 refunds are 100.00 USD (within s1's
offline limit), level-2 refunds 800.00 USD.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from hub.access.permissions import Role, Scope
from hub.policy import default_policy_text
from tests.hub.helpers import ingest, received, refund
from tests.people.conftest import (
    DeskHub,
    add_user,
    describe_stores,
    running,
)
from tests.support.databases import pg_database

NORTH, OWN = Scope(region="north"), Scope(store="s1")
USERS: dict[Role, Scope] = {
    Role.VIEWER: NORTH,
    Role.TECHNICIAN: NORTH,
    Role.STORE_STAFF: OWN,
    Role.STORE_MANAGER: OWN,
    Role.REGIONAL_MANAGER: NORTH,
    Role.FINANCE: Scope(),
    Role.ADMIN: Scope(),
}
STORES = ("s1", "s2", "s3")  # own store, other store in the region, other region
# role: allowed per store (s1 s2 s3) for view / request / approve level 1 / approve level 2
MATRIX = """
viewer            110 000 000 000
technician        110 000 000 000
store_staff       100 100 000 000
store_manager     100 100 100 000
regional_manager  110 000 110 000
finance           111 000 111 111
admin             111 111 111 111
"""
ACTIONS = ("view", "request", "approve1", "approve2")
ALLOWED: dict[tuple[str, str, str], bool] = {
    (role, action, store): flags[i] == "1"
    for role, *cells in (line.split() for line in MATRIX.strip().splitlines())
    for action, flags in zip(ACTIONS, cells, strict=True)
    for i, store in enumerate(STORES)
}
HQ_ONLY = {"edit_policy": {"admin"}, "manage_users": {"admin"}}
SUCCESS = {
    "view": 200,
    "request": 201,
    "approve1": 200,
    "approve2": 200,
    "edit_policy": 200,
    "manage_users": 201,
}


@dataclass
class World:
    """The running hub and one signed-in client per role."""

    hub: DeskHub
    clients: dict[str, httpx.Client]


def _seed(hub: DeskHub) -> None:
    for store in STORES:
        events, seq = [], 0
        for role in USERS:
            for level, amount in ((1, "100.00"), (2, "800.00")):
                ret, ref = f"R-{role.value}-{level}", f"F-{role.value}-{level}"
                events += [
                    received(store, "n1", seq + 1, ret, amount),
                    refund(store, "n1", seq + 2, ret, ref, amount, by="clerk-1"),
                ]
                seq += 2
        ingest(hub.engine, *events)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One hub for the whole matrix (per database); every refund is used by one cell only."""
    tmp = tmp_path_factory.mktemp("matrix")
    database = pg_database() if request.param == "pg" else None
    url = next(database) if database else f"sqlite:///{tmp / 'hub.db'}"
    try:
        for hub in running(url, tmp):
            describe_stores(hub.engine)
            for role, scope in USERS.items():
                add_user(hub.engine, role.value, role, scope)
            _seed(hub)
            yield World(hub, {role.value: hub.sign_in(role.value) for role in USERS})
    finally:
        if database:
            next(database, None)


def act(client: httpx.Client, role: str, action: str, store: str) -> httpx.Response:
    """Perform one action of the matrix as ``role`` on ``store``."""
    at = {"store": store}
    if action == "view":
        return client.get(f"/api/refunds/F-{role}-1", params=at)
    if action == "request":
        return client.post(f"/api/returns/R-{role}-1/refund", params=at)
    level = action[-1]
    return client.post(
        f"/api/refunds/F-{role}-{level}/approve", params=at, json={"reason": f"matrix {role}"}
    )


@pytest.mark.parametrize(("role", "action", "store"), sorted(ALLOWED))
def test_role_action_scope(world: World, role: str, action: str, store: str) -> None:
    answer = act(world.clients[role], role, action, store)
    expected = SUCCESS[action] if ALLOWED[(role, action, store)] else 403
    assert answer.status_code == expected, (role, action, store, answer.text)


def _policy_v(version: int) -> str:
    return re.sub(r"(?m)^version: 1\b", f"version: {version}", default_policy_text())


@pytest.mark.parametrize("role", [r.value for r in USERS])
@pytest.mark.parametrize("action", sorted(HQ_ONLY))
def test_hq_actions(world: World, role: str, action: str) -> None:
    client = world.clients[role]
    if action == "edit_policy":
        answer = client.put("/api/policy", json={"yaml": _policy_v(2), "reason": role})
    else:
        answer = client.post(
            "/api/users",
            json={
                "username": f"new-{role}",
                "display_name": "New",
                "password": "another long secret",
                "role": "viewer",
            },
        )
    expected = SUCCESS[action] if role in HQ_ONLY[action] else 403
    assert answer.status_code == expected, (role, action, answer.text)


def test_nobody_approves_their_own_request(world: World) -> None:
    manager, regional = world.clients["store_manager"], world.clients["regional_manager"]
    asked = manager.post(
        "/api/returns/R-store_manager-2/refund",
        params={"store": "s1"},
        json={"amount": {"amount": "90.00", "currency": "USD"}},
    )
    assert asked.status_code == 201, asked.text
    mine = asked.json()
    assert (mine["requested_by"], mine["state"], mine["approval_level"]) == (
        "store_manager",
        "pending_approval",
        1,
    )
    path = f"/api/refunds/{mine['refund_id']}/approve"
    refused = manager.post(path, params={"store": "s1"}, json={})
    assert refused.status_code == 403
    assert "nobody approves their own request" in refused.json()["detail"][0]["message"]
    assert regional.post(path, params={"store": "s1"}, json={}).status_code == 200

    admin, finance = world.clients["admin"], world.clients["finance"]
    big = admin.post("/api/returns/R-admin-2/refund", params={"store": "s3"}).json()
    assert (big["requested_by"], big["approval_level"]) == ("admin", 2)
    path = f"/api/refunds/{big['refund_id']}/approve"
    assert admin.post(path, params={"store": "s3"}, json={}).status_code == 403
    assert finance.post(path, params={"store": "s3"}, json={}).status_code == 200


def test_lists_show_only_what_is_in_scope(world: World) -> None:
    for role, stores_seen in (
        ("store_staff", {"s1"}),
        ("regional_manager", {"s1", "s2"}),
        ("finance", {"s1", "s2", "s3"}),
    ):
        client = world.clients[role]
        refunds = client.get("/api/refunds", params={"limit": 500}).json()["items"]
        returns = client.get("/api/returns", params={"limit": 500}).json()["items"]
        queue = client.get("/api/desk/queue", params={"limit": 500}).json()["items"]
        for rows in (refunds, returns, queue):
            assert {r["store_id"] for r in rows} == stores_seen, role
        assert client.get("/api/returns/R-viewer-1", params={"store": "s3"}).status_code == (
            200 if "s3" in stores_seen else 403
        )


def test_a_session_change_without_the_csrf_header_is_refused(world: World) -> None:
    client = world.clients["finance"]
    answer = client.post(
        "/api/refunds/F-finance-2/reject",
        params={"store": "s1"},
        json={"reason": "no"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert answer.status_code == 403
    assert answer.json()["detail"][0]["field"] == "X-CSRF-Token"
