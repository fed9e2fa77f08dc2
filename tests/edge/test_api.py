"""The local API: every endpoint's happy path; bad requests name the field and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from edge_agent.agent import Agent
from edge_agent.errors import ConfigError
from edge_agent.sync import commands
from protocol import (
    Channel,
    ExpectedReturn,
    Money,
    ReturnItem,
    encode,
    make_envelope,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running

ITEM = {"sku": "SKU-1", "quantity": 2, "unit_price": {"amount": "9.99", "currency": "USD"}}
RETURN: dict[str, Any] = {"channel": "pos", "reason": "changed mind", "items": [ITEM],
                          "staff_id": "ann"}
TABLES = ("returns", "return_items", "refunds", "inspections", "dispositions", "outbox", "audit")


def counts(run: Running) -> dict[str, int]:
    return {table: run.rows(table) for table in TABLES}


def cache_rma(run: Running, rma_id: str = "RMA-1", order_id: str = "113-1") -> None:
    """Put an expected return in the node's cache, as the hub's command would."""
    expected = ExpectedReturn(
        rma_id=rma_id, order_id=order_id, channel=Channel.AMAZON_MFN, marketplace_id="ATV",
        customer_hint="J*** D***",
        items=[ReturnItem(sku="SKU-T", quantity=1, unit_price=Money.of("49.99", "USD")),
               ReturnItem(sku="SKU-C", quantity=2, unit_price=Money.of("7.50", "USD"))])
    payload = encode(make_envelope(STORE, NODE, 1, expected))
    outcome = commands.handle(run.agent.store, STORE, NODE, payload, utc_now())
    assert outcome.result == "applied"


def post_return(run: Running, **changes: Any) -> dict[str, Any]:
    answer = run.http.post("/api/returns", json={**RETURN, **changes})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_health_names_the_node_and_its_outbox(agent: Running) -> None:
    health = agent.http.get("/api/health").json()
    assert health["store_id"] == STORE and health["node_id"] == NODE
    assert health["broker_connected"] is False
    assert (health["outbox_pending"], health["last_acked_seq"], health["next_seq"]) == (0, 0, 1)
    assert health["store_timezone"] == "Europe/Berlin" and health["version"]


def test_record_a_walk_in_return_with_its_refund_in_one_go(agent: Running) -> None:
    view = post_return(agent)
    assert view["return_id"].startswith("R") and len(view["return_id"]) == 13
    assert view["state"] == "received" and view["allowed_actions"] == ["inspect"]
    assert view["total"] == {"amount": "19.98", "currency": "USD"}
    assert view["refund"]["status"] == "requested" and view["refund"]["sent_to_hub"] is False
    assert view["refund"]["amount"] == view["total"]
    assert view["received_at"].endswith("Z")
    assert counts(agent) == {"returns": 1, "return_items": 1, "refunds": 1, "inspections": 0,
                             "dispositions": 0, "outbox": 3, "audit": 3}  # + stock.moved
    assert agent.http.get(f"/api/returns/{view['return_id']}").json() == view


def test_a_return_without_refund_request_emits_no_refund_event(agent: Running) -> None:
    view = post_return(agent, request_refund=False)
    assert view["refund"] is None
    with agent.agent.store.read() as tx:
        kinds = [r["kind"] for r in tx.all("SELECT kind FROM outbox ORDER BY seq")]
    assert kinds == ["return.received", "stock.moved"]  # the goods enter QC hold


def test_a_return_for_a_cached_rma_is_matched_and_completed(agent: Running) -> None:
    cache_rma(agent)
    items = [{"sku": "SKU-T", "quantity": 1, "unit_price": {"amount": "49.99", "currency": "USD"}},
             {"sku": "SKU-C", "quantity": 2, "unit_price": {"amount": "7.50", "currency": "USD"}}]
    view = post_return(agent, channel="amazon_mfn", rma_id="RMA-1", items=items)
    assert (view["mismatch"], view["order_id"], view["marketplace_id"]) == (False, "113-1", "ATV")
    assert view["total"]["amount"] == "64.99"


def test_a_return_that_differs_from_its_rma_is_flagged(agent: Running) -> None:
    cache_rma(agent)
    view = post_return(agent, order_id="113-1")
    assert view["mismatch"] is True and view["rma_id"] == "RMA-1"
    assert "SKU-1 is not on RMA RMA-1" in view["mismatch_reasons"]


def test_an_rma_cannot_be_received_twice(agent: Running) -> None:
    cache_rma(agent)
    first = post_return(agent, rma_id="RMA-1")
    before = counts(agent)
    answer = agent.http.post("/api/returns", json={**RETURN, "rma_id": "RMA-1"})
    assert answer.status_code == 409
    message = f"RMA RMA-1 was already received as return {first['return_id']}"
    assert answer.json()["detail"] == [{"field": "rma_id", "message": message}]
    assert counts(agent) == before


def test_scan_matches_cached_rma_existing_return_or_nothing(agent: Running) -> None:
    cache_rma(agent)
    scan = agent.http.post("/api/scans", json={"code": "RMA-1"}).json()
    assert scan["match"] == "expected_return"
    assert scan["expected_return"]["total"] == {"amount": "64.99", "currency": "USD"}
    assert agent.http.post("/api/scans", json={"code": "113-1"}).json()["match"] == \
        "expected_return"
    view = post_return(agent, rma_id="RMA-1")
    for code in ("RMA-1", view["return_id"], view["return_id"].lower()):
        scan = agent.http.post("/api/scans", json={"code": code}).json()
        assert scan["match"] == "return" and scan["returns"][0]["return_id"] == view["return_id"]
    assert agent.http.post("/api/scans", json={"code": "4006381333931"}).json()["match"] == \
        "unknown"
    assert agent.rows("scans") == 6


def test_inspect_then_dispose(agent: Running) -> None:
    return_id = post_return(agent)["return_id"]
    answer = agent.http.post(f"/api/returns/{return_id}/inspection", json={
        "grade": "like_new", "reason": "unused", "notes": "sealed box",
        "compliance_tags": ["battery"], "inspected_by": "bob"})
    assert answer.status_code == 201
    view = answer.json()
    assert view["state"] == "inspected" and view["allowed_actions"] == ["dispose"]
    assert view["inspection"]["grade"] == "like_new"
    assert view["inspection"]["compliance_tags"] == ["battery"]
    answer = agent.http.post(f"/api/returns/{return_id}/disposition", json={
        "disposition": "restock_open_box", "location": "A-12", "decided_by": "bob"})
    assert answer.status_code == 201
    view = answer.json()
    assert view["state"] == "disposed" and view["allowed_actions"] == []
    assert view["disposition"] == {"disposition": "restock_open_box", "location": "A-12",
                                   "decided_by": "bob", "decided_at": view["updated_at"]}
    assert agent.rows("outbox") == 6  # 4 return events and 2 stock moves (in, on to sellable)


@pytest.mark.parametrize(("first", "then", "message"), [
    (None, "disposition", "cannot dispose a return that has not been inspected"),
    ("inspection", "inspection", "already been inspected"),
])
def test_state_machine_violations_are_409_and_write_nothing(
        agent: Running, first: str | None, then: str, message: str) -> None:
    return_id = post_return(agent)["return_id"]
    bodies = {"inspection": {"grade": "good"}, "disposition": {"disposition": "restock_sellable"}}
    if first:
        agent.http.post(f"/api/returns/{return_id}/{first}", json=bodies[first])
    before = counts(agent)
    answer = agent.http.post(f"/api/returns/{return_id}/{then}", json=bodies[then])
    assert answer.status_code == 409
    assert answer.json()["detail"][0]["field"] == "state"
    assert message in answer.json()["detail"][0]["message"]
    assert counts(agent) == before


def test_recent_returns_are_paged_newest_first(agent: Running) -> None:
    ids = [post_return(agent)["return_id"] for _ in range(3)]
    page = agent.http.get("/api/returns", params={"limit": 2}).json()
    assert [r["return_id"] for r in page["items"]] == ids[::-1][:2]
    assert page["next_offset"] == 2
    rest = agent.http.get("/api/returns", params={"limit": 2, "offset": 2}).json()
    assert [r["return_id"] for r in rest["items"]] == ids[:1] and rest["next_offset"] is None


def item(**changes: Any) -> dict[str, Any]:
    return {**ITEM, **changes}


BAD_RETURNS = [
    ({"items": [item(unit_price={"amount": 9.99, "currency": "USD"})]},
     422, "items.0.unit_price.amount"),
    ({"items": [item(unit_price={"amount": "9.999", "currency": "USD"})]},
     422, "items.0.unit_price"),
    ({"items": [item(unit_price={"amount": "9.99", "currency": "XXX"})]},
     422, "items.0.unit_price.currency"),
    ({"items": [ITEM, item(unit_price={"amount": "1.00", "currency": "EUR"})]},
     422, "items.1.unit_price.currency"),
    ({"items": [item(quantity=0)]}, 422, "items.0.quantity"),
    ({"items": [item(sku="")]}, 422, "items.0.sku"),
    ({"items": []}, 422, "items"),
    ({"items": None}, 422, "items"),
    ({"channel": "ebay"}, 422, "channel"),
    ({"reason": ""}, 422, "reason"),
    ({"refund": True}, 422, "refund"),
    ({"rma_id": "x" * 65}, 422, "rma_id"),
    ({"scanned_codes": ["ok", ""]}, 422, "scanned_codes.1"),
]


@pytest.mark.parametrize(("changes", "status", "field"), BAD_RETURNS)
def test_bad_returns_name_the_field_and_write_nothing(agent: Running, changes: dict[str, Any],
                                                     status: int, field: str) -> None:
    answer = agent.http.post("/api/returns", json={**RETURN, **changes})
    assert answer.status_code == status
    detail = answer.json()["detail"]
    assert detail[0]["field"] == field, detail
    assert detail[0]["message"]
    assert counts(agent) == dict.fromkeys(TABLES, 0)


def test_missing_fields_are_each_named(agent: Running) -> None:
    answer = agent.http.post("/api/returns", json={})
    assert answer.status_code == 422
    assert {d["field"] for d in answer.json()["detail"]} == {"channel", "items", "reason"}


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/api/returns", b"{not json", 400, "body"),
    ("/api/scans", b"[1, 2", 400, "body"),
])
def test_unreadable_json_is_400(agent: Running, path: str, body: bytes, status: int,
                                field: str) -> None:
    answer = agent.http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status
    assert answer.json()["detail"][0]["field"] == field


@pytest.mark.parametrize(("action", "body", "field"), [
    ("inspection", {"grade": "shiny"}, "grade"),
    ("inspection", {"grade": "good", "compliance_tags": ["plutonium"]}, "compliance_tags.0"),
    ("inspection", {"grade": "good", "notes": "x" * 2001}, "notes"),
    ("inspection", {}, "grade"),
    ("disposition", {"disposition": "sell_twice"}, "disposition"),
])
def test_bad_qc_requests_name_the_field_and_write_nothing(
        agent: Running, action: str, body: dict[str, Any], field: str) -> None:
    return_id = post_return(agent)["return_id"]
    before = counts(agent)
    answer = agent.http.post(f"/api/returns/{return_id}/{action}", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == field
    assert counts(agent) == before


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/returns/R0000000000000", None),
    ("POST", "/api/returns/R0000000000000/inspection", {"grade": "good"}),
    ("POST", "/api/returns/R0000000000000/disposition", {"disposition": "dispose"}),
])
def test_unknown_return_is_404_naming_the_id(agent: Running, method: str, path: str,
                                             body: dict[str, Any] | None) -> None:
    answer = agent.http.request(method, path, json=body)
    assert answer.status_code == 404
    assert answer.json()["detail"][0]["field"] == "return_id"


def test_other_errors_have_the_same_shape(agent: Running) -> None:
    for method, path, status in [("GET", "/api/nothing", 404), ("DELETE", "/api/health", 405),
                                 ("GET", "/api/returns?limit=0", 422)]:
        answer = agent.http.request(method, path)
        assert answer.status_code == status
        assert set(answer.json()) == {"detail"}
        assert set(answer.json()["detail"][0]) == {"field", "message"}
    assert agent.http.post("/api/scans", json={"code": ""}).json()["detail"][0]["field"] == "code"


def test_metrics_count_returns_and_the_outbox(agent: Running) -> None:
    post_return(agent)
    text = agent.http.get("/metrics").text
    assert "acorn_edge_returns_recorded_total 1.0" in text
    assert "acorn_edge_outbox_pending 3.0" in text  # received, stock.moved, refund.requested
    assert "acorn_edge_broker_connected 0.0" in text


def test_the_counter_page_and_its_assets_are_served_locally(agent: Running) -> None:
    page = agent.http.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/counter.js", "/static/counter.css"):
        assert agent.http.get(asset).status_code == 200
        assert asset in page.text
    assert "http://" not in page.text and "https://" not in page.text


def test_openapi_documents_the_error_shape(agent: Running) -> None:
    spec = agent.http.get("/openapi.json").json()
    assert "ErrorBody" in spec["components"]["schemas"]
    answers = spec["paths"]["/api/returns"]["post"]["responses"]
    assert {"201", "409", "422"} <= set(answers)


def test_a_second_agent_on_the_same_data_dir_is_refused(agent: Running) -> None:
    with pytest.raises(ConfigError, match="already running"):
        Agent.open(agent.agent.settings, connect=False)


def test_an_unexpected_failure_is_a_500_without_traceback(
        agent: Running, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_return_id: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(agent.agent.counter, "get_return", broken)
    answer = agent.http.get("/api/returns/R0000000000000")
    assert answer.status_code == 500
    (problem,) = answer.json()["detail"]
    assert problem["field"] is None and "reference" in problem["message"]
    assert "disk on fire" not in answer.text and "Traceback" not in answer.text
    reference = problem["message"].rsplit(" ", 1)[-1]
    assert f"(ref {reference})" in caplog.text
