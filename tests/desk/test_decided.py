"""The desk's decided view through the real API, on both databases: every search proven by a
refund that matches and one that does not, the caller's scope, paging, bad input; store names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from hub.access.permissions import Role, Scope
from hub.fleet import stores
from hub.storage.engine import writing
from hub.storage.tables.core import refunds
from protocol import utc_now
from tests.desk.seed import Ask, seed
from tests.people.conftest import SETUP, DeskHub, add_user
from tests.support.http_calls import http_get

ASKS = [
    Ask("s1", "1", "20.00", order="O-1", sku="SKU-A", rma="RMA-1"),  # auto-approved
    Ask("s2", "2", "30.00", currency="EUR", sku="SKU-B"),  # auto-approved, EUR
    Ask("s3", "3", "80.00", order="O-3", sku="SKU-A"),  # level 1 → rejected below
    Ask("s1", "4", "60.00", order="O-4", sku="SKU-B", rma="RMA-4"),  # level 1 → approved below
    Ask("s1", "5", "90.00", order="O-1"),  # level 1, still waiting: never in the decided view
]
ALL = {"F1", "F2", "F3", "F4"}


@pytest.fixture
def hub(desk: DeskHub) -> DeskHub:
    seed(desk.engine, ASKS)
    add_user(desk.engine, "finn", Role.FINANCE)
    add_user(desk.engine, "rita", Role.REGIONAL_MANAGER, Scope(region="north"))
    finn = desk.sign_in("finn")
    answer = finn.post("/api/refunds/F3/reject?store=s3", json={"reason": "worn"})
    assert answer.status_code == 200, answer.text
    answer = finn.post("/api/refunds/F4/approve?store=s1", json={"reason": "ok"})
    assert answer.status_code == 200, answer.text
    with writing(desk.engine) as tx:  # F1 was decided ten days ago
        tx.conn.execute(update(refunds).where(refunds.c.refund_id == "F1")
                        .values(decided_at=utc_now() - timedelta(days=10)))
    return desk


def user(hub: DeskHub, name: str) -> httpx.Client:
    """``name``'s signed-in client (one per user: DeskHub closes each it keeps)."""
    return hub.clients.get(name) or hub.sign_in(name)


