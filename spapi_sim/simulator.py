"""One simulator instance: the state every route works on, wired from settings.

Built once by `create_app` (never at import time). Routes run on the event loop only
(`async def`), so this state needs no locks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from spapi_sim.accounts import SellerAccount, seed_accounts
from spapi_sim.documents import DocumentStore
from spapi_sim.ids import IdFactory
from spapi_sim.jobs import JobBoard
from spapi_sim.lifecycle import Pace
from spapi_sim.processing import FeedProcessor, ReportMaker
from spapi_sim.ratelimit import RateLimiter
from spapi_sim.sandbox import Sandbox, load_sandbox
from spapi_sim.settings import SimulatorSettings
from spapi_sim.signing import Signer, secret_for_seed
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
        self.feeds = JobBoard(pace, FeedProcessor(self.world, self.documents, self.ids,
                                                  settings, self.accounts))
        self.sandbox: Sandbox | None = (
            load_sandbox(settings.models_dir) if settings.models_dir is not None else None)

    def now(self) -> datetime:
        """The simulator's current time."""
        return self.clock()

    def tick(self) -> None:
        """Let time-driven work happen: feeds finish (and refund) even when nobody polls."""
        self.feeds.observe_all(self.now())

    def revoke(self, seller_id: str) -> None:
        """Revoke an account's authorisation: its refresh and access tokens stop working."""
        self.revoked.add(seller_id)
