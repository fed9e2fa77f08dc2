"""Client-side rate limiting: Amazon's documented usage plans and a token bucket per caller.

Rules:
- every SP-API call first takes a token from the bucket of its (account, operation); buckets
  start full (Amazon's do too) and refill at the documented rate up to the documented burst;
- ``rate_factor`` multiplies every rate, never the burst, to match a simulator started with
  ``--rate-factor`` (the simulator scales the same way);
- a caller that finds no token waits until the next one is due and checks again (whoever is
  first then takes it), so the bucket never idles while someone waits;
- Amazon's bucket starts refilling when our request *arrives*; ours starts again when that
  request is answered (``confirm``), never earlier, so no later request can overtake Amazon's
  tokens, whatever the difference in travel times (threads, network);
- after a 429 the bucket is emptied: Amazon's is evidently emptier than ours.

The bucket maths (``refill``, ``take``, ``confirm``, ``drain``, ``violations``) is pure;
``Limiter`` holds the buckets behind a lock and logs when each request was let through.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    """A usage plan: requests per second and burst."""

    rate: float
    burst: int

    def scaled(self, factor: float) -> Limit:
        """The plan with its rate multiplied by ``factor``."""
        return Limit(self.rate * factor, self.burst)


# The "Usage Plan" defaults of each operation's model (see vendor-data/amazon-formats.md 2.6).
DOCUMENTED: dict[str, Limit] = {
    "searchOrders": Limit(0.0056, 20),
    "getOrder": Limit(0.5, 30),
    "createReport": Limit(0.0167, 15),
    "getReport": Limit(2.0, 15),
    "getReports": Limit(0.0222, 10),
    "getReportDocument": Limit(0.0167, 15),
    "createFeedDocument": Limit(0.5, 15),
    "createFeed": Limit(0.0083, 15),
    "getFeed": Limit(2.0, 15),
    "getFeeds": Limit(0.0222, 10),
    "getFeedDocument": Limit(0.0222, 10),
    "listFinancialEvents": Limit(0.5, 30),
    "getListingsItem": Limit(5.0, 10),
    "patchListingsItem": Limit(5.0, 5),
    "confirmShipment": Limit(2.0, 10),
    # Supply Sources 2020-07-01 states no usage plan: 5/s, burst 10 is our assumption (the
    # simulator serves the same, spapi_sim.operations.SUPPLY_OPERATIONS).
    "getSupplySources": Limit(5.0, 10),
    "getSupplySource": Limit(5.0, 10),
    "createSupplySource": Limit(5.0, 10),
    "updateSupplySource": Limit(5.0, 10),
    "updateSupplySourceStatus": Limit(5.0, 10),
    "archiveSupplySource": Limit(5.0, 10),
}


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tokens at monotonic time ``at`` (which may lie ahead: refill starts there)."""

    tokens: float
    at: float


def full(limit: Limit, now: float) -> Bucket:
    """A fresh bucket: ``burst`` tokens."""
    return Bucket(float(limit.burst), now)


def refill(bucket: Bucket, now: float, limit: Limit) -> Bucket:
    """The bucket at ``now``, refilled at ``limit.rate`` up to ``limit.burst``."""
    elapsed = max(0.0, now - bucket.at)
    tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
    return Bucket(tokens, max(now, bucket.at))


def take(bucket: Bucket, now: float, limit: Limit) -> tuple[Bucket, float, bool]:
    """Take a token: (bucket, 0, drew_from_full), or (bucket, seconds until one, False).

    Drawing from a full bucket starts its refill clock again, as Amazon's does when our request
    arrives; the caller confirms that moment once the answer is in (``confirm``).
    """
    current = refill(bucket, now, limit)
    if current.tokens >= limit.burst:
        return Bucket(limit.burst - 1.0, now), 0.0, True
    if current.tokens >= 1.0:
        return Bucket(current.tokens - 1.0, current.at), 0.0, False
    return current, max(0.0, current.at - now) + (1.0 - current.tokens) / limit.rate, False


def confirm(bucket: Bucket, now: float) -> Bucket:
    """The bucket once the request that drew it from full is answered: no refill before now.

    Amazon's bucket started when that request arrived, which is before its answer: starting
    ours then keeps every later request behind Amazon's tokens, however fast it travels.
    """
    return Bucket(bucket.tokens, max(bucket.at, now))


def drain(bucket: Bucket, now: float) -> Bucket:
    """The bucket after a 429: empty now."""
    return Bucket(0.0, max(now, bucket.at))


def violations(times: Iterable[float], limit: Limit, tolerance: float = 0.0) -> int:
    """How many of the request ``times`` a server bucket of ``limit`` would have refused.

    ``tolerance`` forgives that fraction of a token (clock jitter between two processes).
    """
    bucket: Bucket | None = None
    refused = 0
    for at in sorted(times):
        bucket = refill(bucket or full(limit, at), at, limit)
        if bucket.tokens >= 1.0 - tolerance:
            bucket = Bucket(bucket.tokens - 1.0, bucket.at)
        else:
            refused += 1
    return refused


def floor_seconds(count: int, limit: Limit) -> float:
    """The least time ``count`` requests take under ``limit`` when the bucket starts full."""
    return max(0, count - limit.burst) / limit.rate


Key = tuple[str, str]
Wait = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class Ticket:
    """What ``acquire`` let through: the seconds waited, and whether it drew a full bucket."""

    waited: float
    anchors: bool


class Limiter:
    """Token buckets keyed by (account, operation), shared by every thread of a process."""

    def __init__(
        self,
        limits: Mapping[str, Limit] = DOCUMENTED,
        factor: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        log_size: int = 200_000,
    ) -> None:
        self._limits = {op: limit.scaled(factor) for op, limit in limits.items()}
        self._clock = clock
        self._buckets: dict[Key, Bucket] = {}
        self._lock = threading.Lock()
        self.sent: deque[tuple[str, str, float]] = deque(maxlen=log_size)

    def limit(self, operation: str) -> Limit:
        """The effective (scaled) plan of an operation; KeyError if it has none."""
        return self._limits[operation]

    def acquire(self, account: str, operation: str, wait: Wait = time.sleep) -> Ticket:
        """Block until the request may go (``wait`` does the waiting; waiters re-check)."""
        limit, key, waited = self._limits[operation], (account, operation), 0.0
        while True:
            with self._lock:
                now = self._clock()
                bucket = self._buckets.get(key) or full(limit, now)
                self._buckets[key], delay, anchors = take(bucket, now, limit)
            if delay == 0:
                break
            wait(delay)
            waited += delay
        self.sent.append((account, operation, self._clock()))
        return Ticket(waited, anchors)

    def answered(self, account: str, operation: str, ticket: Ticket) -> None:
        """The request of ``ticket`` was answered (see ``confirm``)."""
        if ticket.anchors:
            with self._lock:
                key = (account, operation)
                self._buckets[key] = confirm(self._buckets[key], self._clock())

    def throttled(self, account: str, operation: str) -> None:
        """Record a 429: Amazon's bucket is empty now, so ours is too."""
        with self._lock:
            key = (account, operation)
            now = self._clock()
            self._buckets[key] = drain(self._buckets.get(key) or Bucket(0.0, now), now)

    def times(self, account: str, operation: str) -> list[float]:
        """When requests of (account, operation) were let through, oldest first."""
        return [at for acc, op, at in list(self.sent) if (acc, op) == (account, operation)]
