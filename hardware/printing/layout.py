"""Receipt and label layouts: plain input dataclasses in, ESC/POS bytes out (no I/O).

Rules:

- ``Receipt``, ``ReceiptItem`` and ``ItemLabel`` are this package's own frozen inputs (not
  protocol types) and are validated when built: an aware datetime, a real IANA zone, a known
  language, ``Decimal`` prices with an ISO 4217 code, a return id of printable ASCII.
- Bytes are built with python-escpos's ``Dummy`` printer; text goes through
  ``PrinterProfile.encode`` (see ``profiles``), barcodes and QR codes are rendered by the printer
  itself (``GS k`` Code 128 set B, ``GS ( k`` QR model 2), never as raster images.
- The return id is printed three ways: text, QR and Code 128. If the id is too long for a
  readable Code 128 on this paper, the barcode is left out and the QR and text remain.
- Control characters in any text (store name, descriptions) are printed as spaces: item data
  comes from outside, and an ``ESC p`` in a description must not open the cash drawer.
- A language the printer cannot print falls back to English phrases; names and descriptions
  are still sent, with ``?`` for what the printer lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy

from hardware.errors import ConfigError, PrinterError
from hardware.printing.profiles import PrinterProfile
from hardware.printing.texts import (
    TEXTS,
    format_local_time,
    format_money,
    two_columns,
    wrap,
)

_RETURN_ID = re.compile(r"^[\x21-\x7e]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _check_return_id(value: str) -> None:
    if not _RETURN_ID.match(value):
        raise ConfigError(f"return id must be 1-64 printable ASCII characters, got {value!r}")


def _check_language(value: str) -> None:
    if value not in TEXTS:
        raise ConfigError(f"no receipt texts for language {value!r}; have {', '.join(TEXTS)}")


@dataclass(frozen=True)
class ReceiptItem:
    """One returned line: what, how many, unit price."""

    description: str
    quantity: int
    unit_price: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.unit_price, Decimal):
            raise ConfigError(f"unit price must be a Decimal, got {type(self.unit_price).__name__}")
        if not self.unit_price.is_finite():
            raise ConfigError(f"unit price must be a finite amount, got {self.unit_price}")
        if self.quantity < 1:
            raise ConfigError(f"quantity must be at least 1, got {self.quantity}")
        if not _CURRENCY.match(self.currency):
            raise ConfigError(f"currency must be an ISO 4217 code, got {self.currency!r}")

    @property
    def line_total(self) -> Decimal:
        """Quantity times unit price."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Receipt:
    """A customer's drop-off receipt."""

    store_name: str
    return_id: str
    created_at: datetime
    time_zone: str
    language: str = "en"
    items: tuple[ReceiptItem, ...] = ()
    store_lines: tuple[str, ...] = ()
    order_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "store_lines", tuple(self.store_lines))
        _check_return_id(self.return_id)
        _check_language(self.language)
        if self.created_at.tzinfo is None:
            raise ConfigError("receipt time must be timezone-aware (UTC)")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigError(f"unknown time zone {self.time_zone!r}") from err


@dataclass(frozen=True)
class ItemLabel:
    """A label stuck on a returned item after QC."""

    return_id: str
    grade: str
    disposition: str
    description: str = ""
    language: str = "en"
    extra_lines: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_return_id(self.return_id)
        _check_language(self.language)


