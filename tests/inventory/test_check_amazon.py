"""The consistency check against Amazon: quantities sent through python-amazon-sp-api to the
simulator's Listings Items API and accepted there are compared with the stores' sellable units
(from ``stock.moved`` events through the real ingest); Amazon listing more than the chain holds
raises an alert in the API (the desk reads it) and in /metrics; a change still on its way to
Amazon is not a difference. Both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.amazon.listings import outbox
from hub.amazon.settings import AmazonSettings
from hub.inventory.differences import Listed, amazon_differences
from protocol import MoveReason, StockState
from tests.amazon.conftest import Sim, amazon_settings, make_sim  # noqa: F401  (fixtures)
from tests.amazon.test_listings import SKUS, US, amazon_quantity, offers, push, start
from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.hub.helpers import ingest
from tests.hub.test_stock_view import moved

S, KETTLE = StockState, SKUS[0]


@pytest.fixture
def running(db_url: str) -> Iterator[RunningHub]:
    """A hub serving its API on ``db_url`` (both backends), threshold 2."""
    yield from start_hub(hub_settings(db_url, stock_check_threshold=2))


def test_amazon_listing_more_than_the_stores_hold_alerts_in_the_api_and_metrics(
        running: RunningHub, make_sim: Callable[..., Sim],  # noqa: F811
        amazon_settings: AmazonSettings) -> None:  # noqa: F811
    from tests.amazon.helpers import add_accounts

    engine = running.engine
    sim = start(make_sim)
    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    outbox.enqueue(engine, offers({KETTLE: 8}), "test", "operator")
    push(engine, amazon_settings, accounts)
    assert amazon_quantity(sim, KETTLE) == 8  # Amazon really lists 8
    # then the two stores count the kettle: 3 + 2 = 5 sellable in the chain
    ingest(engine, moved("s1", 1, "s1-M1", KETTLE, 3, None, S.SELLABLE, MoveReason.COUNT,
                         {S.SELLABLE: 3}),
           moved("s2", 1, "s2-M1", KETTLE, 2, None, S.SELLABLE, MoveReason.COUNT,
                 {S.SELLABLE: 2}))

    auth = {"Authorization": f"Bearer {create_token(engine, 'hq', Role.ADMIN)}"}
    found = running.client.get("/api/stock/amazon-differences", headers=auth)
    assert found.status_code == 200, found.text
    assert [(d["account"], d["marketplace_id"], d["sku"], d["amazon_listed"],
             d["chain_sellable"], d["difference"], d["alert"]) for d in found.json()] == [
        ("na", US, KETTLE, 8, 5, 3, True)]  # 3 over the threshold of 2
    metrics = running.client.get("/metrics", headers=auth).text
    assert "acorn_hub_stock_amazon_differences_alerting 1.0" in metrics

    # a lower quantity on its way to Amazon: in flight, not a difference yet
    outbox.enqueue(engine, offers({KETTLE: 5}), "test", "operator")
    assert running.client.get("/api/stock/amazon-differences", headers=auth).json() == []
    push(engine, amazon_settings, accounts)  # the listings job also offers what allocation says
    listed = amazon_quantity(sim, KETTLE)
    assert listed is not None and listed <= 5
    assert running.client.get("/api/stock/amazon-differences", headers=auth).json() == []
    assert "acorn_hub_stock_amazon_differences_alerting 0.0" in running.client.get(
        "/metrics", headers=auth).text

    # chain-wide figures: a caller scoped to some stores is refused, not shown a part
    scoped = create_token(engine, "north", Role.REGIONAL_MANAGER, scope=Scope(region="north"))
    refused = running.client.get("/api/stock/amazon-differences",
                                 headers={"Authorization": f"Bearer {scoped}"})
    assert refused.status_code == 403


def test_amazon_differences_by_table() -> None:
    listed = [Listed("na", US, "A", 8), Listed("na", US, "B", 3), Listed("eu", "X", "A", 6),
              Listed("na", US, "C", 9, in_flight=True), Listed("na", US, "D", 1)]
    found = amazon_differences(listed, {"A": 5, "B": 3, "C": 0}, threshold=2)
    assert [(d["account"], d["sku"], d["difference"], d["alert"]) for d in found] == [
        ("eu", "A", 1, False),  # within the threshold: listed, no alert
        ("na", "A", 3, True),
        ("na", "D", 1, False),  # no stock at all: Amazon's 1 is over what the chain holds
    ]  # B lists exactly what is held; C's newer quantity is still on its way
