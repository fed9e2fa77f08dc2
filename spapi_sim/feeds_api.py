"""Feeds API 2021-06-30: createFeedDocument, createFeed, getFeed, getFeeds, cancelFeed,
getFeedDocument.

The flow is Amazon's: createFeedDocument returns an upload URL; the caller PUTs the feed there
with the same Content-Type; createFeed names the document; getFeed shows IN_QUEUE, IN_PROGRESS,
then DONE with `resultFeedDocumentId` (the processing report), or FATAL when nothing was
uploaded. `POST_PAYMENT_ADJUSTMENT_DATA` and `JSON_LISTINGS_FEED` (one marketplace) are
processed; the removed XML / flat-file listings feeds end FATAL; other feed types are refused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from spapi_sim.errors import InvalidInput, NotFound
from spapi_sim.feeds import FEED_TYPE
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.lifecycle import Job, Status
from spapi_sim.listings_feed import FEED_TYPE as LISTINGS_FEED
from spapi_sim.orders_json import iso_z
from spapi_sim.params import enum_values, int_param, json_body, one, string_list, time_param, values
from spapi_sim.processing import REMOVED_FEED_TYPES
from spapi_sim.web import Call, base_url, gate, reply

STATUSES = frozenset(s.value for s in Status)
FEED_DOCUMENT_PREFIX = "amzn1.tortuga."
# Removed listings feed types are taken and end FATAL, as Amazon does since 2025-07-31.
ACCEPTED_TYPES = frozenset({FEED_TYPE, LISTINGS_FEED}) | REMOVED_FEED_TYPES

router = APIRouter(tags=["Feeds 2021-06-30"])


def feed_json(job: Job) -> dict[str, Any]:
    """The Feed object."""
    body: dict[str, Any] = {
        "feedId": job.job_id, "feedType": job.job_type,
        "marketplaceIds": list(job.marketplace_ids), "createdTime": iso_z(job.created),
        "processingStatus": job.status.value,
    }
    if job.started is not None:
        body["processingStartTime"] = iso_z(job.started)
    if job.finished is not None and job.status in (Status.DONE, Status.FATAL):
        body["processingEndTime"] = iso_z(job.finished)
    if job.document_id is not None and job.status == Status.DONE:
        body["resultFeedDocumentId"] = job.document_id
    return body


@router.post("/feeds/2021-06-30/documents", status_code=201)
async def create_feed_document(
        request: Request,
        call: Annotated[Call, Depends(gate("createFeedDocument"))]) -> AmazonJSONResponse:
    """A new feed document and the presigned URL to upload it to."""
    content_type = (await json_body(request)).get("contentType")
    if not isinstance(content_type, str) or not content_type.strip():
        raise InvalidInput("contentType is required.")
    sim = call.sim
    document_id = sim.ids.feed_document_id(call.account.region)
    sim.documents.add_upload(document_id, call.seller_id, content_type)
    url = sim.documents.presign(document_id, "PUT", base_url(request), call.now)
    return reply({"feedDocumentId": document_id, "url": url}, 201)


@router.post("/feeds/2021-06-30/feeds", status_code=202)
async def create_feed(request: Request,
                      call: Annotated[Call, Depends(gate("createFeed"))]) -> AmazonJSONResponse:
    """Submit an uploaded feed document for processing."""
    body = await json_body(request)
    feed_type = body.get("feedType")
    if feed_type not in ACCEPTED_TYPES:
        raise InvalidInput(f"Invalid feedType {feed_type!r}: the simulator processes "
                           f"{', '.join(sorted(ACCEPTED_TYPES - REMOVED_FEED_TYPES))}.")
    marketplace_ids = string_list(body, "marketplaceIds")
    if feed_type == LISTINGS_FEED and len(marketplace_ids) != 1:
        raise InvalidInput(f"{LISTINGS_FEED} takes exactly one marketplaceId.")
    if not set(marketplace_ids) <= set(call.account.marketplace_ids):
        raise InvalidInput("marketplaceIds contains a marketplace this seller does not sell in.")
    document_id = body.get("inputFeedDocumentId")
    if not isinstance(document_id, str) or call.sim.documents.find(
            document_id, call.seller_id) is None or not document_id.startswith(
            FEED_DOCUMENT_PREFIX):
        raise InvalidInput("inputFeedDocumentId does not name a feed document of this seller.")
    job = Job(call.sim.ids.feed_id(), call.seller_id, str(feed_type), tuple(marketplace_ids),
              call.now, input_document_id=document_id)
    call.sim.feeds.add(job)
    return reply({"feedId": job.job_id}, 202)


def _find(call: Call, feed_id: str, *, poll: bool) -> Job:
    job = call.sim.feeds.get(call.seller_id, feed_id, call.now, poll=poll)
    if job is None:
        raise NotFound(f"Feed {feed_id} was not found.")
    return job


@router.get("/feeds/2021-06-30/feeds/{feed_id}")
async def get_feed(feed_id: str,
                   call: Annotated[Call, Depends(gate("getFeed"))]) -> AmazonJSONResponse:
    """One feed; each poll also moves it along its lifecycle."""
    return reply(feed_json(_find(call, feed_id, poll=True)))


@router.delete("/feeds/2021-06-30/feeds/{feed_id}")
async def cancel_feed(feed_id: str,
                      call: Annotated[Call, Depends(gate("cancelFeed"))]) -> AmazonJSONResponse:
    """Cancel an IN_QUEUE feed (200, empty body)."""
    if call.sim.feeds.cancel(call.seller_id, feed_id, call.now) is None:
        raise NotFound(f"Feed {feed_id} was not found.")
    return reply(None)


@router.get("/feeds/2021-06-30/feeds")
async def get_feeds(request: Request,
                    call: Annotated[Call, Depends(gate("getFeeds"))]) -> AmazonJSONResponse:
    """The caller's feeds matching filters, a page at a time (`nextToken` carries filters)."""
    token = one(request.query_params, "nextToken")
    filters, offset = _resume(token, call) if token else (_filters(request, call), 0)
    found = [j for j in call.sim.feeds.of_seller(call.seller_id, call.now)
             if _matches(j, filters)]
    size = int(filters["pageSize"])
    body: dict[str, Any] = {"feeds": [feed_json(j) for j in found[offset:offset + size]]}
    if offset + size < len(found):
        body["nextToken"] = call.sim.signer.seal(
            {"k": "feeds", "s": call.seller_id, "o": offset + size, "f": filters})
    return reply(body)


