"""Order routing through the API, signed in for real (SQLite and PostgreSQL): reading scoped to
the stores of the caller, routing by hand for managers, give-back for the store's people, rules
for admins; each change audited, each refusal a clear 4xx that changes nothing."""

from __future__ import annotations

from hub.access.permissions import Role, Scope
from tests.people.conftest import DeskHub, add_user
from tests.routing.db_support import add_order, add_store, audits, publish_rules, put_stock
from tests.routing.test_service import SPRINGFIELD, import_route

ORDER = "111-0000012-0000012"


def routed(desk: DeskHub) -> None:
    """s1 in Springfield, s2 in Chicago (both region north), s3 in Portland (south)."""
    for store, place in (("s1", "us-spi"), ("s2", "us-chi"), ("s3", "us-pdx")):
        add_store(desk.engine, store, place=place)
        put_stock(desk.engine, store, "SKU-A", 3)
    publish_rules(desk.engine)
    row = add_order(desk.engine, ORDER, [("SKU-A", 1)])
    import_route(desk.engine, [row], {ORDER: SPRINGFIELD})


def test_managers_route_by_hand_inside_their_scope(desk: DeskHub) -> None:
    routed(desk)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    add_user(desk.engine, "vic", Role.VIEWER)
    nora, vic = desk.sign_in("nora"), desk.sign_in("vic")
    got = vic.get(f"/api/routing/orders/{ORDER}")
    assert got.status_code == 200 and got.json()["stores"] == ["s1"]
    assert got.json()["decision"]["stores"][0]["rank"] == 1
    url = f"/api/routing/orders/{ORDER}/route"
    assert vic.post(url, json={"store": "s2", "reason": "x"}).status_code == 403
    assert nora.post(url, json={"store": "s3", "reason": "x"}).status_code == 403  # south
    assert nora.post(url, json={"store": "s2"}).status_code == 422  # no reason
    assert nora.post(url, json={"store": "s2", "reason": "x", "extra": 1}).status_code == 422
    assert audits(desk.engine, "order.rerouted") == []
    moved = nora.post(url, json={"store": "s2", "reason": "the customer works in Chicago"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["status"], body["stores"], body["attempt"]) == ("manual", ["s2"], 2)
    assert [h["cause"] for h in body["history"]] == ["import", "manual"]
    (entry,) = audits(desk.engine, "order.rerouted")
    assert (entry.actor, entry.reason) == ("nora", "the customer works in Chicago")
    assert nora.post("/api/routing/orders/111-0000000-0000000/route",
                     json={"reason": "x"}).status_code == 404


def test_store_people_give_back_and_scoped_reading(desk: DeskHub) -> None:
    routed(desk)
    add_user(desk.engine, "sam", Role.STORE_STAFF, Scope(store="s1"))
    add_user(desk.engine, "sue", Role.VIEWER, Scope(region="south"))
    add_user(desk.engine, "ada", Role.ADMIN)
    sam, sue, ada = desk.sign_in("sam"), desk.sign_in("sue"), desk.sign_in("ada")
    assert sue.get(f"/api/routing/orders/{ORDER}").status_code == 404  # s1's, not south's
    assert sue.get("/api/routing/orders").json() == []
    url = f"/api/routing/orders/{ORDER}/give-back"
    assert sam.post(url, json={"store": "s2", "reason": "x"}).status_code == 403  # not his
    back = sam.post(url, json={"store": "s1", "reason": "the last one was damaged"})
    assert back.status_code == 200, back.text
    assert (back.json()["stores"], back.json()["given_back"]) == (["s2"], ["s1"])
    again = sam.post(url, json={"store": "s1", "reason": "again"})
    assert again.status_code == 409  # s1 ships nothing of it now
    assert sam.get(f"/api/routing/orders/{ORDER}").status_code == 200  # it gave it back
    listed = ada.get("/api/routing/orders", params={"store": "s2"}).json()
    assert [o["order_id"] for o in listed] == [ORDER]
    (entry,) = audits(desk.engine, "order.given_back")
    assert (entry.actor, entry.role, entry.after["stores"]) == ("sam", "store_staff", ["s2"])


def test_rules_for_admins(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    ada, nora = desk.sign_in("ada"), desk.sign_in("nora")
    assert nora.get("/api/routing/rules").json()["version"] == 1
    text = "schema_version: 1\nversion: 2\nname: split in two\nmax_packages: 2\n"
    assert nora.put("/api/routing/rules", json={"yaml": text}).status_code == 403
    bad = ada.put("/api/routing/rules", json={"yaml": text.replace("2\n", "0\n", 1)})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "version"
    done = ada.put("/api/routing/rules", json={"yaml": text})
    assert done.status_code == 200 and done.json()["version"] == 2
    assert nora.get("/api/routing/rules").json()["name"] == "split in two"
    assert len(audits(desk.engine, "routing_rules.published")) == 1
