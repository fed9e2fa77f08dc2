"""Scanned text to a typed code: GTIN, GS1-128, Amazon ids, our return codes, or why not.

Rules:

- ``parse_scan`` is a pure function that never raises for any input: a code that looks like a
  known kind but fails its check is ``Invalid`` (with a sentence for the counter screen, e.g.
  "GTIN-13 check digit should be 7, got 3"); anything else is ``Unknown`` with a reason.
- Bytes are decoded as UTF-8; undecodable bytes, control characters other than the GS1 separator
  (GS, ``\\x1d``) and scans longer than ``MAX_SCAN_LENGTH`` are ``Unknown``.
- Surrounding spaces, tabs, CR and LF are dropped. An AIM symbology identifier (``]C1``, ``]E0``,
  ...) is dropped too; ``]C1``, ``]e0``, ``]d2``, ``]Q3`` and ``]J1`` mean GS1 data, as do a
  leading or embedded GS, the ``(01)...`` human-readable form, and an all-digit string of 16+
  characters starting with AI 00, 01 or 02 (a GS1-128 read without its identifier).
- Amazon ids and return codes are matched case-insensitively and returned in upper case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from hardware.errors import CodeFormatError
from hardware.gs1 import GS, Gs1Element, gs1_check_digit, parse_element_string
from hardware.return_codes import normalise_return_code

MAX_SCAN_LENGTH = 256
GTIN_LENGTHS = (8, 12, 13, 14)
GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]J1"})

_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x1c\x1e-\x1f\x7f-\x9f]")


class CodeKind(StrEnum):
    """What a scan was recognised as."""

    GTIN = "gtin"
    GS1 = "gs1"
    FNSKU = "fnsku"
    ASIN = "asin"
    AMAZON_ORDER = "amazon_order"
    RETURN_CODE = "return_code"


@dataclass(frozen=True)
class Gtin:
    """A GTIN-8/12/13/14 with a correct check digit."""

    kind: ClassVar[CodeKind] = CodeKind.GTIN
    raw: str
    value: str

    @property
    def format(self) -> str:
        """``GTIN-8``, ``GTIN-12``, ``GTIN-13`` or ``GTIN-14``."""
        return f"GTIN-{len(self.value)}"

    @property
    def gtin14(self) -> str:
        """The GTIN padded to 14 digits, the form to compare and store."""
        return self.value.zfill(14)


@dataclass(frozen=True)
class Gs1Code:
    """GS1 element data (GS1-128, DataBar, GS1 DataMatrix/QR) split into its AIs."""

    kind: ClassVar[CodeKind] = CodeKind.GS1
    raw: str
    elements: tuple[Gs1Element, ...]

    @property
    def value(self) -> str:
        """The human-readable ``(AI)value`` form."""
        return "".join(f"({e.ai}){e.value}" for e in self.elements)

    def get(self, ai: str) -> str | None:
        """The value of the first element with this AI, or None."""
        return next((e.value for e in self.elements if e.ai == ai), None)

    @property
    def gtin(self) -> str | None:
        """AI 01, the trade item's GTIN-14."""
        return self.get("01")

    @property
    def batch(self) -> str | None:
        """AI 10, batch or lot."""
        return self.get("10")

    @property
    def serial(self) -> str | None:
        """AI 21, serial number."""
        return self.get("21")

    @property
    def expiry(self) -> date | None:
        """AI 17, use-by or expiry date."""
        return next((e.as_date for e in self.elements if e.ai == "17"), None)

    @property
    def net_weight_kg(self) -> Decimal | None:
        """AI 310n, net weight in kilograms."""
        return next((e.as_decimal for e in self.elements if e.ai.startswith("310")), None)


@dataclass(frozen=True)
class Fnsku:
    """An Amazon fulfilment network SKU (``X00`` + 7 letters/digits)."""

    kind: ClassVar[CodeKind] = CodeKind.FNSKU
    raw: str
    value: str


@dataclass(frozen=True)
class Asin:
    """An Amazon standard identification number (``B0`` + 8 letters/digits)."""

    kind: ClassVar[CodeKind] = CodeKind.ASIN
    raw: str
    value: str


