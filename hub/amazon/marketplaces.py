"""The Amazon marketplaces ACORN sells in (pure data).

Codes are ACORN's (``UK``, where python-amazon-sp-api says ``GB``); ids, regions and endpoints
are Amazon's. ``decimal_comma`` says how the marketplace writes amounts in flat files (Amazon
uses the local number format in settlement reports: ``95,00`` in DE, FR, IT and ES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Region = Literal["NA", "EU", "FE"]
REGIONS: tuple[Region, ...] = ("NA", "EU", "FE")
ENDPOINTS: dict[Region, str] = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_URL = "https://api.amazon.com"


@dataclass(frozen=True, slots=True)
class Marketplace:
    """One marketplace: ACORN's code, Amazon's id, region and currency."""

    code: str
    marketplace_id: str
    region: Region
    currency: str
    decimal_comma: bool = False


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("US", "ATVPDKIKX0DER", "NA", "USD"),
    Marketplace("CA", "A2EUQ1WTGCTBG2", "NA", "CAD"),
    Marketplace("DE", "A1PA6795UKMFR9", "EU", "EUR", True),
    Marketplace("FR", "A13V1IB3VIYZZH", "EU", "EUR", True),
    Marketplace("IT", "APJ6JRA9NG5V4", "EU", "EUR", True),
    Marketplace("ES", "A1RKKUPIHCS9HS", "EU", "EUR", True),
    Marketplace("UK", "A1F83G8C2ARO7P", "EU", "GBP"),
    Marketplace("JP", "A1VC38T7YXB528", "FE", "JPY"),
)
BY_CODE: dict[str, Marketplace] = {m.code: m for m in MARKETPLACES}
BY_ID: dict[str, Marketplace] = {m.marketplace_id: m for m in MARKETPLACES}


def by_code(code: str) -> Marketplace:
    """The marketplace with ACORN code ``code`` (case-insensitive); ValueError if unknown."""
    try:
        return BY_CODE[code.strip().upper()]
    except KeyError:
        known = ", ".join(BY_CODE)
        raise ValueError(f"unknown marketplace {code!r}; use one of {known}") from None


def by_id(marketplace_id: str) -> Marketplace:
    """The marketplace with Amazon id ``marketplace_id``; ValueError if ACORN is not there."""
    try:
        return BY_ID[marketplace_id]
    except KeyError:
        raise ValueError(f"marketplace id {marketplace_id!r} is not one ACORN sells in") from None
