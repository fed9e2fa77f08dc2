"""Offered quantities from a CSV file: ``account,marketplace,sku,quantity`` (pure).

The marketplace is ACORN's code (``US``, ``DE`` ...) or Amazon's id; a header row is optional.
Every problem names its line; nothing is queued from a file with one bad line.
"""

from __future__ import annotations

import csv
import io

from hub.amazon.listings.diff import Offered
from hub.amazon.marketplaces import by_code, by_id
from hub.errors import InputError

HEADER = ["account", "marketplace", "sku", "quantity"]


def _marketplace_id(text: str) -> str:
    for lookup in (by_code, by_id):
        try:
            return lookup(text.strip()).marketplace_id
        except ValueError:
            continue
    raise ValueError(f"unknown marketplace {text!r}")


def parse_offers(text: str) -> list[Offered]:
    """The offers of a CSV document; InputError naming the first bad line."""
    found = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or (number == 1 and [c.lower() for c in cells] == HEADER):
            continue
        try:
            if len(cells) != 4:
                raise ValueError(f"expected 4 columns ({','.join(HEADER)}), got {len(cells)}")
            account, market, sku, quantity = cells
            if not account:
                raise ValueError("the account is empty")
            if not quantity.isdigit():
                raise ValueError(f"quantity must be a whole number >= 0, not {quantity!r}")
            found.append(Offered(account, _marketplace_id(market), sku, int(quantity)))
        except ValueError as err:
            raise InputError(f"offers line {number}: {err}", field="offers") from err
    return found
