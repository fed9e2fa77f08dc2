"""``rebuild``: the events of a damaged file whose outbox rows are gone, made again from the
business rows the counter wrote with them (what ``acorn-edge recover`` does for a cut outbox)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge_agent.storage.rebuild import LOST_REASON, REBUILT, TABLES, rebuild
from edge_agent.storage.records import return_checksum
from tests.edge.conftest import Running

RETURN: dict[str, Any] = {
    "channel": "pos", "reason": "changed mind", "staff_id": "ann", "request_refund": True,
    "refund_method": "cash", "scanned_codes": ["4006381333931"], "order_id": "113-9",
    "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": {"amount": "9.99", "currency": "USD"},
               "description": "kettle", "gtin": "4006381333931", "category": "electronics",
               "opened": True},
              {"sku": "SKU-2", "quantity": 1, "unit_price": {"amount": "5.00", "currency": "USD"}}]}


def a_disposed_return(agent: Running) -> str:
    """A return with its refund, inspected and restocked: every kind of event a return makes."""
    answer = agent.http.post("/api/returns", json=RETURN)
    assert answer.status_code == 201, answer.text
    return_id = str(answer.json()["return_id"])
    assert agent.http.post(f"/api/returns/{return_id}/inspection", json={
        "grade": "like_new", "reason": "unused", "notes": "sealed box",
        "compliance_tags": ["battery"], "inspected_by": "bob"}).status_code == 201
    assert agent.http.post(f"/api/returns/{return_id}/disposition", json={
        "disposition": "restock_open_box", "location": "A-12", "decided_by": "bob"}
        ).status_code == 201
    return return_id


def tables(agent: Running) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    with agent.agent.store.read() as tx:
        events = tx.all("SELECT * FROM outbox ORDER BY seq")
        rows = {table: tx.all(f"SELECT * FROM {table}") for table in TABLES}
    return events, rows


def test_every_event_of_a_return_is_rebuilt_as_the_counter_wrote_it(agent: Running) -> None:
    """With the whole outbox cut, each event comes back from its rows under its own seq, with
    the same kind, time and body (ids, money, items, QC facts, stock quantities after)."""
    a_disposed_return(agent)
    events, rows = tables(agent)
    assert [e["kind"] for e in events] == [  # a stock move per line, in and out of QC
        "return.received", "refund.requested", "stock.moved", "stock.moved",
        "inspection.recorded", "disposition.recorded", "stock.moved", "stock.moved"]
    made = rebuild(rows, covered=set(), hub_has=0)
    assert made.lost == [] and made.partial == []
    assert [(e["seq"], e["kind"], e["occurred_at"]) for e in made.events] == [
        (e["seq"], e["kind"], e["occurred_at"]) for e in events]
    assert [json.loads(e["body"]) for e in made.events] == [json.loads(e["body"])
                                                            for e in events]
    assert all(e["message_id"].startswith(REBUILT) for e in made.events)
    assert len({e["message_id"] for e in made.events}) == len(events)


@pytest.mark.parametrize(("covered", "hub_has", "expected"), [
    (set(range(1, 9)), 0, []),  # every outbox row salvaged: nothing to rebuild
    (set(), 8, []),  # the hub has them all
    (set(), 3, [4, 5, 6, 7, 8]),
    ({4, 6, 7}, 2, [3, 5, 8]),
])
def test_only_events_neither_salvaged_nor_at_the_hub_are_rebuilt(
        agent: Running, covered: set[int], hub_has: int, expected: list[int]) -> None:
    a_disposed_return(agent)
    _, rows = tables(agent)
    assert [e["seq"] for e in rebuild(rows, covered, hub_has).events] == expected


def test_a_return_whose_row_is_cut_comes_back_from_its_items_and_refund(
        agent: Running) -> None:
    """The return row is gone with the outbox: its items, refund and stock move still say what
    was returned, when, by whom, for how much; the lost reason is said to be lost, the return is
    listed for the operator, its seq is the one before its refund's."""
    return_id = a_disposed_return(agent)
    events, rows = tables(agent)
    original = json.loads(events[0]["body"])
    rows["returns"] = []
    made = rebuild(rows, covered=set(range(2, 9)), hub_has=0)
    assert made.partial == [return_id] and made.lost == []
    [event] = made.events
    assert (event["seq"], event["kind"], event["occurred_at"]) == (1, "return.received",
                                                                  events[0]["occurred_at"])
    body = json.loads(event["body"])
    assert body["reason"] == LOST_REASON
    same = ("return_id", "channel", "items", "staff_id", "received_at")
    assert {key: body[key] for key in same} == {key: original[key] for key in same}
    # known to the salvaged outbox: nothing to rebuild
    assert rebuild(rows, covered=set(range(2, 9)), hub_has=0, received={return_id}).events == []
    assert rebuild(rows, covered=set(range(2, 9)), hub_has=1).events == []  # the hub has it


def test_rows_that_cannot_make_their_event_whole_are_reported_lost(agent: Running) -> None:
    """Never a half-made event: a return row failing its checksum, a return whose items are
    gone, a return known by its items alone are named as lost; the rest is still rebuilt."""
    return_id = a_disposed_return(agent)
    _, rows = tables(agent)
    tampered = [{**rows["returns"][0], "total_amount": "999.00"}]
    assert tampered[0]["checksum"] != return_checksum(tampered[0])
    made = rebuild({**rows, "returns": tampered}, covered=set(), hub_has=0)
    assert [e["kind"] for e in made.events][:1] == ["refund.requested"]
    assert list(map(str, made.lost)) == [f"returns {return_id} (seq 1): fails its checksum"]

    made = rebuild({**rows, "return_items": []}, covered=set(), hub_has=0)
    assert list(map(str, made.lost)) == [
        f"returns {return_id} (seq 1): its items were not salvaged"]

    alone = {"return_items": rows["return_items"]}
    made = rebuild(alone, covered=set(), hub_has=0)
    assert made.events == [] and list(map(str, made.lost)) == [
        f"returns {return_id}: only its items were salvaged (check that the hub has it)"]
