"""Listings Items 2021-08-01: stateful merchant-fulfilled quantities and their patches (pure).

Every seeded product is listed in each of its seller's marketplaces (product type `PRODUCT`)
with a seeded `DEFAULT` quantity; state is kept per seller × SKU × marketplace. A patch is the
model's `ListingsItemPatchRequest`: `productType` and JSON Patch operations. Only the
`fulfillment_availability` attribute is simulated, with `fulfillment_channel_code` `DEFAULT`
(merchant-fulfilled; `AMAZON_NA`, `AMAZON_EU` ... are Amazon's to set) and a `quantity` >= 0.

`check_patch_body` finds what makes a body malformed (answered 400, as Amazon does);
`patch_issues` finds what makes a well-formed submission INVALID, as Amazon's `issues`
(`severity` ERROR, `categories`, `attributeNames`); a submission with no issue is ACCEPTED and
applied whole (or, with `mode=VALIDATION_PREVIEW`, VALID and not applied). Issue code 90000900
is the models' own ("The attributes are invalid."); 4000001 (SKU not listed), 4000002 (a
fulfillment channel the seller cannot set) and 4000003 (a supply source the seller does not
have, or archived) are this simulator's own numbers.

Multi-location inventory: a `fulfillment_availability` entry whose `fulfillment_channel_code` is
one of the seller's supply source ids (not archived, `spapi_sim.supply_sources`) sets that
location's quantity; the entries of one patch are applied together, each channel at most once,
and channels a patch does not name keep their quantity (a `delete` clears them all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from spapi_sim.catalog import PRODUCTS
from spapi_sim.ids import stable, stable_uuid

ATTRIBUTE = "fulfillment_availability"
PATH = f"/attributes/{ATTRIBUTE}"
CHANNEL = "DEFAULT"
PRODUCT_TYPE = "PRODUCT"
PATCH_OPS = frozenset({"add", "replace", "merge", "delete"})
INVALID_ATTRIBUTE = "90000900"
SKU_NOT_LISTED = "4000001"
CHANNEL_NOT_SETTABLE = "4000002"
UNKNOWN_SUPPLY_SOURCE = "4000003"
CLEAR = "*"  # in a patch's quantities: every supply source's quantity goes
Quantities = dict[str, int]


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing of a seller in one marketplace."""

    seller_id: str
    sku: str
    marketplace_id: str
    asin: str
    title: str
    product_type: str
    quantity: int
    created: datetime
    updated: datetime
    by_source: tuple[tuple[str, int], ...] = ()

    def availability(self) -> list[tuple[str, int]]:
        """(channel, quantity): DEFAULT first, then each supply source by id."""
        return [(CHANNEL, self.quantity), *sorted(self.by_source)]


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue with a submission, as the model's `Issue`."""

    code: str
    message: str
    attribute: str | None = None
    category: str = "INVALID_ATTRIBUTE"

    def as_json(self, marketplace_ids: list[str] | None = None) -> dict[str, Any]:
        """The model's `Issue` object."""
        body: dict[str, Any] = {"code": self.code, "message": self.message,
                                "severity": "ERROR", "categories": [self.category]}
        if self.attribute:
            body["attributeNames"] = [self.attribute]
        if marketplace_ids:
            body["marketplaceIds"] = marketplace_ids
        return body


def seeded_quantity(seed: int, seller_id: str, sku: str, marketplace_id: str) -> int:
    """The quantity a seeded listing starts with (0..20)."""
    return int(stable(seed, "listing", seller_id, sku, marketplace_id)) % 21


