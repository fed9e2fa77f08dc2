"""Two seller accounts selling on the same marketplace are never offered more than the
marketplace's offer between them: the whole goes to one account, the other is offered 0."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from hub.amazon.accounts import Account, new_account
from hub.amazon.listings.allocated import offers_for, owners
from hub.amazon.settings import AmazonSettings
from hub.inventory.allocation import Allocation, Offer
from protocol import MoveReason, StockState
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts
from tests.amazon.test_listings import SKUS, US, push, start
from tests.amazon.test_listings_allocated import engine_offer, moved
from tests.hub.helpers import ingest

CA = "A2EUQ1WTGCTBG2"


def account(name: str, *codes: str) -> Account:
    return new_account(name, "A1B2C3D4E5F6", "NA", codes)


def test_the_owner_is_the_smallest_name_and_the_rest_get_zero() -> None:
    accounts = [account("zeta", "US", "CA"), account("alpha", "US")]
    assert owners(accounts) == {US: "alpha", CA: "zeta"}
    now = datetime(2026, 12, 1, tzinfo=UTC)
    allocation = Allocation(1, now, {("K", US): Offer("K", US, 9, 12, ())})
    ids = {US: US}
    split = [offers_for(allocation, ids, a.name, a.marketplace_ids, owners(accounts))
             for a in accounts]
    assert [[o.quantity for o in found] for found in split] == [[0], [9]]
    assert sum(o.quantity for found in split for o in found) == 9  # never above the offer


def test_two_accounts_on_one_marketplace_never_oversell(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim, accounts=4)  # sellers 0 and 3 are both North American
    accounts = add_accounts(lite, sim, amazon_settings, {"na-b": (0, ("US",)),
                                                          "na-a": (3, ("US",))})
    kettle = SKUS[0]
    ingest(lite, moved("s1", 1, kettle, 5, None, StockState.SELLABLE, MoveReason.COUNT, 5),
           moved("s2", 1, kettle, 10, None, StockState.SELLABLE, MoveReason.COUNT, 10))
    offer = engine_offer(lite, kettle)
    assert offer == 10
    push(lite, amazon_settings, accounts)

    def listed(index: int) -> int:
        found = sim.simulator.listings.get(sim.sellers[index].seller_id, kettle, US)
        assert found is not None
        return found.quantity

    # the simulator seeds both listings with a quantity; both are set, and only "na-a" sells
    assert (listed(3), listed(0)) == (offer, 0)
    assert listed(3) + listed(0) <= offer

    ingest(lite, moved("s2", 2, kettle, 6, StockState.SELLABLE, None, MoveReason.POS_SALE, 4))
    push(lite, amazon_settings, accounts)
    offer = engine_offer(lite, kettle)
    assert (listed(3), listed(0)) == (offer, 0) and offer == 3 + 2
