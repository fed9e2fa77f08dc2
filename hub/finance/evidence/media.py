"""What an evidence file is, by its first bytes, and the limits it must keep.

Rules: pure; the type is read from the content (``protocol.media_type_of``, the one reader the
counter's photos are checked with too: JPEG, PNG, WebP, PDF, plain text) and must equal the type
the sender declared and be one the settings allow; above the size limit is ``TooLarge`` (HTTP
413), an empty file, a type that is not allowed or does not match is ``WrongType`` (HTTP 415).
"""

from __future__ import annotations

from collections.abc import Collection

from hub.errors import InputError
from protocol import media_type_of

KINDS = ("photo", "document", "message")


class TooLarge(InputError):
    """The file is above the size limit."""

    status = 413


class WrongType(InputError):
    """The file's content is not an allowed type, or not the type declared."""

    status = 415


def sniff(data: bytes) -> str | None:
    """The media type the bytes are, or None when none we know (``protocol.media_type_of``)."""
    return media_type_of(data)


def check(data: bytes, declared: str, allowed: Collection[str], max_bytes: int) -> str:
    """The media type of ``data`` when it keeps the limits; TooLarge or WrongType otherwise."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"the file has {len(data)} bytes; evidence may have at most {max_bytes}", field="body"
        )
    if not data:
        raise WrongType("the file is empty", field="body")
    declared = declared.split(";")[0].strip().lower()
    if declared not in allowed:
        raise WrongType(
            f"{declared or 'no type'} is not accepted as evidence (accepted: "
            f"{', '.join(sorted(allowed))})",
            field="content-type",
        )
    found = sniff(data)
    if found != declared:
        raise WrongType(
            f"the file is declared {declared} but its content is {found or 'of no accepted type'}",
            field="content-type",
        )
    return found
