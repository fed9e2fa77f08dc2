"""The POS API: look up by receipt or order, post a POS return once, refuse bad input by field."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.pos.models import REQUEST_EXAMPLE
from protocol import Channel, ExpectedReturn, Money, ReturnItem, utc_now
from tests.edge.conftest import Running, running_agent
from tests.edge_hw.conftest import hw_settings


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Running]:
    with running_agent(hw_settings(tmp_path), connect=False) as agent:
        yield agent


def pos_return(**overrides: Any) -> dict[str, Any]:
    """The documented example, with ``overrides``."""
    return {**REQUEST_EXAMPLE, **overrides}


def test_a_pos_return_is_recorded_like_any_return_and_queued_for_the_hub(run: Running) -> None:
    answer = run.http.post("/api/pos/returns", json=pos_return())
    assert answer.status_code == 201
    view = answer.json()
    assert view["created"] is True and view["refund_mode"] == "original_payment"
    record = view["record"]
    assert record["channel"] == "pos" and record["order_id"] == "B-2025-0330-0042"
    assert record["staff_id"] == "cashier-17" and record["items"][0]["sku"] == "SKU-KETTLE-1"
    assert record["refund"]["status"] == "requested"
    assert view["return_code"] == record["return_code"]
    with run.agent.store.read() as tx:
        kinds = [row["kind"] for row in tx.all("SELECT kind FROM outbox ORDER BY seq")]
    # synced like any other return; its goods enter QC hold
    assert kinds == ["return.received", "refund.requested", "stock.moved"]


def test_a_repeated_post_gives_the_same_return_and_records_nothing_new(run: Running) -> None:
    first = run.http.post("/api/pos/returns", json=pos_return()).json()
    again = run.http.post("/api/pos/returns", json=pos_return())
    assert again.status_code == 200
    assert again.json()["return_id"] == first["return_id"] and again.json()["created"] is False
    assert run.rows("returns") == 1 and run.rows("outbox") == 3


def test_concurrent_retries_make_one_return(run: Running) -> None:
    body = pos_return(pos_transaction_id="till-9-race")
    answers: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(base_url=run.url, timeout=10) as client:
            answers.append(client.post("/api/pos/returns", json=body))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["return_id"] for a in answers}) == 1
    assert run.rows("returns") == 1


def test_the_same_transaction_id_with_another_body_is_a_conflict(run: Running) -> None:
    run.http.post("/api/pos/returns", json=pos_return())
    clash = run.http.post("/api/pos/returns", json=pos_return(reason="changed mind"))
    assert clash.status_code == 409
    assert clash.json()["detail"][0]["field"] == "pos_transaction_id"


@pytest.mark.parametrize(("change", "field"), [
    ({"lines": []}, "lines"),
    ({"lines": [{**REQUEST_EXAMPLE["lines"][0], "qty": 0}]}, "lines.0.qty"),
    ({"lines": [{**REQUEST_EXAMPLE["lines"][0], "price": {"amount": 1.5, "currency": "EUR"}}]},
     "lines.0.price.amount"),
    ({"lines": [REQUEST_EXAMPLE["lines"][0], {**REQUEST_EXAMPLE["lines"][0],
                                              "price": {"amount": "1", "currency": "USD"}}]},
     "lines.1.price.currency"),
    ({"refund_mode": "bitcoin"}, "refund_mode"),
    ({"receipt_id": ""}, "receipt_id"),
    ({"pos_transaction_id": "x" * 65}, "pos_transaction_id"),
    ({"tip": "1.00"}, "tip"),
])
def test_bad_input_is_refused_naming_the_field(run: Running, change: dict[str, Any],
                                               field: str) -> None:
    answer = run.http.post("/api/pos/returns", json=pos_return(**change))
    assert answer.status_code == 422, answer.text
    assert field in {item["field"] for item in answer.json()["detail"]}
    assert run.rows("returns") == 0 and run.rows("pos_transactions") == 0


def test_lookup_by_receipt_return_code_and_order(run: Running) -> None:
    view = run.http.post("/api/pos/returns", json=pos_return()).json()
    by_receipt = run.http.get("/api/pos/lookup", params={"receipt": "B-2025-0330-0042"}).json()
    assert by_receipt["found"] is True
    assert [r["return_id"] for r in by_receipt["returns"]] == [view["return_id"]]
    assert by_receipt["returned_quantities"] == {"SKU-KETTLE-1": 1}
    by_code = run.http.get("/api/pos/lookup", params={"receipt": view["return_code"]}).json()
    assert [r["return_id"] for r in by_code["returns"]] == [view["return_id"]]

    expected = ExpectedReturn(
        rma_id="RMA-77", order_id="113-1234567-1234567", channel=Channel.AMAZON_MFN,
        items=[ReturnItem(sku="SKU-TOASTER-2", quantity=1, unit_price=Money.of("39.99", "EUR"))])
    with run.agent.store.write() as tx:
        from edge_agent.storage import records

        records.upsert_expected(tx, expected, "cmd-1", utc_now())
    by_order = run.http.get("/api/pos/lookup", params={"order": "113-1234567-1234567"}).json()
    assert by_order["found"] is True and by_order["returns"] == []
    assert by_order["expected_return"]["rma_id"] == "RMA-77"
    nothing = run.http.get("/api/pos/lookup", params={"receipt": "B-unknown"}).json()
    assert nothing["found"] is False and nothing["returns"] == []


@pytest.mark.parametrize("params", [{}, {"receipt": "a", "order": "b"}])
def test_lookup_needs_exactly_one_key(run: Running, params: dict[str, str]) -> None:
    answer = run.http.get("/api/pos/lookup", params=params)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "receipt"


def test_the_pos_api_is_documented_with_examples(run: Running) -> None:
    spec = run.http.get("/openapi.json").json()
    assert {"pos", "devices", "events"} <= {tag["name"] for tag in spec["tags"]}
    post = spec["paths"]["/api/pos/returns"]["post"]
    assert post["tags"] == ["pos"] and "Idempotent" in post["description"]
    assert {"200", "201", "409", "422"} <= set(post["responses"])
    schema = spec["components"]["schemas"]["PosReturnRequest"]
    assert schema["examples"][0]["pos_transaction_id"] == "till-3-20250330-000187"
    assert "pos_transaction_id" in schema["properties"]["pos_transaction_id"]["description"] or \
        "again" in schema["properties"]["pos_transaction_id"]["description"]
    assert spec["paths"]["/api/pos/lookup"]["get"]["tags"] == ["pos"]
