"""GS1 element strings: application identifiers (AIs), their lengths and check digits.

Rules:

- An element string is ``AI + value`` repeated. AIs whose length GS1 predefines (``00``, ``01``,
  ``11``-``17``, ``310n`` ...) run straight into the next AI; variable-length values end at the
  FNC1 separator (ASCII GS, ``\\x1d``) or at the end of the data. A stray GS after a fixed-length
  value is tolerated, as many scanners send one.
- The human-readable form ``(01)09506000134352(17)251231(10)AB12`` is accepted too.
- Only the AIs in ``AI_TABLE`` are understood; any other AI makes the whole string invalid,
  because without its length the rest cannot be split safely.
- Check digits (``00``, ``01``, ``02``, ``41x``) use the GS1 mod-10 rule; dates are ``YYMMDD`` in
  2000-2099 and day ``00`` means the last day of the month.
- Problems raise ``CodeFormatError`` with a sentence naming the AI; ``hardware.codes`` turns that
  into an ``Invalid`` scan, so callers never see it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from hardware.errors import CodeFormatError

GS = "\x1d"


@dataclass(frozen=True)
class AiSpec:
    """How one application identifier is written and checked."""

    title: str
    length: int | None  # fixed value length, or None for variable length up to max_length
    max_length: int
    numeric: bool = True
    kind: str = "text"  # text | check | date | decimal


def _fixed(title: str, length: int, kind: str = "text") -> AiSpec:
    return AiSpec(title, length, length, True, kind)


def _var(title: str, max_length: int, numeric: bool = False) -> AiSpec:
    return AiSpec(title, None, max_length, numeric)


AI_TABLE: dict[str, AiSpec] = {
    "00": _fixed("SSCC", 18, "check"),
    "01": _fixed("GTIN", 14, "check"),
    "02": _fixed("CONTENT", 14, "check"),
    "10": _var("BATCH/LOT", 20),
    "11": _fixed("PROD DATE", 6, "date"),
    "12": _fixed("DUE DATE", 6, "date"),
    "13": _fixed("PACK DATE", 6, "date"),
    "15": _fixed("BEST BEFORE", 6, "date"),
    "16": _fixed("SELL BY", 6, "date"),
    "17": _fixed("USE BY", 6, "date"),
    "20": _fixed("VARIANT", 2),
    "21": _var("SERIAL", 20),
    "30": _var("VAR. COUNT", 8, numeric=True),
    "37": _var("COUNT", 8, numeric=True),
    "240": _var("ADDITIONAL ID", 30),
    "241": _var("CUST. PART No.", 30),
    "400": _var("ORDER NUMBER", 30),
    "422": _fixed("ORIGIN", 3),
    **{f"41{n}": _fixed("GLN", 13, "check") for n in range(5)},
    **{f"310{n}": _fixed("NET WEIGHT (kg)", 6, "decimal") for n in range(6)},
    **{f"320{n}": _fixed("NET WEIGHT (lb)", 6, "decimal") for n in range(6)},
    **{f"330{n}": _fixed("GROSS WEIGHT (kg)", 6, "decimal") for n in range(6)},
    **{f"392{n}": AiSpec("PRICE", None, 15, True, "decimal") for n in range(4)},
}

_PARENS = re.compile(r"\((\d{2,4})\)([^()]*)")
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class Gs1Element:
    """One AI and its value, as written in the barcode."""

    ai: str
    title: str
    value: str

    @property
    def as_date(self) -> date | None:
        """The value as a date for date AIs, else None."""
        return parse_gs1_date(self.value) if AI_TABLE[self.ai].kind == "date" else None

    @property
    def as_decimal(self) -> Decimal | None:
        """The value with the AI's implied decimal point (``310n``, ``392n``), else None."""
        if AI_TABLE[self.ai].kind != "decimal":
            return None
        return Decimal(self.value).scaleb(-int(self.ai[3]))


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (all digits, check digit not included)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return -total % 10


def parse_gs1_date(value: str) -> date:
    """A GS1 ``YYMMDD`` date; day ``00`` is the last day of the month."""
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:6])
    if day == 0 and 1 <= month <= 12:
        day = calendar.monthrange(year, month)[1]
    return date(year, month, day)


def parse_element_string(data: str) -> tuple[Gs1Element, ...]:
    """Split GS1 element data (with GS separators or in ``(AI)value`` form) into elements."""
    if data.startswith("("):
        return _parse_parens(data)
    elements: list[Gs1Element] = []
    pos = 0
    while pos < len(data):
        if data[pos] == GS:
            pos += 1
            continue
        element, pos = _read_element(data, pos)
        elements.append(element)
    if not elements:
        raise CodeFormatError("GS1 code holds no application identifiers")
    return tuple(elements)


def _parse_parens(data: str) -> tuple[Gs1Element, ...]:
    pairs = _PARENS.findall(data)
    if "".join(f"({ai}){value}" for ai, value in pairs) != data:
        raise CodeFormatError("GS1 text is not in the (AI)value form throughout")
    for ai, value in pairs:
        if ai not in AI_TABLE:
            raise CodeFormatError(f"GS1 application identifier ({ai}) is not known")
        _check_value(ai, AI_TABLE[ai], value)
    return tuple(Gs1Element(ai, AI_TABLE[ai].title, value) for ai, value in pairs)


def _read_element(data: str, pos: int) -> tuple[Gs1Element, int]:
    ai = _match_ai(data, pos)
    spec = AI_TABLE[ai]
    start = pos + len(ai)
    if spec.length is not None:
        end = start + spec.length
    else:
        found = data.find(GS, start)
        end = len(data) if found < 0 else found
    value = data[start:end]
    _check_value(ai, spec, value)
    return Gs1Element(ai, spec.title, value), end


def _match_ai(data: str, pos: int) -> str:
    for size in (2, 3, 4):
        candidate = data[pos : pos + size]
        if candidate in AI_TABLE:
            return candidate
    shown = data[pos : pos + 4]
    raise CodeFormatError(f"GS1 application identifier {shown!r} at position {pos} is not known")


def _check_value(ai: str, spec: AiSpec, value: str) -> None:
    label = f"GS1 ({ai}) {spec.title}"
    if spec.length is not None and len(value) != spec.length:
        raise CodeFormatError(f"{label} needs {spec.length} characters, got {len(value)}")
    if not value or len(value) > spec.max_length:
        raise CodeFormatError(f"{label} needs 1-{spec.max_length} characters, got {len(value)}")
    if spec.numeric and not (value.isascii() and value.isdigit()):
        raise CodeFormatError(f"{label} must be digits, got {value!r}")
    if not _PRINTABLE.match(value):
        raise CodeFormatError(f"{label} holds characters a GS1 code cannot: {value!r}")
    _KIND_CHECKS.get(spec.kind, _no_check)(label, value)


def _check_digit_ok(label: str, value: str) -> None:
    expected = gs1_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise CodeFormatError(f"{label} check digit should be {expected}, got {value[-1]}")


def _date_ok(label: str, value: str) -> None:
    try:
        parse_gs1_date(value)
    except ValueError as err:
        raise CodeFormatError(f"{label} {value!r} is not a valid YYMMDD date") from err


def _no_check(label: str, value: str) -> None:
    return None


_KIND_CHECKS = {"check": _check_digit_ok, "date": _date_ok}
