"""Listings Items 2021-08-01: getListingsItem and patchListingsItem on stateful listings.

`sellerId` must be the caller (else 403), `marketplaceIds` one of the caller's marketplaces
(Amazon takes exactly one). A malformed patch body is a 400; with the simulator started with
`store_models_dir`, the body is also validated against the model's `ListingsItemPatchRequest`.
A well-formed patch for an unlisted SKU or an unsupported attribute answers 200 with status
INVALID and the issues (`spapi_sim.listings`), as Amazon does; an accepted one changes the
listing at once (Amazon applies it within minutes).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from spapi_sim.errors import InvalidInput, NotFound, Unauthorized
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.listings import (
    ATTRIBUTE,
    Listing,
    check_patch_body,
    patch_issues,
    with_quantity,
)
from spapi_sim.marketplaces import marketplace
from spapi_sim.orders_json import iso_z
from spapi_sim.params import enum_values, json_body, one, values
from spapi_sim.web import Call, gate, reply

router = APIRouter(tags=["Listings Items 2021-08-01"])
ITEM_PATH = "/listings/2021-08-01/items/{seller_id}/{sku}"
GET_DATA = frozenset({"summaries", "attributes", "issues", "offers", "fulfillmentAvailability",
                      "procurement", "relationships", "productTypes"})
PATCH_DATA = frozenset({"identifiers", "issues"})


def _market(request: Request, call: Call, seller_id: str) -> str:
    if seller_id != call.seller_id:
        raise Unauthorized("The sellerId is not the seller this access token speaks for.")
    found = values(request.query_params, "marketplaceIds")
    if len(found) != 1:
        raise InvalidInput("marketplaceIds must name exactly one marketplace.")
    if found[0] not in call.account.marketplace_ids:
        raise InvalidInput(f"The seller does not sell in marketplace {found[0]}.")
    return found[0]


def _availability(listing: Listing) -> list[dict[str, Any]]:
    return [{"fulfillmentChannelCode": channel, "quantity": quantity}
            for channel, quantity in listing.availability()]


def item_json(listing: Listing, included: list[str]) -> dict[str, Any]:
    """The model's `Item` with the requested data sets."""
    body: dict[str, Any] = {"sku": listing.sku}
    if "summaries" in included:
        body["summaries"] = [{
            "marketplaceId": listing.marketplace_id, "asin": listing.asin,
            "productType": listing.product_type, "conditionType": "new_new",
            "status": (["BUYABLE", "DISCOVERABLE"] if any(q for _, q in listing.availability())
                       else ["DISCOVERABLE"]),
            "itemName": listing.title, "createdDate": iso_z(listing.created),
            "lastUpdatedDate": iso_z(listing.updated)}]
    if "attributes" in included:
        body["attributes"] = {ATTRIBUTE: [{"fulfillment_channel_code": channel,
                                           "quantity": quantity}
                                          for channel, quantity in listing.availability()]}
    if "issues" in included:
        body["issues"] = []
    if "fulfillmentAvailability" in included:
        body["fulfillmentAvailability"] = _availability(listing)
    if "productTypes" in included:
        body["productTypes"] = [{"marketplaceId": listing.marketplace_id,
                                 "productType": listing.product_type}]
    return body


@router.get(ITEM_PATH)
async def get_listings_item(
        seller_id: str, sku: str, request: Request,
        call: Annotated[Call, Depends(gate("getListingsItem"))]) -> AmazonJSONResponse:
    """One listing in one marketplace."""
    market = _market(request, call, seller_id)
    included = enum_values(request.query_params, "includedData", GET_DATA) or ["summaries"]
    listing = call.sim.listings.get(seller_id, sku, market, marketplace(market).language)
    if listing is None:
        raise NotFound(f"The SKU {sku} is not listed in marketplace {market}.")
    return reply(item_json(listing, included))


def _model_problem(call: Call, body: dict[str, Any]) -> str | None:
    """Why the body does not match the model's ListingsItemPatchRequest (when loaded)."""
    model = call.sim.listings_model
    if model is None:
        return None
    import jsonschema  # type: ignore[import-untyped]  # only with the models configured

    schema = {"$ref": "#/definitions/ListingsItemPatchRequest",
              "definitions": model["definitions"]}
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft4Validator(schema).iter_errors(body))
    if error is None:
        return None
    where = "/".join(map(str, error.absolute_path)) or "body"
    return f"{where}: {error.message}"


@router.patch(ITEM_PATH)
async def patch_listings_item(
        seller_id: str, sku: str, request: Request,
        call: Annotated[Call, Depends(gate("patchListingsItem"))]) -> AmazonJSONResponse:
    """Apply JSON Patch operations to a listing's fulfillment availability."""
    market = _market(request, call, seller_id)
    included = enum_values(request.query_params, "includedData", PATCH_DATA) or ["issues"]
    mode = one(request.query_params, "mode")
    if mode not in (None, "VALIDATION_PREVIEW"):
        raise InvalidInput(f"Invalid mode {mode!r}.")
    body = await json_body(request)
    problem = check_patch_body(body) or _model_problem(call, body)
    if problem is not None:
        raise InvalidInput("Invalid input", problem)
    book = call.sim.listings
    listing = book.get(seller_id, sku, market, marketplace(market).language)
    issues, quantity = patch_issues(body["patches"], listing is not None, sku,
                                    book.sources_of(seller_id))
    status = "INVALID" if issues else ("VALID" if mode else "ACCEPTED")
    if status == "ACCEPTED":
        assert listing is not None  # patch_issues reports an unlisted SKU
        book.put(with_quantity(listing, quantity, body["productType"], call.now))
    answer: dict[str, Any] = {"sku": sku, "status": status,
                              "submissionId": book.submission_id()}
    if "issues" in included:
        answer["issues"] = [issue.as_json([market]) for issue in issues]
    if "identifiers" in included:
        answer["identifiers"] = ([{"marketplaceId": market, "asin": listing.asin}]
                                 if listing is not None else [])
    return reply(answer)
