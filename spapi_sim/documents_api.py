"""The simulator's stand-in for S3: download and upload documents through presigned URLs.

No access token here, as on S3: the signature in the URL is the authorisation. Errors are S3's
XML documents (`AccessDenied`, `SignatureDoesNotMatch`, `NoSuchKey`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from spapi_sim.web import simulator_of

router = APIRouter(tags=["Documents (presigned URLs)"])


@router.get("/documents/{document_id}")
async def download(document_id: str, request: Request) -> Response:
    """The document's bytes (gzip-compressed when its metadata says GZIP)."""
    sim = simulator_of(request)
    sim.documents.check(document_id, "GET", dict(request.query_params), sim.now())
    document = sim.documents.find(document_id)
    assert document is not None  # check() found it
    return Response(document.data or b"", media_type=document.content_type)


@router.put("/documents/{document_id}")
async def upload(document_id: str, request: Request) -> Response:
    """Store a feed document's content (200, empty body, as S3 answers)."""
    sim = simulator_of(request)
    sim.documents.check(document_id, "PUT", dict(request.query_params), sim.now())
    sim.documents.put(document_id, await request.body(), request.headers.get("content-type"))
    return Response(status_code=200)