class _Ticket:
    """A print job under construction: Dummy for commands, our encoder for text."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self.columns = profile.paper.columns
        self._dummy = Dummy(profile=profile.escpos_profile)
        self._style_now: tuple[str, bool, bool] | None = None
        self._raw(profile.job_prefix())

    def _raw(self, data: bytes) -> None:
        self._dummy._raw(data)  # python-escpos's one output hook

    def _style(self, align: str, bold: bool = False, big: bool = False) -> None:
        if self._style_now == (align, bold, big):
            return
        self._style_now = (align, bold, big)
        self._dummy.set(
            align=align,
            bold=bold,
            double_width=big,
            double_height=big,
            normal_textsize=not big,
        )

    def _text(self, text: str) -> None:
        # Control characters in a name or description must never reach the printer as commands.
        self._raw(self.profile.encode(_CONTROL.sub(" ", text)) + b"\n")

    def line(self, text: str = "", *, align: str = "left", bold: bool = False) -> None:
        self._style(align, bold)
        self._text(text)

    def big(self, text: str) -> None:
        self._style("center", bold=True, big=True)
        for part in wrap(_CONTROL.sub(" ", text), self.columns // 2):
            self._text(part)

    def paragraph(self, text: str, *, align: str = "left", bold: bool = False) -> None:
        for part in wrap(_CONTROL.sub(" ", text), self.columns):
            self.line(part, align=align, bold=bold)

    def pair(self, left: str, right: str, *, bold: bool = False) -> None:
        left, right = _CONTROL.sub(" ", left), _CONTROL.sub(" ", right)
        for part in two_columns(left, right, self.columns):
            self.line(part, bold=bold)

    def rule(self) -> None:
        self.line("-" * self.columns)

    def qr(self, data: str) -> None:
        self._style("center")
        self._dummy.qr(data, native=True, size=6)
        self._raw(b"\n")

    def code128(self, data: str) -> None:
        modules = 11 * (len(data) + 3) + 2 + 20  # symbols + start/check/stop + quiet zones
        width = min(3, self.profile.paper.dots // modules)
        if width < 2:
            return
        self._style("center")
        # _hw_barcode, not barcode(): barcode() prints to stdout and may fall back to an image.
        self._dummy._hw_barcode(
            "{B" + data.replace("{", "{{"),
            "CODE128",
            height=64,
            width=width,
            pos="BELOW",
            function_type="B",
        )
        self._raw(b"\n")

    def finish(self) -> bytes:
        self._dummy.cut()
        return bytes(self._dummy.output)


def render_receipt(receipt: Receipt, profile: PrinterProfile) -> bytes:
    """The drop-off receipt as ESC/POS bytes for this printer."""
    texts = TEXTS[receipt.language if profile.can_print(receipt.language) else "en"]
    language = receipt.language
    try:
        ticket = _Ticket(profile)
        _receipt_header(ticket, receipt, texts)
        _receipt_items(ticket, receipt, texts, language)
        _return_codes(ticket, receipt.return_id)
        ticket.line(texts["next"], bold=True)
        ticket.paragraph(texts["next_body"])
        return ticket.finish()
    except EscposError as err:
        raise PrinterError(f"cannot lay out receipt {receipt.return_id}: {err}") from err


def _receipt_header(ticket: _Ticket, receipt: Receipt, texts: dict[str, str]) -> None:
    ticket.big(receipt.store_name)
    for store_line in receipt.store_lines:
        ticket.paragraph(store_line, align="center")
    ticket.line()
    ticket.line(texts["title"], align="center", bold=True)
    when = format_local_time(receipt.created_at, receipt.time_zone, receipt.language)
    ticket.pair(texts["date"], when)
    ticket.pair(texts["return"], receipt.return_id, bold=True)
    if receipt.order_id:
        ticket.pair(texts["order"], receipt.order_id)


def _receipt_items(ticket: _Ticket, receipt: Receipt, texts: dict[str, str], lang: str) -> None:
    if not receipt.items:
        return
    ticket.rule()
    ticket.line(texts["items"], bold=True)
    for item in receipt.items:
        amount = format_money(item.line_total, item.currency, lang)
        ticket.pair(f"{item.quantity} x {item.description}", amount)
    currencies = {item.currency for item in receipt.items}
    if len(currencies) == 1:
        total = sum((item.line_total for item in receipt.items), Decimal(0))
        ticket.rule()
        ticket.pair(texts["total"], format_money(total, currencies.pop(), lang), bold=True)


def _return_codes(ticket: _Ticket, return_id: str) -> None:
    ticket.line()
    ticket.qr(return_id)
    ticket.code128(return_id)
    ticket.line()


def render_label(label: ItemLabel, profile: PrinterProfile) -> bytes:
    """The item label (return id barcode, grade, disposition) as ESC/POS bytes."""
    texts = TEXTS[label.language if profile.can_print(label.language) else "en"]
    try:
        ticket = _Ticket(profile)
        ticket.big(label.return_id)
        ticket.code128(label.return_id)
        ticket.pair(texts["grade"], _shout(label.grade), bold=True)
        ticket.pair(texts["disposition"], _shout(label.disposition), bold=True)
        if label.description:
            ticket.paragraph(label.description)
        for extra in label.extra_lines:
            ticket.paragraph(extra)
        return ticket.finish()
    except EscposError as err:
        raise PrinterError(f"cannot lay out label {label.return_id}: {err}") from err


def render_test_page(profile: PrinterProfile, sample_id: str = "RT-TEST") -> bytes:
    """A page proving paper width, code page, Code 128 and QR work (``acorn-edge print-test``)."""
    ticket = _Ticket(profile)
    ticket.line("ACORN printer test", align="center", bold=True)
    kanji = profile.kanji.value
    ticket.line(f"{profile.paper.name} {profile.code_page.name} kanji:{kanji}")
    ticket.line("".join(str(i % 10) for i in range(1, ticket.columns + 1)))
    ticket.line("ÄÖÜ äöü ß € 1.234,50")
    _return_codes(ticket, sample_id)
    return ticket.finish()


def render_notice(title: str, lines: list[tuple[str, str]], qr: str,
                  profile: PrinterProfile) -> bytes:
    """A page with a title, label/value lines and a QR code (e.g. the "store ready" page)."""
    try:
        ticket = _Ticket(profile)
        ticket.big(title)
        ticket.rule()
        for label, value in lines:
            ticket.pair(label, value)
        ticket.line()
        ticket.qr(qr)
        ticket.line(qr, align="center")
        return ticket.finish()
    except EscposError as err:
        raise PrinterError(f"cannot lay out the page {title!r}: {err}") from err


def _shout(value: str) -> str:
    return value.replace("_", " ").upper()
