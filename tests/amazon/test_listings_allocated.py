"""Offers straight from the allocation engine: stock moves reach the hub's stock view, the
``listings`` job allocates under the active rules and sends only the changed quantities to the
simulator through python-amazon-sp-api."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from hub.amazon.listings.allocated import market_ids
from hub.amazon.settings import AmazonSettings
from hub.inventory.allocation import allocate
from hub.inventory.allocation import store as rules_store
from hub.inventory.stock_source import current_stock
from hub.storage.engine import reading
from protocol import Envelope, MoveReason, StockMoved, StockState, make_envelope, utc_now
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts
from tests.amazon.test_listings import SKUS, US, amazon_quantity, push, rows, start
from tests.hub.helpers import ingest

S, R = StockState, MoveReason
DE = "A1PA6795UKMFR9"


def moved(store: str, seq: int, sku: str, quantity: int, frm: StockState | None,
          to: StockState | None, reason: MoveReason, after: int) -> Envelope:
    state = to if to is not None else frm
    assert state is not None
    body = StockMoved(move_id=f"{store}-{seq}", sku=sku, quantity=quantity, from_state=frm,
                      to_state=to, reason=reason, at=utc_now(), balance={state: after})
    return make_envelope(store, "n1", seq, body)


def engine_offer(engine: Engine, sku: str, market: str = US) -> int:
    rules = rules_store.ensure_seeded(engine).compiled
    now = utc_now()
    with reading(engine) as conn:
        stock, sales = current_stock(conn, now)
    return allocate(stock, rules, sales, now).quantity(sku, market)


def test_rules_name_marketplaces_by_amazon_id_or_acorn_code() -> None:
    assert market_ids(["ATVPDKIKX0DER", "de", "web-shop"]) == {"ATVPDKIKX0DER": US, "de": DE}


def test_stock_moves_reach_amazon_as_the_engine_s_offer_once_per_change(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    kettle, grinder = SKUS
    result = ingest(lite,
                    moved("s1", 1, kettle, 5, None, S.SELLABLE, R.COUNT, 5),
                    moved("s2", 1, kettle, 10, None, S.SELLABLE, R.COUNT, 10),
                    moved("s2", 2, kettle, 3, None, S.QC_HOLD, R.RETURN_RECEIVED, 3),
                    moved("s1", 2, grinder, 1, None, S.SELLABLE, R.COUNT, 1))
    assert result.applied == 4 and not result.dead
    # default rules, US: floor 1 per store, 80 % per store rounded down (multi-location);
    # the QC hold is never offered: s1 (5-1)*0.8 -> 3, s2 (10-1)*0.8 -> 7; grinder 1-1 -> 0
    assert engine_offer(lite, kettle) == 10 and engine_offer(lite, grinder) == 0

    push(lite, amazon_settings, accounts)
    assert amazon_quantity(sim, kettle) == 10 and amazon_quantity(sim, grinder) == 0
    patches = sim.requests(sim.sellers[0], "patchListingsItem")
    assert patches == 2
    assert {(r["sku"], r["quantity"], r["status"]) for r in rows(lite)} == {
        (kettle, 10, "accepted"), (grinder, 0, "accepted")}
    assert {r["marketplace_id"] for r in rows(lite)} == {US}  # the account sells only in US

    push(lite, amazon_settings, accounts)  # nothing moved: nothing queued, nothing sent
    assert sim.requests(sim.sellers[0], "patchListingsItem") == patches and len(rows(lite)) == 2

    ingest(lite, moved("s2", 3, kettle, 4, S.SELLABLE, None, R.POS_SALE, 6))  # sold at the till
    assert engine_offer(lite, kettle) == 3 + 4  # s2 (6-1)*0.8 -> 4
    push(lite, amazon_settings, accounts)
    assert amazon_quantity(sim, kettle) == 7
    assert sim.requests(sim.sellers[0], "patchListingsItem") == patches + 1


def test_a_push_with_an_offers_file_sends_only_the_file(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    ingest(lite, moved("s1", 1, SKUS[0], 5, None, S.SELLABLE, R.COUNT, 5))
    quiet = amazon_settings.model_copy(update={"listings_from_allocation": False})
    push(lite, quiet, accounts)
    assert rows(lite) == [] and sim.requests(sim.sellers[0], "patchListingsItem") == 0
