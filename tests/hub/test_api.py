"""The hub API over real HTTP, on both databases: tokens, lists, decisions, errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.access.permissions import Role
from hub.access.tokens import create_token, revoke_token
from hub.returns.queries import counts
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, commands, refunds
from protocol import Channel, Money, ReturnItem, ReturnReceived, make_envelope, utc_now
from tests.hub.conftest import RunningHub
from tests.hub.helpers import ingest, inspected, received, refund


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(api_hub: RunningHub) -> dict[str, dict[str, str]]:
    """One token per kind of caller; 'clerk-1' is the name the stores put in requested_by."""
    made = {name: create_token(api_hub.engine, name, role) for name, role in [
        ("viewer", Role.VIEWER), ("boss", Role.REGIONAL_MANAGER), ("clerk-1", Role.FINANCE)]}
    return {name: bearer(token) for name, token in made.items()}


@pytest.fixture
def seeded(api_hub: RunningHub) -> RunningHub:
    """Store s1: R1 with an auto-approved refund, R2 with one waiting; store s2: R1 inspected."""
    ingest(api_hub.engine, received("s1", "n1", 1, "R1"), refund("s1", "n1", 2, "R1", "F1"),
           received("s1", "n1", 3, "R2", "99.00"),
           refund("s1", "n1", 4, "R2", "F2", "99.00", by="clerk-1"),
           received("s2", "n1", 1, "R1"), inspected("s2", "n1", 2, "R1"),
           received("s2", "n1", 3, "R3", "500.00"),
           refund("s2", "n1", 4, "R3", "F3", "500.00", by="clerk-2"))
    return api_hub


def snapshot(hub: RunningHub) -> tuple[Any, ...]:
    with reading(hub.engine) as conn:
        return (conn.execute(select(refunds.c.refund_id, refunds.c.state)
                             .order_by(refunds.c.refund_id)).all(),
                conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
                conn.execute(select(func.count()).select_from(commands)).scalar_one())


def test_health_is_open_and_reports_database_mqtt_and_counts(seeded: RunningHub) -> None:
    answer = seeded.client.get("/api/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert body["mqtt"] == {"enabled": False, "connected": False}
    assert body["counts"]["returns"] == 4 and body["counts"]["refunds_pending_approval"] == 2
    with reading(seeded.engine) as conn:  # the open check counts at most so far
        assert counts(conn, cap=3)["returns"] == 3 and counts(conn, cap=3)["stores"] == 2


@pytest.mark.parametrize("path", ["/api/returns", "/api/refunds", "/api/stores",
                                  "/api/dead-letters", "/api/returns/R1"])
def test_every_other_route_needs_a_valid_token(api_hub: RunningHub, path: str) -> None:
    for headers in ({}, bearer("acorn_not-a-real-token"), {"Authorization": "Basic abc"}):
        answer = api_hub.client.get(path, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["detail"][0]["message"]


def test_a_revoked_token_is_refused(api_hub: RunningHub) -> None:
    token = create_token(api_hub.engine, "temp", Role.ADMIN)
    assert api_hub.client.get("/api/returns", headers=bearer(token)).status_code == 200
    revoke_token(api_hub.engine, "temp")
    assert api_hub.client.get("/api/returns", headers=bearer(token)).status_code == 401


def test_a_viewer_may_look_but_not_decide(seeded: RunningHub, tokens: dict[str, Any]) -> None:
    assert seeded.client.get("/api/refunds", headers=tokens["viewer"]).status_code == 200
    answer = seeded.client.post("/api/refunds/F2/approve", headers=tokens["viewer"])
    assert answer.status_code == 403
    assert answer.json() == {"detail": [{"field": None,
                                         "message": "role viewer may not approve"}]}


def test_returns_list_filters_and_pages(seeded: RunningHub, tokens: dict[str, Any]) -> None:
    get = seeded.client.get
    everything = get("/api/returns", headers=tokens["viewer"]).json()
    assert everything["total"] == 4 and len(everything["items"]) == 4
    s1 = get("/api/returns", params={"store": "s1"}, headers=tokens["viewer"]).json()
    assert {r["return_id"] for r in s1["items"]} == {"R1", "R2"}
    inspected_ = get("/api/returns", params={"state": "inspected"},
                     headers=tokens["viewer"]).json()
    assert [(r["store_id"], r["return_id"]) for r in inspected_["items"]] == [("s2", "R1")]
    page = get("/api/returns", params={"limit": 3, "offset": 3}, headers=tokens["viewer"]).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (4, 1, 3, 3)
    assert everything["items"][0]["received_at"].endswith("Z")


def test_return_detail_has_items_and_refunds_and_ambiguous_ids_need_a_store(
        seeded: RunningHub, tokens: dict[str, Any]) -> None:
    get = seeded.client.get
    detail = get("/api/returns/R2", headers=tokens["viewer"]).json()
    assert detail["items"][0]["unit_price"] == {"amount": "99.00", "currency": "USD"}
    assert detail["refunds"][0]["refund_id"] == "F2"
    assert detail["refunds"][0]["amount"] == {"amount": "99.00", "currency": "USD"}
    ambiguous = get("/api/returns/R1", headers=tokens["viewer"])
    assert ambiguous.status_code == 409 and ambiguous.json()["detail"][0]["field"] == "store"
    chosen = get("/api/returns/R1", params={"store": "s2"}, headers=tokens["viewer"]).json()
    assert chosen["state"] == "inspected" and chosen["inspections"][0]["grade"] == "good"
    missing = get("/api/returns/NOPE", headers=tokens["viewer"])
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "id"


def test_return_detail_shows_what_the_store_recorded_of_the_sale(
        api_hub: RunningHub, tokens: dict[str, Any]) -> None:
    sold = utc_now() - timedelta(days=3)
    ingest(api_hub.engine, make_envelope("s1", "n1", 1, ReturnReceived(
        return_id="R9", channel=Channel.POS, reason="broken", received_at=utc_now(), sold_at=sold,
        items=[ReturnItem(sku="SKU-9", quantity=1, unit_price=Money.of("9.00", "USD"),
                          category="Software", opened=True),
               ReturnItem(sku="SKU-8", quantity=1, unit_price=Money.of("1.00", "USD"))])))
    detail = api_hub.client.get("/api/returns/R9", headers=tokens["viewer"]).json()
    assert abs(datetime.fromisoformat(detail["sold_at"]) - sold) < timedelta(milliseconds=1)
    assert [(i["category"], i["opened"]) for i in detail["items"]] == [
        ("software", True), (None, None)]


def test_refund_queue_lists_what_waits(seeded: RunningHub, tokens: dict[str, Any]) -> None:
    queue = seeded.client.get("/api/refunds", params={"state": "pending_approval"},
                              headers=tokens["viewer"]).json()
    assert [(r["refund_id"], r["approval_level"]) for r in queue["items"]] == [
        ("F2", 1), ("F3", 1)]
    assert queue["items"][0]["reasons"] == [
        "marketplace store:s1 has no rules of its own; the default rules (other) apply",
        "99.00 USD is at most 500.00 USD: needs approval at level 1 (regional manager) "
        "(tier regional)",
        "refund after approval (pos / unknown would refund on scan)"]


def test_approve_moves_the_refund_audits_and_tells_the_store(
        seeded: RunningHub, tokens: dict[str, Any]) -> None:
    answer = seeded.client.post("/api/refunds/F3/approve", json={"reason": "good customer"},
                                headers=tokens["boss"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["state"], body["outcome"], body["decided_by"]) == ("approved", "approved",
                                                                    "boss")
    assert body["decision_reason"] == "good customer"
    with reading(seeded.engine) as conn:
        told = conn.execute(select(commands).where(commands.c.store_id == "s2")
                            .order_by(commands.c.seq)).all()
        entry = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).first()
    assert [(c.seq, c.body["outcome"]) for c in told] == [(1, "pending_approval"),
                                                          (2, "approved")]
    assert (told[1].node_id, told[1].kind, told[1].body["decided_by"]) == (
        "n1", "refund.decided", "boss")
    assert entry is not None
    assert (entry.actor, entry.role, entry.action, entry.entity_id) == (
        "boss", "regional_manager", "refund.approved", "s2/F3")
    assert entry.before["state"] == "pending_approval" and entry.after["state"] == "approved"

    again = seeded.client.post("/api/refunds/F3/approve", headers=tokens["boss"])
    assert again.status_code == 409
    assert again.json()["detail"][0]["message"].startswith(
        "cannot approve a refund that is approved")


def test_a_refund_the_policy_approved_cannot_be_approved_or_rejected_again(
        seeded: RunningHub, tokens: dict[str, Any]) -> None:
    before = snapshot(seeded)
    assert seeded.client.post("/api/refunds/F1/approve",
                              headers=tokens["boss"]).status_code == 409
    assert seeded.client.post("/api/refunds/F1/reject", json={"reason": "x"},
                              headers=tokens["boss"]).status_code == 409
    assert snapshot(seeded) == before


def test_nobody_approves_their_own_request(seeded: RunningHub, tokens: dict[str, Any]) -> None:
    before = snapshot(seeded)
    answer = seeded.client.post("/api/refunds/F2/approve", headers=tokens["clerk-1"])
    assert answer.status_code == 403
    assert "nobody approves their own request" in answer.json()["detail"][0]["message"]
    assert snapshot(seeded) == before
    assert seeded.client.post("/api/refunds/F2/approve",
                              headers=tokens["boss"]).status_code == 200


def test_reject_needs_a_reason_and_bad_requests_name_the_field(
        seeded: RunningHub, tokens: dict[str, Any]) -> None:
    before = snapshot(seeded)
    post, boss = seeded.client.post, tokens["boss"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "body"),
        ({"json": {}}, "reason"),
        ({"json": {"reason": "   "}}, "reason"),
        ({"json": {"reason": "x" * 2001}}, "reason"),
        ({"json": {"reason": "ok", "amount": 5}}, "amount"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
    ]
    for kwargs, field in cases:
        headers = {**boss, **kwargs.pop("headers", {})}
        answer = post("/api/refunds/F2/reject", headers=headers, **kwargs)
        assert answer.status_code == 422, (kwargs, answer.text)
        assert answer.json()["detail"][0]["field"] == field, (kwargs, answer.json())
    bad_query = seeded.client.get("/api/refunds", params={"state": "bogus", "limit": 0},
                                  headers=boss)
    assert bad_query.status_code == 422
    assert {d["field"] for d in bad_query.json()["detail"]} == {"state", "limit"}
    assert snapshot(seeded) == before

    answer = post("/api/refunds/F2/reject", json={"reason": "receipt is forged"}, headers=boss)
    assert answer.status_code == 200 and answer.json()["state"] == "rejected"
    assert post("/api/refunds/F2/approve", headers=boss).status_code == 409


def test_stores_show_nodes_seq_and_command_backlog(seeded: RunningHub,
                                                   tokens: dict[str, Any]) -> None:
    stores = seeded.client.get("/api/stores", headers=tokens["viewer"]).json()
    by_id = {s["store_id"]: s for s in stores}
    node = by_id["s1"]["nodes"][0]
    assert (node["node_id"], node["contiguous_seq"], node["gap"]) == ("n1", 4, False)
    assert node["commands_unapplied"] == 2 and node["online"] is False


def test_dead_letters_metrics_docs_and_unknown_routes(api_hub: RunningHub,
                                                      tokens: dict[str, Any]) -> None:
    ingest(api_hub.engine, ("acorn/v1/stores/s1/nodes/n1/events", b"\xffjunk"))
    dead = api_hub.client.get("/api/dead-letters", headers=tokens["viewer"]).json()
    assert dead["total"] == 1 and dead["items"][0]["sender"] == "s1/n1"
    assert dead["items"][0]["payload_bytes"] == 5
    assert api_hub.client.get("/metrics").status_code == 401  # metrics need a token
    assert "acorn_hub_dead_letters" in api_hub.client.get("/metrics",
                                                          headers=tokens["viewer"]).text
    assert api_hub.client.get("/docs").status_code == 200
    paths = api_hub.client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/returns", "/api/returns/{return_id}", "/api/refunds",
            "/api/refunds/{refund_id}/approve", "/api/refunds/{refund_id}/reject",
            "/api/stores", "/api/dead-letters"} <= set(paths)
    missing = api_hub.client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] is None
