"""ECB euro reference rates: reading ECB's files and crossing two rates through the euro. Pure.

Rules:
- a quote is ECB's: ``1 EUR = per_euro <currency>`` on ``day`` (a TARGET business day), from
  ``source`` (a sentence naming where the number came from); EUR itself is 1 on every day;
- ``parse_csv`` reads ``eurofxref-hist.csv`` / ``eurofxref.csv`` (``Date,USD,JPY,...`` with
  ``N/A`` or empty cells where a currency had no rate; dates ``2024-06-03`` or ``3 June 2024``);
  ``parse_xml`` reads ``eurofxref-daily.xml`` / ``eurofxref-hist.xml`` (``Cube time=`` holding
  ``Cube currency= rate=``). Anything else is an ``FxFileError`` naming the line or element,
  never a partial silent read; a file with no rate at all is an error too;
- rates are exact ``Decimal`` text as ECB wrote them, positive and finite; currencies are
  three upper-case letters;
- ``cross``: 1 ``currency`` = ``base.per_euro / quote.per_euro`` ``base``, to 10 significant
  digits without trailing zeros (ECB's own figure when ``currency`` is EUR), as of the older of
  the two days; the source says when it was crossed through the euro.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation

ECB = "ECB euro foreign exchange reference rate"
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CROSS = Context(prec=10)
_MISSING = {"", "N/A", "NA", "-"}


class FxFileError(ValueError):
    """An ECB rates file that cannot be read: the message names where and why."""


@dataclass(frozen=True, slots=True)
class Quote:
    """``1 EUR = per_euro currency`` on ``day``, per ``source``."""

    currency: str
    per_euro: Decimal
    day: date
    source: str


@dataclass(frozen=True, slots=True)
class EcbDay:
    """One day of an ECB file: currency -> units per euro."""

    day: date
    rates: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class Crossed:
    """``1 currency = rate base``, as of ``day``, per ``source``."""

    currency: str
    base: str
    rate: Decimal
    day: date
    source: str


def euro(day: date, source: str) -> Quote:
    """The euro's own quote: 1 EUR = 1 EUR."""
    return Quote("EUR", Decimal(1), day, source)


def cross(quote: Quote, base: Quote) -> Crossed:
    """1 ``quote.currency`` in ``base.currency`` (see the module rules)."""
    if quote.currency == "EUR":
        rate = base.per_euro  # ECB's own figure, as ECB wrote it
    else:
        rate = _CROSS.divide(base.per_euro, quote.per_euro).normalize()
        if rate.as_tuple().exponent > 0:  # type: ignore[operator]
            rate = rate.quantize(Decimal(1))  # 1E+2 -> 100
    day = min(quote.day, base.day)
    source = quote.source if quote.source == base.source else f"{quote.source}; {base.source}"
    if "EUR" not in (quote.currency, base.currency):
        source = f"{source} (crossed through EUR)"
    return Crossed(quote.currency, base.currency, rate, day, source)


def _day(text: str, where: str) -> date:
    text = text.strip()
    for shape in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text, shape).date()
        except ValueError:
            continue
    raise FxFileError(f"{where}: {text!r} is not a date (2024-06-03 or 3 June 2024)")


def _rate(text: str, where: str) -> Decimal | None:
    text = text.strip()
    if text in _MISSING:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FxFileError(f"{where}: {text!r} is not a rate") from None
    if not value.is_finite() or value <= 0:
        raise FxFileError(f"{where}: a rate must be a positive number, got {text!r}")
    return value


def _currency(text: str, where: str) -> str:
    code = text.strip()
    if not _CURRENCY.match(code):
        raise FxFileError(f"{where}: {code!r} is not a currency code (three capital letters)")
    return code


def parse_csv(text: str) -> list[EcbDay]:
    """Every day of an ECB CSV file (see the module rules)."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header or header[0].strip().lower() != "date":
        raise FxFileError("line 1: an ECB CSV file starts with Date,USD,JPY,...")
    codes = [_currency(c, f"line 1, column {i + 2}") if c.strip() else ""
             for i, c in enumerate(header[1:])]
    days: list[EcbDay] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {number}"
        if len(row) - 1 > len(codes) and any(c.strip() for c in row[len(codes) + 1:]):
            raise FxFileError(f"{where}: more values than the header names currencies")
        rates = {}
        for code, cell in zip(codes, row[1:], strict=False):
            value = _rate(cell, f"{where}, {code or 'unnamed column'}")
            if value is not None:
                if not code:
                    raise FxFileError(f"{where}: a rate in a column without a currency")
                rates[code] = value
        days.append(EcbDay(_day(row[0], where), rates))
    return _checked(days)


def parse_xml(data: bytes) -> list[EcbDay]:
    """Every day of an ECB XML file (see the module rules)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise FxFileError(f"not well-formed XML ({err})") from None
    days: list[EcbDay] = []
    for element in root.iter():
        if _local(element.tag) != "Cube" or "time" not in element.attrib:
            continue
        where = f"<Cube time={element.attrib['time']!r}>"
        rates = {}
        for child in element:
            if _local(child.tag) != "Cube":
                continue
            code = _currency(child.attrib.get("currency", ""), where)
            value = _rate(child.attrib.get("rate", ""), f"{where} {code}")
            if value is not None:
                rates[code] = value
        days.append(EcbDay(_day(element.attrib["time"], where), rates))
    return _checked(days)


def parse_file(name: str, data: bytes) -> list[EcbDay]:
    """An ECB file by its content: XML when it starts with ``<``, CSV otherwise."""
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return parse_xml(stripped)
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        raise FxFileError(f"{name} is neither ECB XML nor UTF-8 CSV text") from None
    return parse_csv(text)


def quotes(days: list[EcbDay], source: str) -> Iterator[Quote]:
    """The quotes of ``days``, each with ``source``."""
    for day in days:
        for code, value in day.rates.items():
            yield Quote(code, value, day.day, source)


def _checked(days: list[EcbDay]) -> list[EcbDay]:
    if not any(day.rates for day in days):
        raise FxFileError("the file holds no rate")
    return days


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
