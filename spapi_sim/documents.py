"""Report and feed documents behind presigned URLs, as Amazon keeps them in S3.

A report document is registered with a renderer and rendered once, on first use: it is then
gzip-compressed when it reaches `gzip_min_bytes` (and getReportDocument says
`compressionAlgorithm: GZIP`). Served bytes carry no `Content-Encoding`, as on S3, so a client
must decompress itself. A feed input document is an upload slot: the presigned PUT must send the
`Content-Type` given to createFeedDocument, or S3 answers `SignatureDoesNotMatch`.

URLs are `<base>/documents/<id>?X-Amz-Expires=<epoch>&X-Amz-Signature=<hmac>` and expire after
`ttl_seconds`; the signature covers method, id, expiry and (uploads) the content type.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from spapi_sim.errors import StorageError
from spapi_sim.signing import Signer


@dataclass(slots=True)
class StoredDocument:
    """One document: its bytes once known, and how they are served."""

    document_id: str
    owner: str
    content_type: str
    renderer: Callable[[], bytes] | None = None
    data: bytes | None = None
    compressed: bool = False
    upload: bool = False


class DocumentStore:
    """Holds documents and checks presigned URLs."""

    def __init__(self, signer: Signer, gzip_min_bytes: int, ttl_seconds: int) -> None:
        self._signer = signer
        self._gzip_min_bytes = gzip_min_bytes
        self._ttl = ttl_seconds
        self._documents: dict[str, StoredDocument] = {}

    def add(self, document_id: str, owner: str, content_type: str,
            renderer: Callable[[], bytes]) -> None:
        """Register a document of seller `owner`, rendered on first use."""
        self._documents[document_id] = StoredDocument(document_id, owner, content_type, renderer)

    def add_upload(self, document_id: str, owner: str, content_type: str) -> None:
        """Register an empty feed input document awaiting its upload."""
        self._documents[document_id] = StoredDocument(document_id, owner, content_type,
                                                      upload=True)

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._documents

    def find(self, document_id: str, owner: str | None = None) -> StoredDocument | None:
        """The document (of `owner`, when given), rendered and compressed when large, or None."""
        document = self._documents.get(document_id)
        if document is None or (owner is not None and document.owner != owner):
            return None
        if document is not None and document.data is None and document.renderer is not None:
            data = document.renderer()
            document.compressed = len(data) >= self._gzip_min_bytes
            document.data = gzip.compress(data, mtime=0) if document.compressed else data
            document.renderer = None
        return document

    def uploaded(self, document_id: str) -> bytes | None:
        """The uploaded content of a feed input document, None before the upload."""
        document = self._documents.get(document_id)
        return document.data if document is not None and document.upload else None

    def presign(self, document_id: str, method: str, base_url: str, now: datetime) -> str:
        """A URL allowing `method` on the document until `ttl_seconds` from `now`."""
        expires = int(now.timestamp()) + self._ttl
        signature = self._signer.sign(self._string_to_sign(document_id, method, expires))
        query = urlencode({"X-Amz-Expires": expires, "X-Amz-Signature": signature})
        return f"{base_url}/documents/{quote(document_id, safe='.|-')}?{query}"

    def _string_to_sign(self, document_id: str, method: str, expires: int) -> str:
        document = self._documents.get(document_id)
        content_type = document.content_type if document and method == "PUT" else ""
        return f"{method}\n{document_id}\n{expires}\n{content_type}"

    def check(self, document_id: str, method: str, query: dict[str, str], now: datetime) -> None:
        """Raise StorageError unless the presigned URL is valid now."""
        if document_id not in self._documents:
            raise StorageError("NoSuchKey", "The specified key does not exist.", 404)
        try:
            expires = int(query["X-Amz-Expires"])
            signature = query["X-Amz-Signature"]
        except (KeyError, ValueError) as err:
            raise StorageError("AccessDenied", "Query-string authentication requires "
                               "X-Amz-Expires and X-Amz-Signature.") from err
        if not self._signer.verify(self._string_to_sign(document_id, method, expires), signature):
            raise StorageError("SignatureDoesNotMatch", "The request signature we calculated "
                               "does not match the signature you provided.")
        if now.timestamp() > expires:
            raise StorageError("AccessDenied", "Request has expired")

    def put(self, document_id: str, body: bytes, content_type: str | None) -> None:
        """Store an upload; the content type must be the one the URL was made for."""
        document = self._documents[document_id]
        if not document.upload:
            raise StorageError("AccessDenied", "Access Denied")
        if (content_type or "").lower() != document.content_type.lower():
            raise StorageError("SignatureDoesNotMatch", "The request signature we calculated "
                               "does not match the signature you provided. Check your "
                               "Content-Type header.")
        document.data = body
