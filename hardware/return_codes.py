"""Our own return codes, printed on drop-off receipts: ``RT-`` + body + one check character.

Rules:

- The body is Crockford base32 (``0-9`` and ``A-Z`` without ``I L O U``), 4 to 24 characters.
  A number becomes its base32 digits, zero-padded to at least 6 characters.
- The check character is Luhn mod 32 over the body, in the same alphabet, so the whole code stays
  in Code 128 set B and QR alphanumeric-safe characters. It catches every single wrong character
  and most swaps of neighbouring characters; the sum starts at the body's length, so a dropped
  or added leading zero (invisible to plain Luhn) is caught as well.
- Reading is forgiving the way Crockford intends: case does not matter, ``I``/``L`` read as ``1``,
  ``O`` as ``0``, and hyphens or spaces inside the body are ignored. The canonical form is upper
  case with exactly one hyphen after ``RT``.
"""

from __future__ import annotations

from hardware.errors import CodeFormatError

PREFIX = "RT-"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MIN_BODY, MAX_BODY = 4, 24
NUMBER_WIDTH = 6

_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def make_return_code(raw_id: int | str) -> str:
    """Return the canonical return code for a non-negative number or a base32 body."""
    body = _number_body(raw_id) if isinstance(raw_id, int) else _clean_body(raw_id)
    _check_body(body)
    return f"{PREFIX}{body}{check_character(body)}"


def normalise_return_code(text: str) -> str:
    """Return ``text`` as a canonical return code, or raise CodeFormatError saying what is wrong."""
    upper = text.strip().upper()
    if not upper.startswith("RT"):
        raise CodeFormatError(f"return code must start with {PREFIX!r}")
    payload = _clean_body(upper[2:])
    if len(payload) < MIN_BODY + 1:
        raise CodeFormatError(f"return code too short: {MIN_BODY + 1}+ characters after RT-")
    body, given = payload[:-1], payload[-1]
    _check_body(body)
    expected = check_character(body)
    if given != expected:
        raise CodeFormatError(f"return code check character should be {expected}, got {given}")
    return f"{PREFIX}{body}{given}"


def is_valid_return_code(text: str) -> bool:
    """True when ``text`` reads as a return code with a correct check character."""
    try:
        normalise_return_code(text)
    except CodeFormatError:
        return False
    return True


def check_character(body: str) -> str:
    """The Luhn mod 32 check character for a canonical base32 body, seeded with its length."""
    total = len(body)  # so a dropped or added leading zero changes the check character too
    for position, char in enumerate(reversed(body)):
        addend = _VALUE[char] * (2 if position % 2 == 0 else 1)
        total += addend // len(ALPHABET) + addend % len(ALPHABET)
    return ALPHABET[-total % len(ALPHABET)]


def _number_body(number: int) -> str:
    if number < 0:
        raise CodeFormatError(f"a return code number cannot be negative: {number}")
    digits = ""
    while number:
        number, digit = divmod(number, len(ALPHABET))
        digits = ALPHABET[digit] + digits
    return digits.rjust(NUMBER_WIDTH, "0")


def _clean_body(text: str) -> str:
    return text.upper().replace("-", "").replace(" ", "").translate(_ALIASES)


def _check_body(body: str) -> None:
    if not MIN_BODY <= len(body) <= MAX_BODY:
        raise CodeFormatError(
            f"return code body must be {MIN_BODY}-{MAX_BODY} characters, got {len(body)}"
        )
    bad = sorted({char for char in body if char not in _VALUE})
    if bad:
        raise CodeFormatError(f"return code has characters outside base32: {''.join(bad)!r}")
