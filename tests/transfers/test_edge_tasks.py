"""Transfer tasks at the store (real agent, real SQLite, no broker: offline): a task for the
other side or another store is refused; a ship moves every line or none; a receipt books the
announced, received and lost units, each move with the transfer id; a repeat answers the first;
``transfer.delivered`` books the in-transit units out once."""

from __future__ import annotations

import json
from typing import Any

from edge_agent.stock.models import CountLine, CountRequest
from edge_agent.sync import commands
from protocol import (
    StockState,
    TransferDelivered,
    TransferLine,
    TransferTask,
    encode,
    make_envelope,
)
from protocol import utc_now as now
from tests.edge.conftest import NODE, STORE, Running

OTHER = "store-elsewhere"


def command(body: TransferTask | TransferDelivered, seq: int) -> bytes:
    return encode(make_envelope(STORE, NODE, seq, body))


def task(role: str, lines: dict[str, int], transfer_id: str = "TR1") -> TransferTask:
    frm, to = (STORE, OTHER) if role == "send" else (OTHER, STORE)
    return TransferTask(transfer_id=transfer_id, role=role,  # type: ignore[arg-type]
                        from_store=frm, to_store=to, requested_by="hq-anna",
                        lines=[TransferLine(sku=s, quantity=q) for s, q in lines.items()])


def levels(agent: Running, sku: str) -> dict[str, int]:
    held = agent.http.get(f"/api/stock/{sku}").json()["levels"]
    return {k: v for k, v in held.items() if v}


def moves(agent: Running) -> list[dict[str, Any]]:
    with agent.agent.store.read() as tx:
        return [json.loads(r["body"]) for r in tx.all(
            "SELECT body FROM outbox WHERE kind = 'stock.moved' ORDER BY seq")]


def test_a_task_for_another_store_is_refused(agent: Running) -> None:
    wrong = TransferTask(transfer_id="TRX", role="send", from_store=OTHER, to_store="store-3",
                         lines=[TransferLine(sku="SKU-A", quantity=1)])
    outcome = commands.handle(agent.agent.store, STORE, NODE, command(wrong, 1), now())
    assert outcome.result == "refused" and f"not {STORE}" in outcome.detail
    assert agent.http.get("/api/transfers").json() == {"tasks": []}


def test_a_ship_moves_every_line_or_none(agent: Running) -> None:
    store = agent.agent.store
    agent.http.post("/api/stock/counts", json={"count_id": "c1", "lines": [
        {"sku": "SKU-A", "quantity": 5}, {"sku": "SKU-B", "quantity": 1}]})
    applied = commands.handle(store, STORE, NODE, command(task("send", {"SKU-A": 3,
                                                                        "SKU-B": 2}), 1), now())
    assert applied.result == "applied", applied.detail
    again = commands.handle(store, STORE, NODE, command(task("send", {"SKU-A": 3}), 2), now())
    assert "known already" in again.detail
    (listed,) = agent.http.get("/api/transfers").json()["tasks"]
    assert (listed["role"], listed["status"], listed["to_store"]) == ("send", "open", OTHER)
    assert agent.http.post("/api/transfers/TR1/receive", json={"lines": []}).status_code == 409

    short = agent.http.post("/api/transfers/TR1/ship", json={})
    assert short.status_code == 409, short.text  # SKU-B: 1 sellable, 2 to ship
    assert short.json()["detail"][0]["field"] == "lines.1.quantity"
    assert levels(agent, "SKU-A") == {"sellable": 5}  # nothing moved: all or none

    agent.http.post("/api/stock/counts", json={"count_id": "c2", "lines": [
        {"sku": "SKU-B", "quantity": 2}]})
    shipped = agent.http.post("/api/transfers/TR1/ship", json={"staff_id": "emp-7"})
    assert shipped.status_code == 201, shipped.text
    assert agent.http.post("/api/transfers/TR1/ship", json={}).status_code == 200
    assert levels(agent, "SKU-A") == {"sellable": 2, "in_transit": 3}
    assert levels(agent, "SKU-B") == {"in_transit": 2}
    out = [m for m in moves(agent) if m.get("transfer_id") == "TR1"]
    assert [(m["sku"], m["quantity"], m["reason"], m["staff_id"]) for m in out] == [
        ("SKU-A", 3, "transfer_out", "emp-7"), ("SKU-B", 2, "transfer_out", "emp-7")]
    assert agent.http.get("/api/transfers").json() == {"tasks": []}

    delivered = TransferDelivered(transfer_id="TR1", lines=[
        TransferLine(sku="SKU-A", quantity=3), TransferLine(sku="SKU-B", quantity=2)])
    first = commands.handle(store, STORE, NODE, command(delivered, 3), now())
    assert first.result == "applied", first.detail
    assert levels(agent, "SKU-A") == {"sellable": 2} and levels(agent, "SKU-B") == {}
    second = commands.handle(store, STORE, NODE, command(delivered.model_copy(), 4), now())
    assert "delivered already" in second.detail and levels(agent, "SKU-A") == {"sellable": 2}
    assert agent.http.get("/api/transfers/TR1").json()["status"] == "delivered"


