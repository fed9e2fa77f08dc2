"""One simulator instance: the state every route works on, wired from settings.

Built once by `create_app` (never at import time). Routes run on the event loop only
(`async def`), so this state needs no locks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spapi_sim.accounts import SellerAccount, seed_accounts
from spapi_sim.documents import DocumentStore
from spapi_sim.ids import IdFactory
from spapi_sim.jobs import JobBoard
from spapi_sim.lifecycle import Pace
from spapi_sim.listings import ListingBook
from spapi_sim.listings_feed import SchemaCheck, schema_check
from spapi_sim.processing import FeedProcessor, ReportMaker
from spapi_sim.ratelimit import RateLimiter
from spapi_sim.sandbox import Sandbox, load_sandbox
from spapi_sim.settings import SimulatorSettings
from spapi_sim.signing import Signer, secret_for_seed
from spapi_sim.supply_sources import SchemaCheck as SupplySchemaCheck
from spapi_sim.supply_sources import SupplySourceBook
from spapi_sim.supply_sources import schema_check as supply_schema_check
from spapi_sim.world import World

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


class Simulator:
    """Accounts, data, jobs, documents and rate limits of one running simulator."""

    def __init__(self, settings: SimulatorSettings, *, clock: Clock = utc_now,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.accounts: dict[str, SellerAccount] = {
            a.seller_id: a for a in seed_accounts(settings.seed, settings.accounts)}
        self.revoked: set[str] = set(settings.revoked_sellers)
        self.signer = Signer(secret_for_seed(settings.seed))
        self.ids = IdFactory(settings.seed)
        self.world = World(settings, self.accounts)
        self.documents = DocumentStore(self.signer, settings.gzip_min_bytes,
                                       settings.url_ttl_seconds)
        self.limiter = RateLimiter(settings.rate_factor, monotonic)
        pace = Pace(settings.job_step_seconds, settings.job_step_polls)
        self.reports = JobBoard(pace, ReportMaker(self.world, self.documents, self.ids,
                                                  self.accounts))
        self.supply_sources = SupplySourceBook(settings.seed)
        self.supply_schema = _supply_schema(settings.store_models_dir)
        self.listings = ListingBook(settings.seed, settings.anchor, self.supply_sources.usable)
        self.listings_model = _listings_model(settings.store_models_dir)
        self.feeds = JobBoard(pace, FeedProcessor(
            self.world, self.documents, self.ids, settings, self.accounts, self.listings,
            _feed_schema(settings.store_models_dir)))
        model_dirs = [d for d in (settings.models_dir, settings.store_models_dir) if d]
        self.sandbox: Sandbox | None = load_sandbox(*model_dirs) if model_dirs else None

    def now(self) -> datetime:
        """The simulator's current time."""
        return self.clock()

    def tick(self) -> None:
        """Let time-driven work happen: feeds finish (and refund) even when nobody polls."""
        self.feeds.observe_all(self.now())

    def revoke(self, seller_id: str) -> None:
        """Revoke an account's authorisation: its refresh and access tokens stop working."""
        self.revoked.add(seller_id)


LISTINGS_MODEL = "listingsItems_2021-08-01.json"
SUPPLY_MODEL = "supplySources_2020-07-01.json"
FEED_SCHEMA = "feeds-schemas/listings-feed-schema-v2.json"


def _listings_model(folder: Path | None) -> dict[str, Any] | None:
    """Amazon's Listings Items model, when its folder is configured."""
    if folder is None or not (folder / LISTINGS_MODEL).is_file():
        return None
    model: dict[str, Any] = json.loads((folder / LISTINGS_MODEL).read_text(encoding="utf-8"))
    return model


def _feed_schema(folder: Path | None) -> SchemaCheck | None:
    """A check against Amazon's listings feed schema, when its folder is configured."""
    if folder is None or not (folder / FEED_SCHEMA).is_file():
        return None
    return schema_check(json.loads((folder / FEED_SCHEMA).read_text(encoding="utf-8")))


def _supply_schema(folder: Path | None) -> SupplySchemaCheck | None:
    """Checks against Amazon's Supply Sources model, when its folder is configured."""
    if folder is None or not (folder / SUPPLY_MODEL).is_file():
        return None
    return supply_schema_check(json.loads((folder / SUPPLY_MODEL).read_text(encoding="utf-8")))
