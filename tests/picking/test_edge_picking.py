"""A pick task at the store (real agent over HTTP, real SQLite, no broker): the command reserves
its units, a wrong scan is refused and changes nothing, shipping moves the reserved units out
and writes ONE ``order.shipped``; a give-back releases the reservation and tells the hub."""

from __future__ import annotations

import json
from datetime import datetime

from edge_agent.sync import commands
from protocol import OrderShipped, PickGivenBack, PickLine, PickTask, encode, make_envelope
from protocol import utc_now as now
from tests.edge.conftest import NODE, STORE, Running


def pick_command(package: str = "PK-1", seq: int = 1, ship_by: datetime | None = None,
                 **lines: int) -> bytes:
    lines = lines or {"SKU-A": 2, "SKU-B": 1}
    return encode(make_envelope(STORE, NODE, seq, PickTask(
        package_id=package, order_id="111-0000001-0000001", marketplace_id="ATVPDKIKX0DER",
        lines=tuple(PickLine(sku=s, quantity=q) for s, q in lines.items()), language="de",
        ship_by=ship_by)))


def stocked(agent: Running, **skus: int) -> None:
    answer = agent.http.post("/api/stock/counts", json={"count_id": "c0", "lines": [
        {"sku": s, "quantity": q} for s, q in skus.items()]})
    assert answer.status_code == 201, answer.text


def levels(agent: Running, sku: str) -> dict[str, int]:
    found: dict[str, int] = agent.http.get(f"/api/stock/{sku}").json()["levels"]
    return {k: v for k, v in found.items() if v}


def events(agent: Running, kind: str) -> list[dict[str, object]]:
    with agent.agent.store.read() as tx:
        return [json.loads(r["body"]) for r in tx.all(
            "SELECT body FROM outbox WHERE kind = ? ORDER BY seq", (kind,))]


def test_picked_with_a_wrong_scan_refused_then_shipped_once(agent: Running) -> None:
    stocked(agent, **{"SKU-A": 5, "SKU-B": 1})
    done = commands.handle(agent.agent.store, STORE, NODE, pick_command(), now())
    assert done.result == "applied", done.detail
    assert levels(agent, "SKU-A") == {"sellable": 3, "reserved": 2}
    assert levels(agent, "SKU-B") == {"reserved": 1}
    (listed,) = agent.http.get("/api/pick-tasks").json()["tasks"]
    assert listed["package_id"] == "PK-1" and listed["language"] == "de"

    url = "/api/pick-tasks/PK-1"
    early = agent.http.post(f"{url}/shipment", json={"carrier": "DHL", "tracking_number": "T1"})
    assert early.status_code == 409 and "scan every item" in early.text
    wrong = agent.http.post(f"{url}/scans", json={"code": "SKU-Z"})
    assert wrong.status_code == 409, wrong.text
    assert "wrong item: SKU-Z is not on order" in wrong.text
    for code in ("SKU-A", "SKU-B", "SKU-A"):
        assert agent.http.post(f"{url}/scans", json={"code": code}).status_code == 200
    extra = agent.http.post(f"{url}/scans", json={"code": "SKU-A"})
    assert extra.status_code == 409 and "all 2 picked already" in extra.text
    assert [li["picked"] for li in agent.http.get(url).json()["lines"]] == [2, 1]

    shipped = agent.http.post(f"{url}/shipment",
                              json={"carrier": "DHL", "tracking_number": "00340434"})
    assert shipped.status_code == 201, shipped.text
    again = agent.http.post(f"{url}/shipment",
                            json={"carrier": "DHL", "tracking_number": "00340434"})
    assert again.status_code == 200
    other = agent.http.post(f"{url}/shipment", json={"carrier": "UPS", "tracking_number": "1Z9"})
    assert other.status_code == 409
    (event,) = events(agent, "order.shipped")
    body = OrderShipped.model_validate(event)
    assert (body.package_id, body.carrier, body.tracking_number) == ("PK-1", "DHL", "00340434")
    assert levels(agent, "SKU-A") == {"sellable": 3} and levels(agent, "SKU-B") == {}
    assert agent.http.get("/api/pick-tasks").json() == {"tasks": []}
    reasons = [e["reason"] for e in events(agent, "stock.moved")]
    assert reasons.count("shipped") == 2 and reasons.count("reservation") == 2


def test_a_task_known_already_reserves_nothing_twice(agent: Running) -> None:
    stocked(agent, **{"SKU-A": 5, "SKU-B": 1})
    commands.handle(agent.agent.store, STORE, NODE, pick_command(), now())
    twice = commands.handle(agent.agent.store, STORE, NODE, pick_command(seq=2), now())
    assert "known already" in twice.detail
    assert levels(agent, "SKU-A") == {"sellable": 3, "reserved": 2}


def test_a_store_giving_back_releases_its_reservation(agent: Running) -> None:
    stocked(agent, **{"SKU-A": 1})
    done = commands.handle(agent.agent.store, STORE, NODE, pick_command(), now())
    assert "short: SKU-A 1 of 2, SKU-B 0 of 1" in done.detail
    assert levels(agent, "SKU-A") == {"reserved": 1}
    empty = agent.http.post("/api/pick-tasks/PK-1/give-back", json={"reason": " "})
    assert empty.status_code == 422
    back = agent.http.post("/api/pick-tasks/PK-1/give-back",
                           json={"reason": "only one on the shelf"})
    assert back.status_code == 200 and back.json()["status"] == "given_back"
    assert levels(agent, "SKU-A") == {"sellable": 1}
    (event,) = events(agent, "order.pick.given_back")
    assert PickGivenBack.model_validate(event).reason == "only one on the shelf"
    later = agent.http.post("/api/pick-tasks/PK-1/scans", json={"code": "SKU-A"})
    assert later.status_code == 409 and "given back already" in later.text


def test_a_task_the_hub_withdraws_releases_its_reservation(agent: Running) -> None:
    from protocol import PickWithdrawn

    stocked(agent, **{"SKU-A": 5, "SKU-B": 1})
    commands.handle(agent.agent.store, STORE, NODE, pick_command(), now())
    withdrawn = encode(make_envelope(STORE, NODE, 2, PickWithdrawn(
        package_id="PK-1", order_id="111-0000001-0000001", reason="routed again")))
    done = commands.handle(agent.agent.store, STORE, NODE, withdrawn, now())
    assert (done.result, done.detail) == ("applied",
                                          "pick task PK-1 withdrawn, its reservation released")
    assert levels(agent, "SKU-A") == {"sellable": 5} and levels(agent, "SKU-B") == {"sellable": 1}
    assert agent.http.get("/api/pick-tasks").json() == {"tasks": []}
    assert events(agent, "order.pick.given_back") == []  # the hub asked: nothing to tell it
    late = agent.http.post("/api/pick-tasks/PK-1/scans", json={"code": "SKU-A"})
    assert late.status_code == 409 and "withdrawn already" in late.text
