"""Every marketplace has unshipped merchant-fulfilled orders with a delivery address to ship to."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sp_api.api import Orders

from spapi_sim import client_kwargs
from spapi_sim.accounts import seed_accounts
from spapi_sim.datagen import generate_account
from spapi_sim.marketplaces import BY_ID
from tests.spapi_sim.conftest import ANCHOR, FAST, Running

# What a postal code looks like in each country (the simulator's marketplaces).
POSTAL_CODES = {
    "US": r"\d{5}", "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d", "DE": r"\d{5}", "FR": r"\d{5}",
    "IT": r"\d{5}", "ES": r"\d{5}", "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", "JP": r"\d{3}-\d{4}",
}


def open_mfn(sim: Running, account: Any, marketplace_id: str) -> list[dict[str, Any]]:
    """Unshipped MFN orders of the last day before the anchor, as searchOrders gives them."""
    after = (ANCHOR - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    with Orders(version="2026-01-01",
                **client_kwargs(sim.base_url, account, marketplace_id)) as api:
        found: list[dict[str, Any]] = api.search_orders(
            createdAfter=after, marketplaceIds=[marketplace_id], fulfilledBy=["MERCHANT"],
            fulfillmentStatuses=["UNSHIPPED"],
            includedData=["RECIPIENT", "FULFILLMENT"]).payload["orders"]
    return found


def test_every_marketplace_has_open_mfn_orders_with_an_address(sim: Running) -> None:
    seen = set()
    for account in sim.accounts:
        for marketplace_id in account.marketplace_ids:
            country = BY_ID[marketplace_id].country_code
            orders = open_mfn(sim, account, marketplace_id)
            assert len(orders) >= 2, (account.seller_id, marketplace_id)
            for order in orders:
                address = order["recipient"]["deliveryAddress"]
                assert address["countryCode"] == country
                assert re.fullmatch(POSTAL_CODES[country], address["postalCode"]), address
                assert address["name"] and address["addressLine1"] and address["city"]
                assert address["phone"].startswith("+")
            seen.add(country)
    assert seen == set(POSTAL_CODES)


def test_one_open_order_per_marketplace_can_ship_in_parts(sim: Running) -> None:
    for account in sim.accounts:
        for marketplace_id in account.marketplace_ids:
            orders = [o for o in sim.simulator.world.orders(account.seller_id)
                      if o.marketplace_id == marketplace_id and o.status == "UNSHIPPED"
                      and o.fulfilled_by == "MERCHANT"]
            assert any(len(o.items) == 2 and o.items[0].quantity == 2 for o in orders)


def test_fba_recipients_come_without_a_phone(sim: Running) -> None:
    account = sim.accounts[0]
    fba = next(o for o in sim.simulator.world.orders(account.seller_id)
               if o.fulfilled_by == "AMAZON")
    with Orders(version="2026-01-01",
                **client_kwargs(sim.base_url, account, fba.marketplace_id)) as api:
        address = api.get_order(fba.order_id, includedData=["RECIPIENT"]).payload[
            "order"]["recipient"]["deliveryAddress"]
    assert "phone" not in address
    assert address["postalCode"] == fba.buyer.postal_code


def test_open_orders_leave_the_seeded_history_as_it_was() -> None:
    account = seed_accounts(FAST.seed, 1)[0]
    without = generate_account(account, replace(FAST, open_orders=0))
    with_them = generate_account(account, FAST)
    added = [o for o in with_them.orders if o not in without.orders]
    assert FAST.open_orders and len(added) == FAST.open_orders * len(account.marketplace_ids)
    assert [o for o in with_them.orders if o not in added] == list(without.orders)
    assert (with_them.returns, with_them.refunds) == (without.returns, without.refunds)
