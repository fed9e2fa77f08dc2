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
is the models' own ("The attributes are invalid."); 4000001 (SKU not listed) and 4000002 (a
fulfillment channel the seller cannot set) are this simulator's own numbers.
"""

from __future__ import annotations

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


def _availability_issue(values: Any) -> tuple[Issue | None, int | None]:
    """(issue, None) or (None, quantity) for a `fulfillment_availability` value."""
    if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], dict):
        return Issue(INVALID_ATTRIBUTE, "fulfillment_availability must hold exactly one entry "
                                        "with fulfillment_channel_code and quantity.",
                     ATTRIBUTE), None
    entry = values[0]
    channel = entry.get("fulfillment_channel_code")
    if channel != CHANNEL:
        return Issue(CHANNEL_NOT_SETTABLE, f"fulfillment_channel_code {channel!r} cannot be set "
                                           f"by the seller; use {CHANNEL} for merchant-fulfilled "
                                           "quantities.", ATTRIBUTE), None
    quantity = entry.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return Issue(INVALID_ATTRIBUTE, f"quantity must be a whole number of at least 0, not "
                                        f"{quantity!r}.", ATTRIBUTE), None
    return None, quantity


def patch_issues(patches: list[dict[str, Any]], listed: bool,
                 sku: str) -> tuple[list[Issue], int | None]:
    """Issues of a well-formed patch list, and the quantity it sets when it has none."""
    if not listed:
        return [Issue(SKU_NOT_LISTED, f"The SKU {sku!r} is not listed in this marketplace; "
                                      "create the listing before patching it.",
                      category="MISSING_ATTRIBUTE")], None
    issues: list[Issue] = []
    quantity: int | None = None
    for patch in patches:
        path = str(patch["path"])
        if path != PATH:
            name = path.removeprefix("/attributes/").split("/")[0] or path
            issues.append(Issue(INVALID_ATTRIBUTE, f"The attribute {name!r} is not supported "
                                                   f"here; only {PATH} can be patched.", name))
            continue
        if patch["op"] == "delete":
            quantity = 0
            continue
        issue, found = _availability_issue(patch.get("value"))
        if issue is not None:
            issues.append(issue)
        else:
            quantity = found
    return issues, (None if issues else quantity)


def with_quantity(listing: Listing, quantity: int | None, product_type: str,
                  now: datetime) -> Listing:
    """The listing after an accepted submission (quantity None: unchanged)."""
    if quantity is None:
        return replace(listing, product_type=product_type, updated=now)
    return replace(listing, quantity=quantity, product_type=product_type, updated=now)


class ListingBook:
    """Every listing of the simulator, seeded on first use per seller and marketplace."""

    def __init__(self, seed: int, seeded_at: datetime) -> None:
        self._seed = seed
        self._seeded_at = seeded_at
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
