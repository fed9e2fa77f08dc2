"""A transfer not shipped yet is cancelled (signed in for real, SQLite and PostgreSQL): only by a
manager with a store of it in scope, with a reason, once, audited, and the sending store's
counter drops the task when the command reaches it (a real agent, offline); a store that shipped
before it heard keeps its shipment, and the hub follows it as shipped."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from edge_agent.sync import commands as edge_commands
from hub.access.permissions import Role, Scope
from hub.storage.engine import reading
from hub.storage.tables.core import commands
from protocol import (
    BODY_TYPES,
    MoveReason,
    StockMoved,
    StockState,
    TransferCancelled,
    TransferLine,
    TransferTask,
    encode,
    make_envelope,
    utc_now,
)
from tests.edge.conftest import NODE, STORE, Running
from tests.hub.helpers import ingest, status
from tests.people.conftest import DeskHub, add_user
from tests.routing.db_support import audits

ONE = {"from_store": "s1", "to_store": "s3", "lines": [{"sku": "SKU-A", "quantity": 2}]}


def queued(desk: DeskHub) -> list[tuple[str, str]]:
    with reading(desk.engine) as conn:
        return [(r.node_id, r.kind) for r in conn.execute(
            select(commands).order_by(commands.c.seq))]


def test_a_manager_cancels_a_requested_transfer_once(desk: DeskHub) -> None:
    ingest(desk.engine, *(status(s, "n1") for s in ("s1", "s2", "s3")))
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    add_user(desk.engine, "vic", Role.VIEWER)
    add_user(desk.engine, "mona", Role.STORE_MANAGER, Scope(store="s2"))
    nora, vic, mona = (desk.sign_in(u) for u in ("nora", "vic", "mona"))
    made = nora.post("/api/transfers", json=ONE).json()
    url = f"/api/transfers/{made['transfer_id']}/cancel"
    why = {"reason": "requested twice"}

    assert vic.post(url, json=why).status_code == 403
    assert mona.post(url, json=why).status_code == 404  # neither store is hers: not revealed
    assert nora.post(url, json={"reason": ""}).status_code == 422
    assert nora.post("/api/transfers/TR-NOPE/cancel", json=why).status_code == 404
    done = nora.post(url, json=why)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "cancelled"
    again = nora.post(url, json=why)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"][0]["message"]
    assert queued(desk) == [("n1", "transfer.task"), ("n1", "transfer.cancelled")]
    (entry,) = audits(desk.engine, "transfer.cancelled")
    assert (entry.entity_id, entry.reason) == (made["transfer_id"], "requested twice")


def _task(transfer_id: str) -> TransferTask:
    return TransferTask(transfer_id=transfer_id, role="send", from_store=STORE,
                        to_store="store-b", lines=[TransferLine(sku="SKU-A", quantity=1)])


def _command(seq: int, body: TransferTask | TransferCancelled) -> bytes:
    return encode(make_envelope(STORE, NODE, seq, body))


def test_the_counter_drops_an_open_task_and_keeps_a_shipped_one(agent: Running) -> None:
    store = agent.agent.store
    agent.http.post("/api/stock/counts", json={"count_id": "c1", "lines": [
        {"sku": "SKU-A", "quantity": 5}]})
    for seq, transfer in ((1, "TR-OPEN"), (2, "TR-GONE")):
        assert edge_commands.handle(store, STORE, NODE, _command(seq, _task(transfer)),
                                    utc_now()).result == "applied"
    assert agent.http.post("/api/transfers/TR-GONE/ship", json={}).status_code in (200, 201)

    open_ = edge_commands.handle(store, STORE, NODE, _command(3, TransferCancelled(
        transfer_id="TR-OPEN", reason="requested twice")), utc_now())
    shipped = edge_commands.handle(store, STORE, NODE, _command(4, TransferCancelled(
        transfer_id="TR-GONE", reason="too late")), utc_now())
    assert open_.result == "applied" and "cancelled" in open_.detail
    assert shipped.result == "applied" and "stays so" in shipped.detail
    assert agent.http.get("/api/transfers").json() == {"tasks": []}
    assert agent.http.get("/api/transfers/TR-OPEN").json()["status"] == "cancelled"
    assert agent.http.get("/api/transfers/TR-GONE").json()["status"] == "shipped"
    assert BODY_TYPES["transfer.cancelled"] is TransferCancelled


def test_a_shipment_made_before_the_cancel_was_heard_is_followed(desk: DeskHub) -> None:
    ingest(desk.engine, *(status(s, "n1") for s in ("s1", "s3")))
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    made = ada.post("/api/transfers", json=ONE).json()
    assert ada.post(f"/api/transfers/{made['transfer_id']}/cancel",
                    json={"reason": "not needed"}).status_code == 200
    at = datetime.now(UTC)
    opening = StockMoved(move_id="M0", sku="SKU-A", quantity=5, from_state=None,
                         to_state=StockState.SELLABLE, reason=MoveReason.COUNT, at=at)
    ship = StockMoved(move_id="M1", sku="SKU-A", quantity=2, from_state=StockState.SELLABLE,
                      to_state=StockState.IN_TRANSIT, reason=MoveReason.TRANSFER_OUT,
                      transfer_id=made["transfer_id"], at=at)
    ingest(desk.engine, make_envelope("s1", "n1", 1, opening), make_envelope("s1", "n1", 2, ship))
    after = ada.get(f"/api/transfers/{made['transfer_id']}").json()
    assert after["status"] == "shipped"
    with reading(desk.engine) as conn:  # the receiver gets its task
        assert conn.execute(select(commands.c.kind).where(
            commands.c.store_id == "s3")).scalars().all() == ["transfer.task"]
