"""Benchmark of the refund policy engine (issue 5): decisions per second over seeded requests.

Prints figures beside their targets; asserts nothing. Pure CPU: no broker, no database.
Run: ``.venv/bin/python -c "from bench import policy; policy.main()"``.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hub.policy import (
    CompiledPolicy,
    PolicyDocument,
    PriorRefund,
    RefundRequest,
    compile_policy,
    decide,
    default_policy,
    simulate,
)
from protocol import MINOR_UNITS, Channel, Grade, Money

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
MARKETPLACES = ["ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1F83G8C2ARO7P", "A1VC38T7YXB528", "STORE-7"]
CURRENCIES = ["USD"] * 6 + ["EUR"] * 2 + ["GBP", "JPY", "CAD"]
CATEGORIES = ["toys", "electronics", "software", "sealed_media", "apparel", "gift_card"]
GRADES = [None, Grade.NEW, Grade.LIKE_NEW, Grade.GOOD, Grade.DEFECTIVE, Grade.DAMAGED_BY_CUSTOMER]

Case = tuple[RefundRequest, Sequence[PriorRefund]]


def seeded_cases(count: int, seed: int = 5) -> list[Case]:
    """``count`` requests with histories, the same for the same seed."""
    rng = random.Random(seed)
    money: dict[tuple[int, str], Money] = {}  # built once per value: Money validates
    return [_case(rng, n, money) for n in range(count)]


def _case(rng: random.Random, n: int, cache: dict[tuple[int, str], Money]) -> Case:
    currency = rng.choice(CURRENCIES)
    # most refunds are small: log-uniform from 1 to 1,500 units of the currency (x150 for JPY)
    scale = 10 ** MINOR_UNITS[currency] if MINOR_UNITS[currency] else 150
    units = int(math.exp(rng.uniform(0, math.log(1_500))) * scale)
    amount = _money(cache, units, currency)
    delivered = NOW - timedelta(seconds=rng.randint(0, 40 * 86_400))
    request = RefundRequest(
        refund_id=f"rf-{n}",
        amount=amount,
        channel=rng.choice(list(Channel)),
        marketplace_id=rng.choice(MARKETPLACES),
        category=rng.choice(CATEGORIES),
        ordered_at=delivered - timedelta(days=rng.randint(1, 7)),
        delivered_at=delivered if rng.random() < 0.95 else None,
        opened=rng.random() < 0.3,
        grade=rng.choice(GRADES),
        mismatch=rng.random() < 0.03,
        amount_paid=amount if rng.random() < 0.98 else _money(cache, units // 2, currency),
        high_risk=rng.random() < 0.02,
        customer_key=f"c-{rng.randint(1, 50_000)}",
    )
    history = [
        PriorRefund(NOW - timedelta(days=rng.randint(0, 90)), amount)
        for _ in range(rng.choice([0, 0, 0, 1, 2, 3, 5]))
    ]
    return request, history


def _money(cache: dict[tuple[int, str], Money], units: int, currency: str) -> Money:
    key = (units, currency)
    if key not in cache:
        amount = Decimal(units).scaleb(-MINOR_UNITS[currency])
        cache[key] = Money(amount=amount, currency=currency)
    return cache[key]


def decisions_per_second(cases: list[Case], policy: CompiledPolicy) -> tuple[float, Counter[str]]:
    """Decide every case once; the rate and the outcome mix."""
    labels = []
    started = time.perf_counter()
    for request, history in cases:
        labels.append(decide(request, history, policy, NOW).label)
    elapsed = time.perf_counter() - started
    return len(cases) / elapsed, Counter(labels)


def main(count: int = 200_000) -> None:
    """Run the policy benchmarks and print the figures."""
    print("refund policy (issue 5)", flush=True)
    cases = seeded_cases(count)
    current = compile_policy(default_policy())
    decisions_per_second(cases[:5_000], current)  # warm-up
    rate, mix = decisions_per_second(cases, current)
    print(f"  policy engine decisions/s   {rate:,.0f}   target >= 50,000/s", flush=True)
    shares = ", ".join(f"{label} {n / count:.1%}" for label, n in sorted(mix.items()))
    print(f"  outcome mix over {count:,} seeded requests: {shares}", flush=True)
    draft = compile_policy(_draft_with_auto_limit("75.00"))
    started = time.perf_counter()
    report = simulate(draft, current, cases, NOW)
    seconds = time.perf_counter() - started
    print(
        f"  simulate a draft (auto under 75.00) over {report.total:,} requests   {seconds:.2f} s"
        f"   ({report.changed:,} decisions change)   target -",
        flush=True,
    )


def _draft_with_auto_limit(limit: str) -> PolicyDocument:
    """The default policy, one version on, auto-approving under ``limit`` USD."""
    data = default_policy().model_dump(mode="json")
    data["version"] += 1
    data["tiers"][0]["below"] = limit
    return PolicyDocument.model_validate(data)


if __name__ == "__main__":
    main()
