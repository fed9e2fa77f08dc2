"""What an evidence file is, by its first bytes, and the limits it must keep.

Rules: pure; the type is read from the content (JPEG, PNG, WebP, PDF by their signatures; plain
text when it is UTF-8 without control bytes other than tab, CR and LF) and must equal the type
the sender declared and be one the settings allow; above the size limit is ``TooLarge`` (HTTP
413), an empty file, a type that is not allowed or does not match is ``WrongType`` (HTTP 415).
"""

from __future__ import annotations

from collections.abc import Collection

from hub.errors import InputError

KINDS = ("photo", "document", "message")
SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("application/pdf", b"%PDF-", 0),
    ("image/webp", b"WEBP", 8),
)
TEXT_CONTROLS = frozenset(b"\t\r\n")


class TooLarge(InputError):
    """The file is above the size limit."""

    status = 413


class WrongType(InputError):
    """The file's content is not an allowed type, or not the type declared."""

    status = 415


def sniff(data: bytes) -> str | None:
    """The media type the bytes are, or None when none we know."""
    for media_type, magic, offset in SIGNATURES:
        if data[offset:offset + len(magic)] == magic and (offset == 0 or data[:4] == b"RIFF"):
            return media_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) < 32 and ord(ch) not in TEXT_CONTROLS for ch in text):
        return None
    return "text/plain"


def check(data: bytes, declared: str, allowed: Collection[str], max_bytes: int) -> str:
    """The media type of ``data`` when it keeps the limits; TooLarge or WrongType otherwise."""
    if len(data) > max_bytes:
        raise TooLarge(f"the file has {len(data)} bytes; evidence may have at most {max_bytes}",
                       field="body")
    if not data:
        raise WrongType("the file is empty", field="body")
    declared = declared.split(";")[0].strip().lower()
    if declared not in allowed:
        raise WrongType(f"{declared or 'no type'} is not accepted as evidence (accepted: "
                        f"{', '.join(sorted(allowed))})", field="content-type")
    found = sniff(data)
    if found != declared:
        raise WrongType(f"the file is declared {declared} but its content is "
                        f"{found or 'of no accepted type'}", field="content-type")
    return found
