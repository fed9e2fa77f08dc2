"""Per-caller, per-operation token buckets with Amazon's rates, scaled by one factor.

The bucket maths is pure (`refill`, `take`); `RateLimiter` keeps one bucket per
(selling partner, operation) and counts what it let through and what it refused, so tests can
check a client's pace. `rate_factor` multiplies every rate (never the burst), so a benchmark can
run a 90-day backfill in minutes while the ratio to Amazon's floor stays meaningful; the
`x-amzn-RateLimit-Limit` header reports the effective rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from spapi_sim.errors import QuotaExceeded
from spapi_sim.operations import Operation


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tokens available at monotonic time `at`."""

    tokens: float
    at: float


def refill(bucket: Bucket, now: float, rate: float, burst: int) -> Bucket:
    """The bucket at `now`, refilled at `rate` tokens a second up to `burst`."""
    elapsed = max(0.0, now - bucket.at)
    return Bucket(min(float(burst), bucket.tokens + elapsed * rate), max(now, bucket.at))


def take(bucket: Bucket, now: float, rate: float, burst: int) -> tuple[Bucket, bool]:
    """Refill, then take one token if there is one; the new bucket and whether it was taken."""
    current = refill(bucket, now, rate, burst)
    if current.tokens >= 1.0:
        return Bucket(current.tokens - 1.0, current.at), True
    return current, False


def format_rate(rate: Decimal) -> str:
    """A rate as Amazon writes it in headers: plain digits, no exponent, no trailing zeros."""
    return format(rate.normalize(), "f")


@dataclass(slots=True)
class Counter:
    """Requests a caller made to one operation, and how many were throttled."""

    requests: int = 0
    throttled: int = 0


@dataclass(slots=True)
class RateLimiter:
    """Token buckets keyed by (caller, operation id)."""

    factor: Decimal = Decimal(1)
    clock: Callable[[], float] = time.monotonic
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    counters: dict[tuple[str, str], Counter] = field(default_factory=dict)

    def effective_rate(self, operation: Operation) -> Decimal:
        """The operation's documented rate times the factor."""
        return operation.rate * self.factor

    def header(self, operation: Operation) -> str:
        """The `x-amzn-RateLimit-Limit` value for the operation."""
        return format_rate(self.effective_rate(operation))

    def acquire(self, caller: str, operation: Operation) -> None:
        """Take a token for `caller`, or raise QuotaExceeded."""
        key = (caller, operation.operation_id)
        now = self.clock()
        rate = float(self.effective_rate(operation))
        bucket = self.buckets.get(key, Bucket(float(operation.burst), now))
        self.buckets[key], allowed = take(bucket, now, rate, operation.burst)
        counter = self.counters.setdefault(key, Counter())
        counter.requests += 1
        if not allowed:
            counter.throttled += 1
            raise QuotaExceeded()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Counters as `{"<caller>/<operation>": {"requests": n, "throttled": m}}`."""
        return {
            f"{caller}/{op}": {"requests": c.requests, "throttled": c.throttled}
            for (caller, op), c in sorted(self.counters.items())
        }
