"""What every Amazon flat file shares: lines, header lookup, amounts, times, problems (pure).

Rules:
- a flat file is tab-separated with one header row; rows are ``\\n`` lines (``\\r\\n`` accepted)
  and nothing is quoted, so a stray ``"`` cannot swallow the lines after it;
- headers are matched by name, trimmed and case-insensitive, never by position;
- amounts are plain decimal numbers in the file's local format (``-1.234,56`` with a decimal
  comma, ``-1,234.56`` without); grouping separators must group by three; letters, exponents,
  ``NaN`` or ``12.34`` in a decimal-comma file are malformed (``ValueError``);
- times are UTC: ``2024-05-01 12:34:56 UTC``, ISO 8601, ``DD.MM.YYYY HH:MM:SS`` or ``MM/DD/YY``;
- whatever is wrong with one line is a ``Problem`` (line 1 is the header); what makes the whole
  file unreadable is a ``FileFormatError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

_NUMBER_CHARS = "-0123456789.,"
_LOCAL_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%m/%d/%y", "%m/%d/%Y")


class FileFormatError(ValueError):
    """The file cannot be read at all (empty, or a required column is missing)."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong on one line of a file (1 is the header)."""

    line: int
    message: str


def split_lines(text: str) -> list[str]:
    """The file's lines without line ends (no trailing empty line)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def header_index(header: list[str], required: tuple[str, ...]) -> dict[str, int]:
    """Column positions by trimmed, lower-cased name; FileFormatError if a required one is gone."""
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    missing = [name for name in required if name.lower() not in index]
    if missing:
        raise FileFormatError(f"required column(s) missing: {', '.join(missing)}")
    return index


def parse_amount(text: str, decimal_comma: bool) -> Decimal:
    """An amount in the file's local format; ValueError when it is not a plain number."""
    if not text or text.strip(_NUMBER_CHARS):
        raise ValueError(f"malformed amount {text!r}")
    group, point = (".", ",") if decimal_comma else (",", ".")
    if group in text:
        text = _ungroup(text, group, point)
    if point == ",":
        text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"malformed amount {text!r}") from None


def _ungroup(text: str, group: str, point: str) -> str:
    whole = text.split(point, 1)[0].lstrip("-")
    parts = whole.split(group)
    if not parts[0] or len(parts[0]) > 3 or any(len(p) != 3 for p in parts[1:]):
        raise ValueError(f"malformed amount {text!r}: {group!r} does not group thousands")
    return text.replace(group, "")


def guess_decimal_comma(text: str, comma_marketplace: bool) -> bool:
    """Whether one amount uses a decimal comma: the last separator decides, else the market."""
    comma, point = text.rfind(","), text.rfind(".")
    if comma >= 0 and point >= 0:
        return comma > point
    return comma >= 0 and comma_marketplace


def parse_time(text: str) -> datetime | None:
    """A UTC time in one of the formats Amazon's flat files use; None for an empty field."""
    text = text.strip()
    if not text:
        return None
    bare = text.removesuffix("UTC").strip()
    try:
        moment = datetime.fromisoformat(bare)
    except ValueError:
        moment = _local_time(bare)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _local_time(text: str) -> datetime:
    for pattern in _LOCAL_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r}")
