"""Per-seller, per-operation token buckets with Amazon's documented rate and burst."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from sp_api.api import Orders
from sp_api.base import SellingApiRequestThrottledException

from spapi_sim import client_kwargs
from tests.support.http_calls import http_get

SEARCH = "/orders/2026-01-01/orders"
QUERY = {"createdAfter": "2026-02-27T00:00:00Z"}


def test_burst_beyond_the_documented_limit_gets_429(make_sim: Any) -> None:
    sim = make_sim(rate_factor=Decimal(1))
    with sim.client(sim.accounts[0]) as client:
        answers = [client.get(SEARCH, params=QUERY) for _ in range(21)]
    assert [a.status_code for a in answers] == [200] * 20 + [429]  # searchOrders: burst 20
    throttled = answers[-1]
    assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert throttled.json() == {"errors": [{
        "code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
        "details": ""}]}
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_buckets_are_per_seller_and_per_operation(make_sim: Any) -> None:
    sim = make_sim(rate_factor=Decimal(1))
    first, second = sim.accounts[0], sim.accounts[1]
    with sim.client(first) as client:
        for _ in range(21):
            client.get(SEARCH, params=QUERY)
        order_id = sim.simulator.world.orders(first.seller_id)[-1].order_id
        assert client.get(f"{SEARCH}/{order_id}").status_code == 200
    with sim.client(second) as other:
        assert other.get(SEARCH, params=QUERY).status_code == 200
    counters = http_get(f"{sim.base_url}/_sim/stats").json()["operations"]
    assert counters[f"{first.seller_id}/searchOrders"] == {"requests": 21, "throttled": 1}


def test_rate_factor_scales_the_rate_and_the_header(make_sim: Any) -> None:
    sim = make_sim(rate_factor=Decimal(10))
    with sim.client(sim.accounts[0]) as client:
        order_id = sim.simulator.world.orders(sim.accounts[0].seller_id)[-1].order_id
        answers = [client.get(f"{SEARCH}/{order_id}") for _ in range(40)]  # getOrder: burst 30
        throttled = [a for a in answers if a.status_code == 429]
        assert throttled and throttled[0].headers["x-amzn-RateLimit-Limit"] == "5"  # 0.5 x 10
        time.sleep(0.3)  # tokens come back at 5 a second
        assert client.get(f"{SEARCH}/{order_id}").status_code == 200


def test_sp_api_raises_throttled_exception(make_sim: Any) -> None:
    sim = make_sim(rate_factor=Decimal(1))
    account = sim.accounts[0]
    with Orders(version="2026-01-01", **client_kwargs(sim.base_url, account, "ATVPDKIKX0DER")) \
            as orders, pytest.raises(SellingApiRequestThrottledException) as caught:
        for _ in range(21):
            orders.search_orders(**QUERY)
    assert caught.value.error[0]["code"] == "QuotaExceeded"
    assert caught.value.headers["x-amzn-RateLimit-Limit"] == "0.0056"
