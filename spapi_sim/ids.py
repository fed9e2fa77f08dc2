"""Amazon-looking identifiers, deterministic for a seed.

`stable` derives an id from what it names (a settlement from seller, marketplace and period), so
seeded ids never depend on the order requests arrive in; `IdFactory` numbers the things callers
create (reports, feeds, documents, adjustments) in creation order.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid


def stable(*parts: object, digits: int = 11) -> str:
    """A decimal id of `digits` digits derived from `parts` (no leading zero)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    number = int(digest, 16) % (9 * 10 ** (digits - 1))
    return str(10 ** (digits - 1) + number)


def stable_uuid(*parts: object) -> str:
    """A UUID string derived from `parts`."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def report_document_id(region: str, *parts: object) -> str:
    """A report document id in Amazon's `amzn1.spdoc.1.4.<region>...` style."""
    unique = stable_uuid("report-doc", *parts)
    return f"amzn1.spdoc.1.4.{region.lower()}.{unique}.T{stable(*parts, digits=13)}"


def feed_document_id(region: str, *parts: object) -> str:
    """A feed document id in Amazon's `amzn1.tortuga.4.<region>...` style."""
    unique = stable_uuid("feed-doc", *parts)
    return f"amzn1.tortuga.4.{region.lower()}.{unique}.T{stable(*parts, digits=13)}"


class IdFactory:
    """Numbers created resources in order; equal seeds give equal sequences."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counter = itertools.count(1)

    def _next(self) -> int:
        return next(self._counter)

    def report_id(self) -> str:
        """A new numeric report id."""
        return stable(self._seed, "report", self._next())

    def feed_id(self) -> str:
        """A new numeric feed id."""
        return stable(self._seed, "feed", self._next())

    def report_document_id(self, region: str) -> str:
        """A new report document id."""
        return report_document_id(region, self._seed, self._next())

    def feed_document_id(self, region: str) -> str:
        """A new feed document id."""
        return feed_document_id(region, self._seed, self._next())

    def adjustment_item_id(self) -> str:
        """A new 14-digit OrderAdjustmentItemId."""
        return stable(self._seed, "adjustment", self._next(), digits=14)
