"""A return at store A reaches the hub, is decided, and the decision shows at store A only."""

from __future__ import annotations

from tests.e2e.conftest import System, a_return
from tests.support.http_calls import http_get, http_post
from tests.support.procs import wait_for


def refund_outcome(edge_return: dict[str, object]) -> str | None:
    """The refund decision as the counter shows it (None while waiting for the hub)."""
    refund = edge_return.get("refund")
    return refund.get("outcome") if isinstance(refund, dict) else None


def test_under_limit_refund_is_auto_approved_and_shown_only_at_its_store(system: System) -> None:
    created = http_post(f"{system.edge_a.url}/api/returns", json=a_return(1, "19.99"), timeout=10)
    assert created.status_code == 201, created.text
    return_id = created.json()["return_id"]

    def decided() -> str | None:
        body = http_get(f"{system.edge_a.url}/api/returns/{return_id}", timeout=5).json()
        return refund_outcome(body)

    assert wait_for(decided, 30, "the decision at store A") == "approved"
    token = system.token()
    at_hub = system.hub_get(f"/api/returns/{return_id}", token)
    assert at_hub["store_id"] == "store-a"
    assert http_get(f"{system.edge_b.url}/api/returns/{return_id}", timeout=5).status_code == 404


def test_over_limit_refund_waits_for_an_approver_then_store_sees_approval(system: System) -> None:
    created = http_post(f"{system.edge_a.url}/api/returns", json=a_return(2, "750.00"), timeout=10)
    assert created.status_code == 201, created.text
    return_id = created.json()["return_id"]

    def outcome() -> str | None:
        return refund_outcome(http_get(f"{system.edge_a.url}/api/returns/{return_id}").json())

    assert wait_for(outcome, 30, "pending decision at store A") == "pending_approval"
    token = system.token("finance-1", "admin")
    refunds = system.hub_get("/api/refunds", token, state="pending_approval")
    refund = next(r for r in refunds["items"] if r["return_id"] == return_id)
    approved = http_post(
        f"{system.hub.url}/api/refunds/{refund['refund_id']}/approve",
        json={"reason": "receipt checked"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert approved.status_code == 200, approved.text
    assert wait_for(lambda: outcome() == "approved", 30, "approval at store A")
    again = http_post(
        f"{system.hub.url}/api/refunds/{refund['refund_id']}/approve",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert again.status_code == 409


def test_an_electronics_refund_waits_for_the_inspection_at_the_counter(system: System) -> None:
    """POS electronics refund after inspection (default policy): the counter is told to wait,
    records the QC grade, and the hub's decision on it reaches the counter."""
    ask = a_return(3, "19.99")
    ask["items"][0] |= {"category": "Electronics", "opened": True}
    created = http_post(f"{system.edge_a.url}/api/returns", json=ask, timeout=10)
    assert created.status_code == 201, created.text
    return_id = created.json()["return_id"]

    def outcome() -> str | None:
        return refund_outcome(http_get(f"{system.edge_a.url}/api/returns/{return_id}").json())

    assert wait_for(outcome, 30, "the wait at store A") == "awaiting_inspection"
    token = system.token()
    at_hub = system.hub_get(f"/api/returns/{return_id}", token)
    assert at_hub["items"][0]["category"] == "electronics" and at_hub["items"][0]["opened"]
    assert at_hub["refunds"][0]["state"] == "awaiting_inspection"

    inspected = http_post(f"{system.edge_a.url}/api/returns/{return_id}/inspection",
                          json={"grade": "like_new"}, timeout=10)
    assert inspected.status_code in (200, 201), inspected.text
    assert wait_for(lambda: outcome() == "approved", 30, "the decision after inspection")
    refund = system.hub_get(f"/api/returns/{return_id}", token)["refunds"][0]
    assert refund["state"] == "approved" and refund["decided_by"] == "policy:auto"
