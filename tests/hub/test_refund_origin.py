"""A refund records who asked for it (store, pos, hub), and that alone decides whether the
store's node hears about it: its decision, a person's approval, where its money is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from hub.access.permissions import Principal, Role
from hub.access.tokens import create_token
from hub.amazon.refunds.matching import move_refund
from hub.refunds.approvals import decide_refund
from hub.refunds.requests import request_refund
from hub.refunds.states import RefundAction
from hub.storage.engine import reading, writing
from hub.storage.tables.core import commands, refunds
from protocol import (
    Channel,
    Money,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    make_envelope,
    utc_now,
)
from tests.hub.conftest import RunningHub
from tests.hub.helpers import ingest

ADMIN = Principal("hq-1", Role.ADMIN)
FINANCE = Principal("fin-1", Role.FINANCE)


def asked_by_node(engine: Engine, return_id: str, refund_id: str, channel: Channel,
                  seq: int, amount: str = "12.00") -> None:
    """A return and its refund request, as the store's node n1 sends them."""
    ingest(engine, make_envelope("s1", "n1", seq, ReturnReceived(
        return_id=return_id, channel=channel, reason="too small", received_at=utc_now(),
        items=[ReturnItem(sku="SKU-1", quantity=1, unit_price=Money.of(amount, "USD"))])),
        make_envelope("s1", "n1", seq + 1, RefundRequested(
            refund_id=refund_id, return_id=return_id, amount=Money.of(amount, "USD"),
            channel=channel, requested_at=utc_now())))


def told(engine: Engine, refund_id: str) -> list[str]:
    """The kinds of the commands queued to a node about ``refund_id``."""
    with reading(engine) as conn:
        rows = conn.execute(select(commands.c.kind, commands.c.body)).all()
    return [r.kind for r in rows if r.body.get("refund_id") == refund_id]


def origin_of(engine: Engine, refund_id: str) -> Any:
    with reading(engine) as conn:
        return conn.execute(select(refunds.c.origin, refunds.c.node_id)
                            .where(refunds.c.refund_id == refund_id)).one()


def test_a_node_hears_of_the_refunds_it_asked_for_whatever_their_id(engine: Engine) -> None:
    asked_by_node(engine, "R1", "F1", Channel.POS, 1)
    asked_by_node(engine, "R2", "F2", Channel.WEB, 3)
    asked_by_node(engine, "R3", "HNODE1", Channel.POS, 5)  # an id like a hub one: still the node's
    assert tuple(origin_of(engine, "F1")) == ("pos", "n1")
    assert tuple(origin_of(engine, "F2")) == ("store", "n1")
    assert tuple(origin_of(engine, "HNODE1")) == ("pos", "n1")
    for refund_id in ("F1", "F2", "HNODE1"):
        assert told(engine, refund_id) == ["refund.decided"], refund_id


def test_a_refund_asked_at_the_hub_is_never_sent_to_the_node(engine: Engine) -> None:
    asked_by_node(engine, "R1", "F1", Channel.POS, 1, amount="90.00")
    row = request_refund(engine, ADMIN, "R1", "s1", Money.of("80.00", "USD"))
    assert (row["origin"], row["state"], row["approval_level"]) == ("hub", "pending_approval", 1)
    decide_refund(engine, FINANCE, row["refund_id"], "s1", approve=True, reason="checked")
    with writing(engine) as tx:  # the money moves, as the Amazon refund path moves it
        move_refund(tx, "s1", row["refund_id"], RefundAction.SUBMIT, "amazon:test", "sent")
    assert told(engine, row["refund_id"]) == []
    assert told(engine, "F1") == ["refund.decided"]  # the node's own request of the same return


def test_the_api_shows_the_origin(api_hub: RunningHub) -> None:
    asked_by_node(api_hub.engine, "R1", "F1", Channel.POS, 1)
    request_refund(api_hub.engine, ADMIN, "R1", "s1", None)
    token = create_token(api_hub.engine, "viewer-1", Role.VIEWER)
    answer = api_hub.client.get("/api/refunds", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    origins = {r["refund_id"][0]: r["origin"] for r in answer.json()["items"]}
    assert origins == {"F": "pos", "H": "hub"}
