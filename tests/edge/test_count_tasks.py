"""The hub's count tasks at the store (real agent, real SQLite, no broker): a task command is
kept open and listed; only a count of its SKU in its state answers it, in the count's own
transaction, with a ``recount`` snapshot carrying the answer; a snapshot the hub asks of a node
with a key is signed with it."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.stock.snapshot import Signer
from edge_agent.sync import commands
from hub.inventory.check import authenticate
from protocol import CountTask, SnapshotRequest, StockSnapshot, StockState, encode, make_envelope
from protocol import utc_now as now
from tests.edge.conftest import NODE, STORE, Running


def task_command(task_id: str, sku: str = "SKU-K", state: StockState = StockState.SELLABLE,
                 seq: int = 1) -> bytes:
    return encode(make_envelope(STORE, NODE, seq, CountTask(
        task_id=task_id, sku=sku, state=state, difference_id=7, requested_by="hq-anna")))


def outbox_bodies(agent: Running, kind: str) -> list[dict[str, object]]:
    with agent.agent.store.read() as tx:
        return [json.loads(r["body"]) for r in tx.all(
            "SELECT body FROM outbox WHERE kind = ? ORDER BY seq", (kind,))]


def test_a_task_is_listed_until_a_count_of_its_sku_and_state_answers_it(agent: Running) -> None:
    store = agent.agent.store
    first = commands.handle(store, STORE, NODE, task_command("CT1"), now())
    assert (first.result, first.detail) == ("applied", "count task CT1: count SKU-K (sellable)")
    other = commands.handle(store, STORE, NODE, task_command("CT1", seq=2), now())
    assert other.result == "applied" and "known already" in other.detail  # one task, not two
    listed = agent.http.get("/api/count-tasks").json()["tasks"]
    assert [(t["task_id"], t["sku"], t["state"], t["difference_id"]) for t in listed] == [
        ("CT1", "SKU-K", "sellable", 7)]

    # counting another state, or other SKUs, leaves it open
    agent.http.post("/api/stock/counts", json={"count_id": "c1", "state": "qc_hold",
                                               "lines": [{"sku": "SKU-K", "quantity": 1}]})
    agent.http.post("/api/stock/counts", json={"count_id": "c2", "lines": [
        {"sku": "SKU-Z", "quantity": 2}]})
    assert len(agent.http.get("/api/count-tasks").json()["tasks"]) == 1
    assert outbox_bodies(agent, "stock.snapshot") == []

    counted = agent.http.post("/api/stock/counts", json={"count_id": "c3", "lines": [
        {"sku": "SKU-K", "quantity": 4}, {"sku": "SKU-Z", "quantity": 2}]})
    assert counted.status_code == 201, counted.text
    assert agent.http.get("/api/count-tasks").json() == {"tasks": []}
    (body,) = outbox_bodies(agent, "stock.snapshot")
    page = StockSnapshot.model_validate(body)  # sealed with the answer in it
    assert page.reason == "recount" and page.signature is None  # no key: a password node
    assert [(a.task_id, a.sku, a.count_id, a.counted) for a in page.answers or []] == [
        ("CT1", "SKU-K", "c3", 4)]
    assert {line.sku: line.levels for line in page.lines}["SKU-K"] == {
        StockState.SELLABLE: 4, StockState.QC_HOLD: 1}
    with store.read() as tx:
        (row,) = tx.all("SELECT status, count_id, counted, snapshot_id FROM count_tasks")
        audited = [r["action"] for r in tx.all(
            "SELECT action FROM audit WHERE entity = 'count_task' ORDER BY id")]
    assert (row["status"], row["count_id"], row["counted"], row["snapshot_id"]) == (
        "done", "c3", 4, page.snapshot_id)
    assert audited == ["stock.count_task.received", "stock.count_task.done"]
    # the same count again is the first booking: no second answer, no second snapshot
    again = agent.http.post("/api/stock/counts", json={"count_id": "c3", "lines": [
        {"sku": "SKU-K", "quantity": 4}, {"sku": "SKU-Z", "quantity": 2}]})
    assert again.status_code == 200 and len(outbox_bodies(agent, "stock.snapshot")) == 1


def test_a_snapshot_the_hub_asks_of_a_node_with_a_key_is_signed_with_it(agent: Running) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    asked = encode(make_envelope(STORE, NODE, 1, SnapshotRequest(requested_by="hq")))
    done = commands.handle(agent.agent.store, STORE, NODE, asked, now(), signer=Signer(key))
    assert done.result == "applied"
    (body,) = outbox_bodies(agent, "stock.snapshot")
    page = StockSnapshot.model_validate(body)
    from cryptography.hazmat.primitives import serialization

    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert authenticate(public, page, STORE, NODE).authentication == "signature"
