"""Local identifiers for returns and refunds.

A return id is ``R`` and a refund id ``F`` followed by 12 Crockford base32 characters of a random
60-bit value: short enough to read out at a counter, unique across every store without
coordination (a collision needs ~10^9 ids at one node before it gets likely), and free of
ambiguous letters (no I, L, O, U).
"""

from __future__ import annotations

import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BITS = 60
_CHARS = _BITS // 5
RETURN_PREFIX = "R"
REFUND_PREFIX = "F"
_ID_RE = re.compile(rf"^[RF][{CROCKFORD}]{{{_CHARS}}}$")


def encode_base32(value: int, width: int = _CHARS) -> str:
    """Crockford base32 of a non-negative int, left-padded with zeros to ``width``."""
    chars = []
    for _ in range(width):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_return_id() -> str:
    """A fresh return id, e.g. ``R7QK2M9XH4TZA``."""
    return RETURN_PREFIX + encode_base32(secrets.randbits(_BITS))


def new_refund_id() -> str:
    """A fresh refund id, e.g. ``F3J8D0W6Q1ZNB``."""
    return REFUND_PREFIX + encode_base32(secrets.randbits(_BITS))


def looks_like_local_id(value: str) -> bool:
    """True if ``value`` has the shape of a return or refund id (upper-case)."""
    return bool(_ID_RE.match(value))
