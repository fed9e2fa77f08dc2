"""Money: a Decimal amount and an ISO 4217 currency, never a float.

Rules:
- the amount is a ``Decimal`` built from text or int; floats are refused (they cannot hold cents);
- the currency is an upper-case ISO 4217 code from ``MINOR_UNITS``;
- the amount may not carry more decimal places than the currency has minor units
  (``12.345 USD`` and ``100.5 JPY`` are refused), nor more than ``MAX_AMOUNT_INTEGER_DIGITS``
  digits before the point (``protocol.limits``: every accepted amount fits the hub's columns);
- an exponent form is normalised to plain digits (``1E+2`` is ``100``); ``1E+30`` is refused;
- on the wire it is ``{"amount": "12.34", "currency": "USD"}``, the amount as a string.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator, model_validator

from protocol.limits import MAX_AMOUNT, MAX_AMOUNT_INTEGER_DIGITS

# ISO 4217 active codes and their minor units (number of decimal places).
MINOR_UNITS: dict[str, int] = {
    "AED": 2,
    "ARS": 2,
    "AUD": 2,
    "BGN": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "EGP": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "MYR": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PHP": 2,
    "PLN": 2,
    "QAR": 2,
    "RON": 2,
    "RUB": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TND": 3,
    "TRY": 2,
    "TWD": 2,
    "UAH": 2,
    "USD": 2,
    "VND": 0,
    "ZAR": 2,
}


def minor_units(currency: str) -> int:
    """Decimal places of ``currency``; raises ValueError for a code we do not know."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unknown ISO 4217 currency {currency!r}") from None


class Money(BaseModel):
    """An exact amount in one currency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: Decimal
    currency: str

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("money amounts must be text or integers, never floats")
        if isinstance(value, str):
            try:
                parsed = Decimal(value.strip())
            except InvalidOperation:
                raise ValueError(f"{value!r} is not a decimal amount") from None
            if not parsed.is_finite():
                raise ValueError(f"{value!r} is not a finite amount")
            return parsed
        return value

    @field_validator("amount")
    @classmethod
    def _bounded(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("amount must be finite")
        if value.copy_abs() >= MAX_AMOUNT:  # no context arithmetic: 1E+999999 stays cheap
            raise ValueError(f"amount has more than {MAX_AMOUNT_INTEGER_DIGITS} digits before "
                             "the decimal point")
        return value.quantize(Decimal(1)) if _exponent(value) > 0 else value  # 1E+2 -> 100

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        minor_units(value)
        return value

    @model_validator(mode="after")
    def _scale_fits_currency(self) -> Money:
        if not self.amount.is_finite():
            raise ValueError("amount must be finite")
        exponent = self.amount.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > minor_units(self.currency):
            raise ValueError(
                f"{self.amount} has {places} decimal places; {self.currency} allows "
                f"{minor_units(self.currency)}"
            )
        return self

    @field_serializer("amount")
    def _amount_as_text(self, amount: Decimal) -> str:
        return format(amount, "f")

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Build Money from text, int or Decimal (floats are refused)."""
        return cls(amount=amount, currency=currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise ValueError("can only add money of the same currency")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0
