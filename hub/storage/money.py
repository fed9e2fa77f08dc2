"""Small value helpers shared by the projections and the API (pure)."""

from __future__ import annotations

from decimal import Decimal

from protocol import Money, minor_units


def quantized(amount: Decimal, currency: str) -> Decimal:
    """``amount`` with exactly the currency's minor units (a database may pad zeros)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


def money_of(amount: Decimal, currency: str) -> Money:
    """Protocol Money from a stored amount and currency."""
    return Money.of(quantized(amount, currency), currency)


def money_json(amount: Decimal, currency: str) -> dict[str, str]:
    """The wire/API form ``{"amount": "12.30", "currency": "USD"}``."""
    return {"amount": format(quantized(amount, currency), "f"), "currency": currency}
