"""Stores published as Amazon supply sources from their records, through python-amazon-sp-api
against the simulator's stateful Supply Sources API, and quantities per supply source landing in
the simulator's listings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from hub.access.users import Actor
from hub.amazon.settings import AmazonSettings
from hub.amazon.supply_sources.document import Store, documents
from hub.amazon.supply_sources.zip_states import us_state
from hub.inventory.store_records import StoreRecord, set_record
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon_listings import amazon_supply_sources
from hub.storage.tables.core import audit_log, stores
from protocol import MoveReason, StockState
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, sync
from tests.amazon.test_listings import SKUS, US, push, rows, start
from tests.amazon.test_listings_allocated import moved
from tests.hub.helpers import ingest
from tests.spapi_sim import official

HQ = Actor("hq", "admin")
HOURS = {"mon": [{"opens": "09:00", "closes": "18:00"}],
         "sat": [{"opens": "10:00", "closes": "24:00"}]}


def record(street: str = "1 Main St", zip_code: str = "10001", *, ship: bool = True,
           pickup: bool = False, country: str = "US", **extra: Any) -> StoreRecord:
    return StoreRecord.model_validate({
        "address": {"street": street, "postal_code": zip_code, "city": "New York",
                    "country": country},
        "time_zone": "America/New_York", "hours": HOURS,
        "manager": {"name": "Ada", "contact": "ada@example.com"},
        "capabilities": {"ship_from_store": ship, "pickup": pickup}, **extra})


def mapping(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        found = conn.execute(select(amazon_supply_sources).order_by(amazon_supply_sources.c.id))
        return [dict(r._mapping) for r in found]


def active_id(engine: Engine, store: str) -> str:
    return next(str(r["supply_source_id"]) for r in mapping(engine)
                if r["store_id"] == store and r["status"] == "active")


def publish(engine: Engine, settings: AmazonSettings, accounts: list[Any]) -> None:
    results = sync(engine, settings, accounts, ["supply-sources"])
    assert all(not r.job_errors for r in results.values()), results


def test_a_zip_code_names_its_state_and_documents_validate_against_the_model() -> None:
    assert (us_state("10001"), us_state("94105-1234"), us_state("SW1A")) == ("NY", "CA", None)
    docs = documents(Store("s-ny", "Herald Sq", record(pickup=True)))
    assert docs.create["address"]["stateOrRegion"] == "NY"
    hours = docs.update["configuration"]["operationalConfiguration"]["operatingHoursByDay"]
    assert hours["saturday"] == [{"startTime": "10:00", "endTime": "23:59"}]
    if official.STORES_DIR.is_dir():
        model = "supplySources_2020-07-01"
        assert official.definition_errors(model, "CreateSupplySourceRequest", docs.create) == []
        assert official.definition_errors(model, "UpdateSupplySourceRequest", docs.update) == []
    with pytest.raises(ValueError, match="US ZIP"):
        documents(Store("s-x", None, record(zip_code="ABCDE")))


def test_stores_become_supply_sources_updated_and_archived_with_their_records(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    seller = sim.sellers[0].seller_id
    set_record(lite, "s-ship", record(), HQ)
    set_record(lite, "s-pick", record("5 Elm St", "60601", ship=False, pickup=True), HQ)
    set_record(lite, "s-none", record("9 Oak St", ship=False), HQ)  # no capability
    set_record(lite, "s-berlin", record("Unter den Linden 1", "10117", country="DE"), HQ)
    publish(lite, amazon_settings, accounts)

    assert {r["store_id"] for r in mapping(lite)} == {"s-ship", "s-pick"}
    book = sim.simulator.supply_sources
    ship = book.get(seller, active_id(lite, "s-ship"))
    assert ship.code == "s-ship" and ship.status == "Active"
    assert ship.address["stateOrRegion"] == "NY"
    assert ship.capabilities["outbound"]["deliveryChannel"]["isSupported"] is True
    pick = book.get(seller, active_id(lite, "s-pick"))
    assert pick.address["stateOrRegion"] == "IL"
    assert pick.capabilities["outbound"]["pickupChannel"]["isSupported"] is True
    assert pick.configuration["timezone"] == "America/New_York"
    creates = sim.requests(sim.sellers[0], "createSupplySource")

    publish(lite, amazon_settings, accounts)  # nothing changed: nothing sent
    assert sim.requests(sim.sellers[0], "createSupplySource") == creates
    assert sim.requests(sim.sellers[0], "updateSupplySource") == 2

    changed = {**HOURS, "sun": [{"opens": "12:00", "closes": "16:00"}]}
    set_record(lite, "s-ship", record(hours=changed), HQ)  # new hours: an update
    set_record(lite, "s-pick", record("5 Elm St", "60601", ship=False, pickup=False), HQ)
    publish(lite, amazon_settings, accounts)
    ship = book.get(seller, active_id(lite, "s-ship"))
    assert ship.configuration["operationalConfiguration"]["operatingHoursByDay"]["sunday"] == [
        {"startTime": "12:00", "endTime": "16:00"}]
    archived = [r for r in mapping(lite) if r["store_id"] == "s-pick"]
    assert [r["status"] for r in archived] == ["archived"]
    assert book.get(seller, archived[0]["supply_source_id"]).status == "Archived"

    set_record(lite, "s-ship", record("2 Broadway", "10004", hours=changed), HQ)  # moved
    with writing(lite) as tx:
        tx.conn.execute(update(stores).where(stores.c.store_id == "s-none")
                        .values(decommissioned_at=tx.now))
    publish(lite, amazon_settings, accounts)
    ships = [r for r in mapping(lite) if r["store_id"] == "s-ship"]
    assert [r["status"] for r in ships] == ["archived", "active"]  # address: archived, anew
    assert book.get(seller, ships[1]["supply_source_id"]).address["addressLine1"] == "2 Broadway"
    with reading(lite) as conn:
        actions = [r.action for r in conn.execute(
            select(audit_log.c.action).where(audit_log.c.entity == "amazon_supply_source"))]
    assert actions.count("amazon.supply_source.created") == 3
    assert actions.count("amazon.supply_source.updated") == 1
    assert actions.count("amazon.supply_source.archived") == 2


def test_quantities_per_supply_source_land_in_the_simulator_s_listing(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    set_record(lite, "s1", record(), HQ)
    set_record(lite, "s2", record("5 Elm St", "60601", ship=False, pickup=True), HQ)
    kettle = SKUS[0]
    S, R = StockState, MoveReason
    ingest(lite, moved("s1", 1, kettle, 5, None, S.SELLABLE, R.COUNT, 5),
           moved("s2", 1, kettle, 10, None, S.SELLABLE, R.COUNT, 10),
           moved("s3", 1, kettle, 20, None, S.SELLABLE, R.COUNT, 20))  # s3: no record
    push(lite, amazon_settings, accounts)
    seller = sim.sellers[0].seller_id
    listing = sim.simulator.listings.get(seller, kettle, US)
    assert listing is not None
    s1, s2 = active_id(lite, "s1"), active_id(lite, "s2")
    # default rules, US: floor 1, 80 % per store rounded down: s1 4*0.8 -> 3, s2 9*0.8 -> 7;
    # s3 is no supply source (no record, so no ship-from-store or pickup): nothing from it
    assert dict(listing.by_source) == {s1: 3, s2: 7} and listing.quantity == 0
    change = next(r for r in rows(lite) if r["sku"] == kettle)
    assert change["status"] == "accepted" and change["quantity"] == 10

    ingest(lite, moved("s1", 2, kettle, 5, S.SELLABLE, None, R.POS_SALE, 0))  # s1 sold out
    push(lite, amazon_settings, accounts)
    listing = sim.simulator.listings.get(seller, kettle, US)
    assert listing is not None and dict(listing.by_source) == {s1: 0, s2: 7}
