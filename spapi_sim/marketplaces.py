"""The marketplaces the simulator serves, and how each writes money in its files.

Marketplace ids are Amazon's (developer-docs "marketplace-ids"). The simulator serves every
region (NA, EU, FE) on one address.

Number formats: JSON always carries exact decimals. Flat files carry amounts in the
marketplace's local format where Amazon does so (settlement reports): DE, FR, IT and ES write a
decimal comma (`95,00`), the others a point; no thousands separators. JPY has no minor unit.
Documents are UTF-8 except JP, which Amazon serves as `windows-31j` (Shift_JIS, cp932).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Region = Literal["NA", "EU", "FE"]


@dataclass(frozen=True, slots=True)
class Marketplace:
    """One Amazon marketplace as the simulator uses it."""

    code: str
    marketplace_id: str
    country_code: str
    name: str
    currency: str
    region: Region
    language: str
    decimal_comma: bool = False
    charset: str = "UTF-8"

    @property
    def codec(self) -> str:
        """The Python codec for `charset`."""
        return "cp932" if self.charset == "windows-31j" else "utf-8"


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("US", "ATVPDKIKX0DER", "US", "Amazon.com", "USD", "NA", "en"),
    Marketplace("CA", "A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "CAD", "NA", "en"),
    Marketplace("DE", "A1PA6795UKMFR9", "DE", "Amazon.de", "EUR", "EU", "de", True),
    Marketplace("FR", "A13V1IB3VIYZZH", "FR", "Amazon.fr", "EUR", "EU", "fr", True),
    Marketplace("IT", "APJ6JRA9NG5V4", "IT", "Amazon.it", "EUR", "EU", "it", True),
    Marketplace("ES", "A1RKKUPIHCS9HS", "ES", "Amazon.es", "EUR", "EU", "es", True),
    Marketplace("UK", "A1F83G8C2ARO7P", "GB", "Amazon.co.uk", "GBP", "EU", "en"),
    Marketplace("JP", "A1VC38T7YXB528", "JP", "Amazon.co.jp", "JPY", "FE", "ja", False,
                "windows-31j"),
)

BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES}
BY_CODE: dict[str, Marketplace] = {m.code: m for m in MARKETPLACES}

MINOR_UNITS: dict[str, int] = {"USD": 2, "CAD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round `amount` half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS[currency])
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def local_amount(amount: Decimal, marketplace: Marketplace) -> str:
    """`amount` as the marketplace writes it in flat files (`-12,34` in DE, `-12.34` in UK)."""
    text = format(quantize(amount, marketplace.currency), "f")
    return text.replace(".", ",") if marketplace.decimal_comma else text


def marketplace(marketplace_id: str) -> Marketplace:
    """The marketplace with this id; KeyError when the simulator does not serve it."""
    return BY_ID[marketplace_id]