@dataclass(frozen=True)
class AmazonOrderId:
    """An Amazon order id, ``123-1234567-1234567``."""

    kind: ClassVar[CodeKind] = CodeKind.AMAZON_ORDER
    raw: str
    value: str


@dataclass(frozen=True)
class ReturnCode:
    """One of our return codes with a correct check character, in canonical form."""

    kind: ClassVar[CodeKind] = CodeKind.RETURN_CODE
    raw: str
    value: str


@dataclass(frozen=True)
class Invalid:
    """A scan that looks like ``kind`` but fails its check; ``message`` says how."""

    raw: str
    kind: CodeKind
    message: str


@dataclass(frozen=True)
class Unknown:
    """A scan that is no code we know; ``reason`` says why."""

    raw: str
    reason: str


ScannedCode = Gtin | Gs1Code | Fnsku | Asin | AmazonOrderId | ReturnCode | Invalid | Unknown


def parse_scan(scan: str | bytes) -> ScannedCode:
    """Parse one scanned line into a typed code; never raises."""
    raw = scan.decode("utf-8", errors="replace") if isinstance(scan, bytes) else scan
    text = raw.strip(" \t\r\n")
    problem = _unreadable(text)
    if problem:
        return Unknown(raw, problem)
    symbology, body = _split_symbology(text)
    if not body:
        return Unknown(raw, "scan holds only a symbology identifier")
    if _looks_gs1(symbology, body):
        return _parse_gs1(raw, body)
    for pattern, make in _PATTERNS:
        if pattern.match(body):
            return make(raw, body.upper())
    return _unknown_format(raw, body)


def _unreadable(text: str) -> str | None:
    if not text:
        return "empty scan"
    if len(text) > MAX_SCAN_LENGTH:
        return f"scan too long ({len(text)} characters, at most {MAX_SCAN_LENGTH})"
    if "\ufffd" in text:
        return "scan holds bytes that are not text (check the scanner's character set)"
    control = _CONTROL.search(text)
    if control:
        where = control.start()
        return f"scan holds control character U+{ord(control.group()):04X} at position {where}"
    return None


def _split_symbology(text: str) -> tuple[str, str]:
    if _SYMBOLOGY.match(text):
        return text[:3], text[3:]
    return "", text


def _looks_gs1(symbology: str, body: str) -> bool:
    if symbology in GS1_SYMBOLOGIES or GS in body:
        return True
    if re.match(r"^\(\d{2,4}\)", body):
        return True
    return body.isascii() and body.isdigit() and len(body) >= 16 and body[:2] in {"00", "01", "02"}


def _parse_gs1(raw: str, body: str) -> Gs1Code | Invalid:
    try:
        return Gs1Code(raw, parse_element_string(body))
    except CodeFormatError as err:
        return Invalid(raw, CodeKind.GS1, str(err))


def _gtin(raw: str, digits: str) -> Gtin | Invalid:
    expected = gs1_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        message = f"GTIN-{len(digits)} check digit should be {expected}, got {digits[-1]}"
        return Invalid(raw, CodeKind.GTIN, message)
    return Gtin(raw, digits)


def _return_code(raw: str, text: str) -> ReturnCode | Invalid:
    try:
        return ReturnCode(raw, normalise_return_code(text))
    except CodeFormatError as err:
        return Invalid(raw, CodeKind.RETURN_CODE, str(err))


def _unknown_format(raw: str, body: str) -> Unknown:
    if body.isascii() and body.isdigit():
        lengths = ", ".join(str(n) for n in GTIN_LENGTHS)
        return Unknown(raw, f"{len(body)} digits is not a GTIN length ({lengths})")
    return Unknown(raw, "not a code format we know (GTIN, GS1, FNSKU, ASIN, order id, RT-)")


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str, str], ScannedCode]], ...] = (
    (re.compile(r"^(\d{8}|\d{12,14})$", re.ASCII), _gtin),
    (re.compile(r"^RT-", re.IGNORECASE), _return_code),
    (re.compile(r"^\d{3}-\d{7}-\d{7}$", re.ASCII), AmazonOrderId),
    (re.compile(r"^X00[A-Z0-9]{7}$", re.IGNORECASE | re.ASCII), Fnsku),
    (re.compile(r"^B0[A-Z0-9]{8}$", re.IGNORECASE | re.ASCII), Asin),
)