def _filters(request: Request, call: Call) -> dict[str, Any]:
    query = request.query_params
    since = time_param(query, "createdSince") or call.now - timedelta(days=90)
    until = time_param(query, "createdUntil") or call.now
    return {"types": values(query, "feedTypes"),
            "statuses": enum_values(query, "processingStatuses", STATUSES),
            "marketplaces": values(query, "marketplaceIds"),
            "pageSize": int_param(query, "pageSize", 10, 1, 100),
            "since": iso_z(since), "until": iso_z(until)}


def _resume(token: str, call: Call) -> tuple[dict[str, Any], int]:
    payload = call.sim.signer.unseal(token)
    if not payload or payload.get("k") != "feeds" or payload.get("s") != call.seller_id:
        raise InvalidInput("Invalid nextToken.")
    return payload["f"], int(payload["o"])


def _matches(job: Job, filters: dict[str, Any]) -> bool:
    return ((not filters["types"] or job.job_type in filters["types"])
            and (not filters["statuses"] or job.status.value in filters["statuses"])
            and (not filters["marketplaces"]
                 or bool(set(job.marketplace_ids) & set(filters["marketplaces"])))
            and filters["since"] <= iso_z(job.created) <= filters["until"])


@router.get("/feeds/2021-06-30/documents/{document_id}")
async def get_feed_document(
        document_id: str, request: Request,
        call: Annotated[Call, Depends(gate("getFeedDocument"))]) -> AmazonJSONResponse:
    """Where to download a feed document (an input or a processing report)."""
    document = call.sim.documents.find(document_id, call.seller_id)
    if document is None or not document_id.startswith(FEED_DOCUMENT_PREFIX):
        raise NotFound(f"Feed document {document_id} was not found.")
    url = call.sim.documents.presign(document_id, "GET", base_url(request), call.now)
    body: dict[str, Any] = {"feedDocumentId": document_id, "url": url}
    if document.compressed:
        body["compressionAlgorithm"] = "GZIP"
    return reply(body)
