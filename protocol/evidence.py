"""Evidence on the wire: a photo taken at the counter during inspection (issue 15 point 6).

Messages:
- ``evidence.recorded`` (node -> hub event): one photo of a return, its bytes inline (base64),
  with their SHA-256, size and media type, who took it and when.

Rules:
- the bytes ride inside the event, so the node's outbox (durable, sent until the hub's ack covers
  it) is the queue that sends them later: nothing recorded at a counter is lost offline; one
  photo has at most ``MAX_EVIDENCE_BYTES`` (the counter page scales a photo down to fit), so the
  whole message stays under ``MAX_PAYLOAD_BYTES``;
- the body checks itself: the base64 decodes, its length is ``size``, its SHA-256 is ``sha256``
  and its first bytes are the ``media_type`` it claims (``media_type_of``);
- ``evidence_id`` is the node's own id of the photo, the same on every resend;
- ``media_type_of`` reads a file's type from its first bytes, never from a name: JPEG, PNG,
  WebP, PDF, or plain text (UTF-8 without control bytes but tab, CR and LF).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from protocol.limits import MAX_EVIDENCE_BYTES
from protocol.returns import Body, Code, Hash
from protocol.timeutil import UtcDatetime

PhotoType = Literal["image/jpeg", "image/png", "image/webp"]
PHOTO_TYPES: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
B64_CHARS = 4 * ((MAX_EVIDENCE_BYTES + 2) // 3)
SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("application/pdf", b"%PDF-", 0),
    ("image/webp", b"WEBP", 8),
)
TEXT_CONTROLS = frozenset("\t\r\n")


def media_type_of(data: bytes) -> str | None:
    """The media type ``data`` is, by its first bytes; None when none we know."""
    for media_type, magic, offset in SIGNATURES:
        if data[offset : offset + len(magic)] == magic and (offset == 0 or data[:4] == b"RIFF"):
            return media_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or any(ord(ch) < 32 and ch not in TEXT_CONTROLS for ch in text):
        return None
    return "text/plain"


class EvidenceRecorded(Body):
    """A photo taken at the counter, with its bytes."""

    kind: Literal["evidence.recorded"] = "evidence.recorded"
    evidence_id: Code
    return_id: Code
    media_type: PhotoType
    sha256: Hash
    size: int = Field(ge=1, le=MAX_EVIDENCE_BYTES)
    data: Annotated[str, StringConstraints(min_length=4, max_length=B64_CHARS)]
    recorded_at: UtcDatetime
    recorded_by: Code | None = None

    @classmethod
    def of(cls, content: bytes, **fields: object) -> EvidenceRecorded:
        """The event for ``content`` (its size, hash and base64 filled in)."""
        return cls(
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            data=base64.b64encode(content).decode("ascii"),
            **fields,
        )

    @property
    def content(self) -> bytes:
        """The photo's bytes."""
        return base64.b64decode(self.data, validate=True)

    @model_validator(mode="after")
    def _bytes_match(self) -> Self:
        try:
            content = self.content
        except (binascii.Error, ValueError):
            raise ValueError("data is not base64") from None
        if len(content) != self.size:
            raise ValueError(f"data has {len(content)} bytes, size says {self.size}")
        if hashlib.sha256(content).hexdigest() != self.sha256:
            raise ValueError("data does not match its sha256")
        if media_type_of(content) != self.media_type:
            raise ValueError(f"data is not {self.media_type}")
        return self