def check_patch_body(body: Any) -> str | None:
    """Why a patch body is malformed (the model's `ListingsItemPatchRequest`), or None."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("productType"), str) or not body["productType"]:
        return "productType is required and must be a string."
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return "patches is required and must hold at least one patch operation."
    for index, patch in enumerate(patches):
        if not isinstance(patch, dict):
            return f"patches[{index}] must be an object."
        if patch.get("op") not in PATCH_OPS:
            return f"patches[{index}].op must be one of {', '.join(sorted(PATCH_OPS))}."
        if not isinstance(patch.get("path"), str):
            return f"patches[{index}].path is required and must be a string."
        value = patch.get("value")
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, dict) for v in value)):
            return f"patches[{index}].value must be an array of objects."
    return None


def _entry_issue(entry: Any, sources: frozenset[str],
                 seen: Quantities) -> Issue | None:
    """Why one `fulfillment_availability` entry is wrong (None: added to ``seen``)."""
    if not isinstance(entry, dict):
        return Issue(INVALID_ATTRIBUTE, "each fulfillment_availability entry must be an object "
                                        "with fulfillment_channel_code and quantity.", ATTRIBUTE)
    channel = entry.get("fulfillment_channel_code")
    if not isinstance(channel, str) or channel in seen:
        return Issue(INVALID_ATTRIBUTE, "each entry needs a fulfillment_channel_code, each "
                                        "channel at most once.", ATTRIBUTE)
    if channel != CHANNEL and channel not in sources:
        if channel.startswith("AMAZON_"):
            return Issue(CHANNEL_NOT_SETTABLE, f"fulfillment_channel_code {channel!r} cannot be "
                                               f"set by the seller; use {CHANNEL} for merchant-"
                                               "fulfilled quantities.", ATTRIBUTE)
        return Issue(UNKNOWN_SUPPLY_SOURCE, f"fulfillment_channel_code {channel!r} is neither "
                                            f"{CHANNEL} nor a supply source of the seller that "
                                            "can hold inventory.", ATTRIBUTE)
    quantity = entry.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return Issue(INVALID_ATTRIBUTE, f"quantity must be a whole number of at least 0, not "
                                        f"{quantity!r}.", ATTRIBUTE)
    seen[channel] = quantity
    return None


def _availability_issue(values: Any,
                        sources: frozenset[str]) -> tuple[Issue | None, Quantities | None]:
    """(issue, None) or (None, quantity per channel) for a `fulfillment_availability` value."""
    if not isinstance(values, list) or not values:
        return Issue(INVALID_ATTRIBUTE, "fulfillment_availability must hold at least one entry "
                                        "with fulfillment_channel_code and quantity.",
                     ATTRIBUTE), None
    found: Quantities = {}
    for entry in values:
        issue = _entry_issue(entry, sources, found)
        if issue is not None:
            return issue, None
    return None, found


def patch_issues(patches: list[dict[str, Any]], listed: bool, sku: str,
                 sources: frozenset[str] = frozenset()) -> tuple[list[Issue], Quantities | None]:
    """Issues of a well-formed patch list, and the quantities it sets when it has none.

    ``sources``: the seller's usable supply source ids (multi-location inventory)."""
    if not listed:
        return [Issue(SKU_NOT_LISTED, f"The SKU {sku!r} is not listed in this marketplace; "
                                      "create the listing before patching it.",
                      category="MISSING_ATTRIBUTE")], None
    issues: list[Issue] = []
    quantities: Quantities = {}
    for patch in patches:
        path = str(patch["path"])
        if path != PATH:
            name = path.removeprefix("/attributes/").split("/")[0] or path
            issues.append(Issue(INVALID_ATTRIBUTE, f"The attribute {name!r} is not supported "
                                                   f"here; only {PATH} can be patched.", name))
            continue
        if patch["op"] == "delete":
            quantities = {CHANNEL: 0, CLEAR: 0}
            continue
        issue, found = _availability_issue(patch.get("value"), sources)
        if issue is not None:
            issues.append(issue)
        else:
            quantities.update(found or {})
    return issues, (None if issues or not quantities else quantities)


def with_quantity(listing: Listing, quantities: Quantities | None, product_type: str,
                  now: datetime) -> Listing:
    """The listing after an accepted submission (quantities None: unchanged)."""
    if quantities is None:
        return replace(listing, product_type=product_type, updated=now)
    kept = {} if CLEAR in quantities else dict(listing.by_source)
    kept.update({k: v for k, v in quantities.items() if k not in (CHANNEL, CLEAR)})
    return replace(listing, quantity=quantities.get(CHANNEL, listing.quantity),
                   by_source=tuple(sorted(kept.items())), product_type=product_type,
                   updated=now)


class ListingBook:
    """Every listing of the simulator, seeded on first use per seller and marketplace."""

    def __init__(self, seed: int, seeded_at: datetime,
                 sources: Callable[[str], frozenset[str]] | None = None) -> None:
        self._seed = seed
        self._seeded_at = seeded_at
        self._sources = sources
        self._listings: dict[tuple[str, str, str], Listing] = {}
        self._seeded: set[tuple[str, str]] = set()
        self.submissions = 0

    def _seed_market(self, seller_id: str, marketplace_id: str, language: str) -> None:
        if (seller_id, marketplace_id) in self._seeded:
            return
        self._seeded.add((seller_id, marketplace_id))
        for product in PRODUCTS:
            key = (seller_id, product.sku, marketplace_id)
            self._listings[key] = Listing(
                seller_id, product.sku, marketplace_id, product.asin, product.title(language),
                PRODUCT_TYPE, seeded_quantity(self._seed, *key), self._seeded_at,
                self._seeded_at)

    def get(self, seller_id: str, sku: str, marketplace_id: str,
            language: str = "en") -> Listing | None:
        """One listing, or None when the SKU is not listed there."""
        self._seed_market(seller_id, marketplace_id, language)
        return self._listings.get((seller_id, sku, marketplace_id))

    def sources_of(self, seller_id: str) -> frozenset[str]:
        """The supply source ids the seller may give quantities for."""
        return self._sources(seller_id) if self._sources is not None else frozenset()

    def put(self, listing: Listing) -> None:
        """Store a listing's new state."""
        self._listings[(listing.seller_id, listing.sku, listing.marketplace_id)] = listing

    def delete(self, seller_id: str, sku: str, marketplace_id: str) -> bool:
        """Remove a listing; False when there was none."""
        self._seed_market(seller_id, marketplace_id, "en")
        return self._listings.pop((seller_id, sku, marketplace_id), None) is not None

    def submission_id(self) -> str:
        """A new submission id (a UUID, as Amazon's)."""
        self.submissions += 1
        return stable_uuid(self._seed, "submission", self.submissions)
