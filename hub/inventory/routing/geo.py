"""Distances and postal-code centroids (pure; reading the shipped CSV is a package resource).

Rules:
- distance is the haversine great-circle distance on a sphere of radius 6,371.0088 km (the
  IUGG mean Earth radius), in km; good to about 0.5 %, enough to rank stores;
- a postal code is compared normalised: upper case, spaces removed; a US ZIP+4 keeps its five
  digits; a British code not found whole is looked up by its outward code (the free GeoNames GB
  file holds outward codes only);
- the shipped table (``data/postcodes.csv``, provenance in ``data/SOURCE.md``) is read once;
- a GeoNames postal-code dump line is tab-separated: country, postal code, place name, three
  admin levels (name, code), latitude, longitude, accuracy; ``parse_geonames_line`` returns None
  for a blank line and raises ``ValueError`` naming the problem for a bad one.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

EARTH_KM = 6371.0088
SHIPPED = "postcodes.csv"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def normalise(country: str, postal_code: str) -> str:
    """A postal code as the tables key it."""
    code = "".join(postal_code.split()).upper()
    if country == "US" and len(code) == 10 and code[5] == "-":
        code = code[:5]
    return code


def candidates(country: str, postal_code: str) -> tuple[str, ...]:
    """The keys to try, most precise first."""
    code = normalise(country, postal_code)
    if country == "GB" and len(code) > 4:
        return code, code[:-3]
    return (code,)


@dataclass(frozen=True, slots=True)
class Centroid:
    """One postal code's centroid."""

    country: str
    postal_code: str
    latitude: Decimal
    longitude: Decimal
    place: str | None = None


def _coordinate(text: str, limit: int, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or abs(value) > limit:
        raise ValueError(f"{what} {text!r} is out of range")
    return round(value, 6)


def parse_geonames_line(line: str) -> Centroid | None:
    """One line of a GeoNames postal-code dump, or None for a blank line."""
    if not line.strip():
        return None
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 11:
        raise ValueError(f"{len(fields)} tab-separated fields, GeoNames has 12")
    country, code, place = fields[0].strip(), fields[1].strip(), fields[2].strip()
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise ValueError(f"{country!r} is not a country code")
    if not code or len(code) > 20:
        raise ValueError(f"{code!r} is not a postal code")
    return Centroid(country, normalise(country, code),
                    _coordinate(fields[9], 90, "latitude"),
                    _coordinate(fields[10], 180, "longitude"), place[:200] or None)


@cache
def shipped_table() -> dict[tuple[str, str], tuple[float, float]]:
    """The shipped centroids by (country, normalised code)."""
    text = resources.files("hub.inventory.routing").joinpath("data", SHIPPED).read_text("utf-8")
    table: dict[tuple[str, str], tuple[float, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        key = (row["country"], normalise(row["country"], row["postal_code"]))
        table[key] = (float(row["latitude"]), float(row["longitude"]))
    return table


def shipped_countries() -> frozenset[str]:
    """Countries the shipped table holds."""
    return frozenset(country for country, _ in shipped_table())
