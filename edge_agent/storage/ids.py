"""Local identifiers for returns and refunds.

A return id is ``R`` and a refund id ``F`` followed by 12 Crockford base32 characters of a random
60-bit value: short enough to read out at a counter, unique across every store without
coordination (a collision needs ~10^9 ids at one node before it gets likely), and free of
ambiguous letters (no I, L, O, U).

A return's **return code** is what its receipt and label print (text, QR, Code 128): ``RT-``, the
12 characters of the return id, and a check character (``hardware.return_codes``), so a scan of
the receipt finds the return again and a misread character is caught, not matched to another.
"""

from __future__ import annotations

import re
import secrets

from hardware.errors import CodeFormatError
from hardware.return_codes import make_return_code, normalise_return_code

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


def return_code(return_id: str) -> str:
    """The code printed on a return's receipt, e.g. ``R7QK2M9XH4TZA`` -> ``RT-7QK2M9XH4TZA5``."""
    return make_return_code(return_id.removeprefix(RETURN_PREFIX))


def return_id_for_code(code: str) -> str | None:
    """The return id a scanned return code stands for, or None when ``code`` is not one of ours."""
    try:
        canonical = normalise_return_code(code)
    except CodeFormatError:
        return None
    candidate = RETURN_PREFIX + canonical.removeprefix("RT-")[:-1]
    return candidate if looks_like_local_id(candidate) else None
