"""Stores published as Amazon supply sources from their records, through python-amazon-sp-api
against the simulator's stateful Supply Sources API, and quantities per supply source landing in
the simulator's listings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sp_api.api import SupplySources
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from hub.access.users import Actor
from hub.amazon.settings import AmazonSettings
from hub.amazon.supply_sources.document import Store, documents
from hub.amazon.supply_sources.zip_states import us_state
from hub.cli.main import app
from hub.inventory.store_records import StoreRecord, set_record
from hub.storage.engine import make_engine, reading, writing
from hub.storage.tables.amazon_listings import amazon_listing_changes, amazon_supply_sources
from hub.storage.tables.core import audit_log, stores
from protocol import MoveReason, StockState
from spapi_sim import client_kwargs
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, sync
from tests.amazon.test_listings import SKUS, US, push, rows, start
from tests.amazon.test_listings_allocated import moved
from tests.hub.helpers import ingest
from tests.spapi_sim import official
from tests.support.databases import migrated

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
    assert actions.count("amazon.supply_source.configured") == 3 + 1  # each new one, and s-ship
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


def refuse_first_update(app: Any, _sim: Any) -> Any:
    """An ASGI wrapper: Amazon refuses the first updateSupplySource (400), then behaves."""
    refused: list[str] = []

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (scope["type"] == "http" and scope["method"] == "PUT" and not refused
                and path.startswith("/supplySources/") and not path.endswith("/status")):
            refused.append(path)
            body = b'{"errors":[{"code":"InvalidInput","message":"Invalid Input","details":""}]}'
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapped


def test_a_refused_or_undescribable_store_stops_only_itself_and_a_crash_is_adopted(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim, wrap=refuse_first_update)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    seller = sim.sellers[0]
    # a create that reached Amazon before the hub could record it (a crash)
    with SupplySources(**client_kwargs(sim.url, seller, US)) as api:
        earlier = api.create_supply_source(**documents(Store("s-a", None, record())).create)
    set_record(lite, "s-a", record(), HQ)
    set_record(lite, "s-b", record("5 Elm St", "60601"), HQ)
    set_record(lite, "s-c", record("7 Pine St", "ABCDE"), HQ)  # no US ZIP: cannot be described
    results = sync(lite, amazon_settings, accounts, ["supply-sources"])
    assert not results["na"].job_errors and not results["na"].ok  # problems are errors
    assert results["na"].tally.errors == 2  # s-a refused once, s-c undescribable
    adopted = active_id(lite, "s-a")
    assert adopted == earlier.payload["supplySourceId"]  # adopted, not created twice
    book = sim.simulator.supply_sources
    assert [s.code for s in book.of(seller.seller_id)].count("s-a") == 1
    assert book.get(seller.seller_id, adopted).status == "Inactive"  # its configure refused
    assert book.get(seller.seller_id, active_id(lite, "s-b")).status == "Active"
    assert "s-c" not in {r["store_id"] for r in mapping(lite)}

    again = sync(lite, amazon_settings, accounts, ["supply-sources"])["na"]
    assert again.tally.errors == 1  # only s-c, still undescribable
    assert book.get(seller.seller_id, adopted).status == "Active"  # configured this time
    with reading(lite) as conn:
        reasons = [r.reason for r in conn.execute(select(audit_log.c.reason).where(
            audit_log.c.entity == "amazon_supply_source",
            audit_log.c.action == "amazon.supply_source.created"))]
    assert any("adopted" in (reason or "") for reason in reasons)


def test_quantities_per_supply_source_go_by_feed_too_and_are_checked_after_a_crash(
    lite: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    set_record(lite, "s1", record(), HQ)
    kettle, grinder = SKUS
    S, R = StockState, MoveReason
    ingest(lite, moved("s1", 1, kettle, 6, None, S.SELLABLE, R.COUNT, 6),
           moved("s1", 2, grinder, 11, None, S.SELLABLE, R.COUNT, 11))
    by_feed = amazon_settings.model_copy(update={"listings_feed_threshold": 0})
    push(lite, by_feed, accounts)
    seller = sim.sellers[0]
    assert sim.requests(seller, "createFeed") == 1
    assert sim.requests(seller, "patchListingsItem") == 0
    source = active_id(lite, "s1")
    shown = {sku: sim.simulator.listings.get(seller.seller_id, sku, US) for sku in SKUS}
    assert {sku: (x.quantity, x.by_source) for sku, x in shown.items() if x} == {
        kettle: (0, ((source, 4),)), grinder: (0, ((source, 8),))}  # (6-1)*.8, (11-1)*.8

    with writing(lite) as tx:  # as if the hub died after sending, before Amazon's answer
        tx.conn.execute(update(amazon_listing_changes).values(status="sending", channel="patch",
                                                              feed_id=None))
    push(lite, amazon_settings, accounts)
    assert sim.requests(seller, "getListingsItem") == 2  # each checked ...
    assert sim.requests(seller, "patchListingsItem") == 0  # ... Amazon shows them: not resent
    assert {r["status"] for r in rows(lite)} == {"accepted"}


def test_cli_publishes_and_lists_supply_sources(
    tmp_path: Path, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    sim = start(make_sim)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrated(db_url)
    engine = make_engine(db_url)
    try:
        add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
        set_record(engine, "s-cli", record(), HQ)
        env = {"ACORN_HUB_DATABASE_URL": db_url, "COLUMNS": "200",
               "ACORN_HUB_AMAZON_SECRETS_FILE": str(amazon_settings.secrets_file),
               "ACORN_HUB_AMAZON_RATE_FACTOR": "1000"}

        def cli(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(app, ["amazon", "supply-sources", *args], env=env)
            return result.exit_code, result.stdout + result.stderr

        assert cli("publish")[0] == 0
        code, out = cli("list")
        assert code == 0 and "s-cli" in out and active_id(engine, "s-cli") in out
        assert "active" in out
        code, out = cli("publish", "--account", "nobody")
        assert code != 0
        set_record(engine, "s-bad", record("1 Nowhere", "ABCDE"), HQ)
        assert cli("publish")[0] == 1  # a store that cannot be described: exit 1
    finally:
        engine.dispose()
