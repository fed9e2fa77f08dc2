"""The counter warns before selling stock the allocation rules keep back: the store's part of the
rules (its floors and reserves) arrives in its config; a POS sale that leaves fewer sellable
units than that is booked all the same and answers a warning; the stock view says how many are
kept back (the counter page shows the warning in the store's language)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge_agent.staff import store_config
from edge_agent.stock.kept_back import eats_into, kept_back
from protocol import (
    CONFIG_NODE_ID,
    StoreAllocation,
    StoreConfig,
    StoreReserve,
    encode,
    make_envelope,
    utc_now,
)
from tests.edge.conftest import STORE, Running
from tests.edge.test_stock import count, levels

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
US = "ATVPDKIKX0DER"


def part(*reserves: StoreReserve) -> StoreAllocation:
    return StoreAllocation(version=4, name="Holiday", floor=1, sku_floors={"SKU-F": 2},
                           reserves=list(reserves))


def reserve(name: str, target: str, quantity: int, **extra: object) -> StoreReserve:
    return StoreReserve.model_validate({"name": name, "for": target, "quantity": quantity,
                                        **extra})


WEB = reserve("web", US, 2, skus=["SKU-W"])
SHOP = reserve("shop", "in_store", 1)
OVER = reserve("last_week", US, 5, ends=NOW - timedelta(days=1))
LATER = reserve("black_friday", "in_store", 7, starts=NOW + timedelta(hours=1))
TOYS = reserve("toys", US, 9, categories=["toys"])  # the node knows no categories


@pytest.mark.parametrize(("sku", "reserves", "at", "units"), [
    ("SKU-W", (), NOW, 1),                                  # the store's floor alone
    ("SKU-F", (), NOW, 2),                                  # a SKU floor wins over it
    ("SKU-W", (WEB, SHOP), NOW, 1 + 2 + 1),                 # floor, channel and in-store
    ("SKU-X", (WEB, SHOP), NOW, 1 + 1),                     # a reserve for other SKUs
    ("SKU-W", (OVER, LATER), NOW, 1),                       # ended, not started yet
    ("SKU-W", (LATER,), NOW + timedelta(hours=1), 1 + 7),   # starts inclusive
    ("SKU-W", (OVER,), NOW - timedelta(days=2), 1 + 5),     # ends exclusive
    ("SKU-W", (TOYS,), NOW, 1),                             # categories only: not applied
])
def test_what_is_kept_back(sku: str, reserves: tuple[StoreReserve, ...], at: datetime,
                           units: int) -> None:
    assert kept_back(part(*reserves), sku, at).units == units


def test_a_sale_warns_below_what_is_kept_back_only() -> None:
    held = kept_back(part(WEB, SHOP), "SKU-W", NOW)
    assert [eats_into(n, held) for n in (5, 4, 3, -1)] == [False, False, True, True]
    assert kept_back(None, "SKU-W", NOW).units == 0 and not eats_into(-3, kept_back(None, "A",
                                                                                        NOW))


def apply_allocation(run: Running, allocation: StoreAllocation, **config: object) -> None:
    body = StoreConfig.model_validate({"version": 1, "issued_at": utc_now(),
                                       "allocation": allocation, **config})
    payload = encode(make_envelope(STORE, CONFIG_NODE_ID, 1, body))
    assert store_config.receive(run.agent.store, STORE, payload, utc_now()).result == "applied"


def sale(run: Running, key: str, sku: str, qty: int) -> dict[str, object]:
    answer = run.http.post("/api/pos/sales", json={"pos_transaction_id": key,
                                                   "lines": [{"sku": sku, "qty": qty}]})
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, object] = answer.json()
    return body


def test_the_pos_api_warns_and_books_the_sale(agent: Running) -> None:
    count(agent, "start", [{"sku": "SKU-W", "quantity": 6}, {"sku": "SKU-F", "quantity": 3}])
    assert sale(agent, "t-0", "SKU-W", 1)["warnings"] == []  # no rules carried yet
    assert agent.http.get("/api/stock/SKU-W").json()["kept_back"] == 0

    apply_allocation(agent, part(WEB, SHOP, TOYS))
    assert agent.http.get("/api/stock/SKU-W").json()["kept_back"] == 4
    assert sale(agent, "t-1", "SKU-W", 1)["warnings"] == []  # 4 left: not below 4
    booked = sale(agent, "t-2", "SKU-W", 2)
    assert levels(agent, "SKU-W")["sellable"] == 2  # booked all the same
    (warning,) = booked["warnings"]  # type: ignore[misc]
    assert {k: warning[k] for k in ("sku", "code", "sellable", "kept_back", "floor",
                                    "reserves")} == {
        "sku": "SKU-W", "code": "below_kept_back", "sellable": 2, "kept_back": 4, "floor": 1,
        "reserves": [f"web ({US})", "shop (in_store)"]}
    assert "SKU-W" in warning["message"]
    assert sale(agent, "t-2", "SKU-W", 2)["warnings"] == booked["warnings"]  # the repeat, too
    assert levels(agent, "SKU-W")["sellable"] == 2

    # SKU-F: its SKU floor (2) and the in-store reserve (1) keep 3 back: any sale warns
    warned = sale(agent, "t-3", "SKU-F", 1)["warnings"]
    assert [(w["sku"], w["sellable"], w["kept_back"]) for w in warned] == [  # type: ignore
        ("SKU-F", 2, 3)]
