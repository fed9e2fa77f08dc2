"""Which SKUs' product-problem return rate stands out against their sales (pure).

The test: over the SKUs with sales in the period, the chain's rate is
``p = (units returned as defective or not as described) / (units sold)``. A SKU with ``n`` units
sold and ``k`` such units returned stands out when ``k >= MIN_RETURNS`` and the one-sided exact
binomial tail ``P(X >= k)`` for ``X ~ Binomial(n, p)`` is below ``ALPHA / m`` (Bonferroni over
the ``m`` SKUs tested): its returns are more than chance at the chain's rate explains, with at
most a 1 % chance that any SKU in the list is there by chance alone. A SKU returned more often
than it sold (returns of earlier sales) is tested with ``n = k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.01
MIN_RETURNS = 3


@dataclass(frozen=True, slots=True)
class SkuRate:
    """One SKU tested: sold and returned units, its rate, the tail probability, the verdict."""

    sku: str
    sold: int
    returned: int
    rate: float
    p_value: float
    stands_out: bool


def tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exactly (in log space, no overflow)."""
    if k <= 0:
        return 1.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
             + i * log_p + (n - i) * log_q for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def standouts(sold: dict[str, int], returned: dict[str, int]) -> tuple[float, list[SkuRate]]:
    """The chain's rate and every SKU tested (highest rate first), each with its verdict."""
    skus = sorted(set(sold) | set(returned))
    tested = [(s, max(sold.get(s, 0), returned.get(s, 0)), returned.get(s, 0)) for s in skus]
    tested = [(s, n, k) for s, n, k in tested if n > 0]
    units = sum(n for _, n, _ in tested)
    rate = sum(k for _, _, k in tested) / units if units else 0.0
    bar = ALPHA / max(1, len(tested))
    out = []
    for sku, n, k in tested:
        p_value = tail(n, k, rate)
        out.append(SkuRate(sku, n, k, k / n, p_value, k >= MIN_RETURNS and p_value < bar))
    out.sort(key=lambda r: (-r.stands_out, -r.rate, r.sku))
    return rate, out