def decided(client: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/desk/decided", params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def ids(client: httpx.Client, **params: Any) -> set[str]:
    return {row["refund_id"] for row in decided(client, **params)["items"]}


def test_decided_refunds_newest_decision_first_and_never_the_waiting(hub: DeskHub) -> None:
    page = decided(user(hub, "finn"))
    assert page["total"] == 4
    rows = page["items"]
    assert [r["refund_id"] for r in rows][-1] == "F1"  # decided ten days ago: last
    assert {r["refund_id"]: r["state"] for r in rows} == {
        "F1": "approved", "F2": "approved", "F3": "rejected", "F4": "approved"}
    f3 = next(r for r in rows if r["refund_id"] == "F3")
    assert (f3["decided_by"], f3["decision_reason"], f3["amount"]) == (
        "finn", "worn", {"amount": "80.00", "currency": "USD"})
    f4 = next(r for r in rows if r["refund_id"] == "F4")
    assert (f4["rma_id"], f4["order_id"]) == ("RMA-4", "O-4")


TODAY = utc_now().date()
SEARCHES = [
    ({"order_id": "O-4"}, {"F4"}),
    ({"order_id": "O-9"}, set()),
    ({"return_code": "RMA-1"}, {"F1"}),  # the RMA code
    ({"return_code": "R3"}, {"F3"}),  # the return id
    ({"customer_key": "order:O-1"}, {"F1"}),  # F5 has the same customer but waits
    ({"store": "s1"}, {"F1", "F4"}),
    ({"sku": "SKU-A"}, {"F1", "F3"}),
    ({"sku": "SKU-B"}, {"F2", "F4"}),
    ({"min_amount": "60.00"}, {"F3", "F4"}),  # base currency (USD): 60.00 is inside
    ({"max_amount": "60.00"}, {"F1", "F2", "F4"}),
    ({"min_amount": "50", "max_amount": "70"}, {"F4"}),
    ({"min_amount": "5", "max_amount": "25"}, {"F1"}),  # numbers, not text: "20.00" < "5"
    ({"currency": "EUR", "min_amount": "30.00", "max_amount": "30.00"}, {"F2"}),
    ({"currency": "USD", "max_amount": "30.00"}, {"F1"}),
    ({"decided_from": str(TODAY)}, {"F2", "F3", "F4"}),
    ({"decided_to": str(TODAY - timedelta(days=1))}, {"F1"}),
    ({"decided_from": str(TODAY - timedelta(days=10)),
      "decided_to": str(TODAY - timedelta(days=10))}, {"F1"}),
    ({"outcome": "rejected"}, {"F3"}),
    ({"outcome": "approved"}, {"F1", "F2", "F4"}),
    ({"state": "rejected", "store": "s1"}, set()),
    ({"store": "s1", "sku": "SKU-B", "outcome": "approved"}, {"F4"}),
]


def test_each_search_keeps_what_matches_and_drops_what_does_not(hub: DeskHub) -> None:
    finn, wrong = user(hub, "finn"), []
    for params, expected in SEARCHES:  # one hub for all: each search is one GET
        assert expected != ALL, params  # every search leaves something out
        page = decided(finn, **params)
        found = {r["refund_id"] for r in page["items"]}
        if found != expected or page["total"] != len(expected):
            wrong.append((params, sorted(found), page["total"], sorted(expected)))
    assert wrong == []


def test_the_scope_filters_in_the_database_before_paging(hub: DeskHub) -> None:
    rita = user(hub, "rita")  # region north: s1, s2
    assert ids(rita) == {"F1", "F2", "F4"}
    assert decided(rita)["total"] == 3
    assert ids(rita, store="s3") == set()
    first, second = decided(rita, limit=2), decided(rita, limit=2, offset=2)
    assert (first["total"], second["total"]) == (3, 3)
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert {r["refund_id"] for r in first["items"] + second["items"]} == {"F1", "F2", "F4"}


def test_pages_do_not_overlap_and_cover_everything(hub: DeskHub) -> None:
    finn = user(hub, "finn")
    pages = [decided(finn, limit=1, offset=n) for n in range(5)]
    seen = [r["refund_id"] for p in pages for r in p["items"]]
    assert sorted(seen) == sorted(ALL) and len(seen) == 4
    assert all(p["total"] == 4 for p in pages) and pages[4]["items"] == []


BAD = [
    ({"min_amount": "70", "max_amount": "50"}, None, "min_amount 70 is above max_amount 50"),
    ({"decided_from": "2026-02-30"}, "decided_from", "date"),
    ({"decided_from": "2026-03-02", "decided_to": "2026-03-01"}, None, "is after decided_to"),
    ({"min_amount": "lots"}, "min_amount", "decimal"),
    ({"min_amount": "-1"}, "min_amount", "greater than or equal to 0"),
    ({"outcome": "maybe"}, "outcome", "approved"),
    ({"limit": "0"}, "limit", "greater than or equal to 1"),
    ({"currency": "euro"}, "currency", "pattern"),
    ({"colour": "red"}, "colour", "Extra inputs"),
]


def test_bad_searches_answer_422_naming_the_field(hub: DeskHub) -> None:
    finn = user(hub, "finn")
    for params, field, words in BAD:
        answer = finn.get("/api/desk/decided", params=params)
        assert answer.status_code == 422, (params, answer.text)
        problem = answer.json()["detail"][0]
        assert words in problem["message"], (params, problem)
        assert field is None or problem["field"] == field, (params, problem)


def test_a_viewer_needs_to_sign_in(hub: DeskHub) -> None:
    assert http_get(f"{hub.url}/api/desk/decided", timeout=10).status_code == 401


def test_stores_are_named_with_city_and_region_in_scope(hub: DeskHub) -> None:
    stores.set_store(hub.engine, "s1", SETUP, name="Oslo Sentrum")
    rita, finn = user(hub, "rita"), user(hub, "finn")
    assert rita.get("/api/desk/facets").json()["store_names"] == [
        {"value": "s1", "label": "Oslo Sentrum (oslo / north)"},
        {"value": "s2", "label": "s2 (bergen / north)"},  # no name: the id
    ]
    assert [s["value"] for s in finn.get("/api/desk/facets").json()["store_names"]] == [
        "s1", "s2", "s3"]
    story = finn.get("/api/refunds/F4", params={"store": "s1"}).json()
    assert (story["store"]["name"], story["store"]["label"]) == (
        "Oslo Sentrum", "Oslo Sentrum (oslo / north)")
    assert story["customer_key"] == "order:O-4"  # what the decided view searches by