def test_a_receipt_books_what_came_and_the_difference(agent: Running) -> None:
    store = agent.agent.store
    commands.handle(store, STORE, NODE, command(task("receive", {"SKU-A": 4, "SKU-B": 2,
                                                                 "SKU-C": 1}), 1), now())
    assert agent.http.post("/api/transfers/TR1/ship", json={}).status_code == 409
    bad = agent.http.post("/api/transfers/TR1/receive", json={"lines": [
        {"sku": "SKU-A", "counted": 1}, {"sku": "SKU-A", "counted": 2}]})
    assert bad.status_code == 422
    got = agent.http.post("/api/transfers/TR1/receive", json={"staff_id": "emp-9", "lines": [
        {"sku": "SKU-A", "counted": 3}, {"sku": "SKU-B", "counted": 3}]})  # SKU-C: none came
    assert got.status_code == 201, got.text
    assert [(li["sku"], li["shipped"], li["counted"], li["difference"])
            for li in got.json()["counted"]] == [("SKU-A", 4, 3, -1), ("SKU-B", 2, 3, 1),
                                                 ("SKU-C", 1, 0, -1)]
    assert levels(agent, "SKU-A") == {"sellable": 3}
    assert levels(agent, "SKU-B") == {"sellable": 3}
    assert levels(agent, "SKU-C") == {}
    booked = [(m["sku"], m["quantity"], m.get("from_state"), m.get("to_state"), m["reason"])
              for m in moves(agent) if m.get("transfer_id") == "TR1"]
    assert booked == [
        ("SKU-A", 4, None, "in_transit", "transfer_in"),
        ("SKU-A", 3, "in_transit", "sellable", "transfer_in"),
        ("SKU-A", 1, "in_transit", None, "count"),
        ("SKU-B", 1, None, "sellable", "transfer_in"),
        ("SKU-B", 2, None, "in_transit", "transfer_in"),
        ("SKU-B", 2, "in_transit", "sellable", "transfer_in"),
        ("SKU-C", 1, None, "in_transit", "transfer_in"),
        ("SKU-C", 1, "in_transit", None, "count"),
    ]
    same = agent.http.post("/api/transfers/TR1/receive", json={"lines": [
        {"sku": "SKU-B", "counted": 3}, {"sku": "SKU-A", "counted": 3}]})
    assert same.status_code == 200 and same.json()["created"] is False
    assert len([m for m in moves(agent) if m.get("transfer_id") == "TR1"]) == len(booked)


def test_an_enrolled_store_ships_only_for_a_signed_in_member_of_staff(agent: Running) -> None:
    from tests.edge_auth.conftest import apply_config, sign_in

    assert apply_config(agent) == "applied"  # the store now requires sign-in
    agent.agent.stock.record_count(CountRequest(count_id="c1", lines=[
        CountLine(sku="SKU-A", quantity=5)]))
    commands.handle(agent.agent.store, STORE, NODE, command(task("send", {"SKU-A": 2}), 1),
                    now())
    for method, path in (("GET", "/api/transfers"), ("GET", "/api/transfers/TR1"),
                         ("POST", "/api/transfers/TR1/ship"),
                         ("POST", "/api/transfers/TR1/receive")):
        answer = agent.http.request(method, path, json={} if method == "POST" else None)
        assert answer.status_code == 401, (method, path, answer.text)
    assert agent.agent.stock.stock("SKU-A").levels[StockState.SELLABLE] == 5  # nothing moved
    assert sign_in(agent.http, "ann").status_code == 201
    refused = agent.http.post("/api/transfers/TR1/ship", json={"staff_id": "max"})
    assert refused.status_code == 403  # nobody ships in another's name
    shipped = agent.http.post("/api/transfers/TR1/ship", json={})
    assert shipped.status_code == 201 and shipped.json()["done_by"] == "ann"
