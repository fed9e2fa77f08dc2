"""Builders for policy tests: a clean request, the default policy, a patched policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.policy import (
    CompiledPolicy,
    Decision,
    Effect,
    FxRate,
    PolicyDocument,
    RefundRequest,
    compile_policy,
    default_policy,
)
from protocol import Channel, Grade, Money

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
US, CA, UK, DE, JP = (
    "ATVPDKIKX0DER",
    "A2EUQ1WTGCTBG2",
    "A1F83G8C2ARO7P",
    "A1PA6795UKMFR9",
    "A1VC38T7YXB528",
)
# The default document publishes no rate (the hub prices at ECB rates, ``hub.finance``); the
# engine's tests decide under these rates, published in the document as a policy may publish them.
RATES = [
    {"currency": code, "rate": rate, "source": "illustrative default rate", "as_of": "2024-06-03"}
    for code, rate in (("EUR", "1.0850"), ("GBP", "1.2750"), ("CAD", "0.7310"), ("JPY", "0.0064"))
]

Patch = Callable[[dict[str, Any]], None]


def request(amount: str = "20.00", currency: str = "USD", **changes: Any) -> RefundRequest:
    """A clean request that the default policy auto-approves; ``changes`` override fields."""
    money = Money.of(amount, currency)
    fields: dict[str, Any] = {
        "refund_id": "rf-1",
        "amount": money,
        "channel": Channel.WEB,
        "marketplace_id": US,
        "category": "toys",
        "ordered_at": NOW - timedelta(days=5),
        "delivered_at": NOW - timedelta(days=3),
        "opened": False,
        "grade": Grade.GOOD,
        "mismatch": False,
        "amount_paid": money,
        "high_risk": False,
        "customer_key": "cust-1",
    }
    fields.update(changes)
    return RefundRequest(**fields)


def policy(*patches: Patch, fx: tuple[FxRate, ...] = ()) -> CompiledPolicy:
    """The default policy with each patch applied to its JSON form, compiled."""
    data = default_policy().model_dump(mode="json")
    data["fx_rates"] = [dict(rate) for rate in RATES]
    for patch in patches:
        patch(data)
    return compile_policy(PolicyDocument.model_validate(data), fx)


DEFAULT = policy()


def market(marketplace_id: str, **values: Any) -> Patch:
    """A patch that changes fields of one marketplace."""

    def apply(data: dict[str, Any]) -> None:
        data["marketplaces"][marketplace_id].update(values)

    return apply


def jpy_base(data: dict[str, Any]) -> None:
    """A patch: JPY as the base currency (no minor unit), tiers at 7,000 and 70,000 JPY."""
    data["base_currency"] = "JPY"
    data["fx_rates"] = [
        {"currency": "USD", "rate": "156.25", "source": "test", "as_of": "2024-06-10"},
    ]
    data["tiers"][0]["below"] = "7000"
    data["tiers"][1]["up_to"] = "70000"


def fired(decision: Decision) -> dict[str, Effect]:
    """Rule id -> effect of every rule that fired (timing and notes included)."""
    return {rule.rule_id: rule.effect for rule in decision.rules}


def deciding(decision: Decision) -> set[str]:
    """Rule ids that pushed the outcome (not timing, notes or waived rules)."""
    quiet = {Effect.TIMING, Effect.NOTE, Effect.WAIVED}
    return {rule.rule_id for rule in decision.rules if rule.effect not in quiet}
