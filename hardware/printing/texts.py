"""Receipt wording in each store language, and text fitting for fixed-width paper.

Rules:

- ``TEXTS`` holds every printed phrase per language (``en``, ``de``, ``zh``, ``ja``); each
  language has every key (a test checks it). A printer that cannot print a language's script
  gets the English phrases instead (see ``PrinterProfile.can_print``).
- Money is a ``Decimal`` with an ISO 4217 code, printed with the currency's minor units (0 for
  JPY and KRW, else 2), half-up, grouped in thousands with the language's separators.
- Local time is the store's zone, from a UTC instant; the zone abbreviation follows it.
- Width is counted in printer cells: East Asian wide and full-width characters take two.
  Wrapping breaks Latin text at spaces and CJK text between characters, never putting closing
  punctuation (``。``, ``、``, ``)`` ...) at the start of a line.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Return receipt",
        "date": "Date",
        "return": "Return",
        "order": "Order",
        "items": "Items",
        "total": "Total",
        "next": "What happens next",
        "next_body": "We check your item within 3 working days. Once it is approved, the refund "
        "goes to your original payment method. Please keep this receipt until then.",
        "grade": "Grade",
        "disposition": "Disposition",
    },
    "de": {
        "title": "Rückgabebeleg",
        "date": "Datum",
        "return": "Rückgabe",
        "order": "Bestellung",
        "items": "Artikel",
        "total": "Summe",
        "next": "Wie es weitergeht",
        "next_body": "Wir prüfen den Artikel innerhalb von 3 Werktagen. Nach der Freigabe "
        "erstatten wir den Betrag auf Ihr ursprüngliches Zahlungsmittel. Bitte bewahren Sie "
        "diesen Beleg bis dahin auf.",
        "grade": "Zustand",
        "disposition": "Verbleib",
    },
    "zh": {
        "title": "退货回执",
        "date": "日期",
        "return": "退货单号",
        "order": "订单号",
        "items": "商品",
        "total": "合计",
        "next": "后续流程",
        "next_body": "我们将在3个工作日内检查商品。审核通过后，退款将原路退回您的支付方式。"
        "在此之前请妥善保管本回执。",
        "grade": "等级",
        "disposition": "处理方式",
    },
    "ja": {
        "title": "返品受付票",
        "date": "日時",
        "return": "返品番号",
        "order": "注文番号",
        "items": "商品",
        "total": "合計",
        "next": "今後の流れ",
        "next_body": "3営業日以内に商品を確認いたします。承認後、元のお支払い方法に返金いたします。"
        "それまで本票を保管してください。",
        "grade": "グレード",
        "disposition": "処理",
    },
}

_SEPARATORS = {"de": (".", ",")}  # language -> (thousands, decimal); default ("," ".")
_DATE_FORMATS = {"de": "%d.%m.%Y %H:%M", "ja": "%Y/%m/%d %H:%M"}
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "HUF": 2, "KWD": 3, "BHD": 3}
_NO_LINE_START = set("。、，．！？）」』】〕,.!?);:%ーぁぃぅぇぉっゃゅょァィゥェォッャュョ")


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``1,234.50 EUR`` (``1.234,50 EUR`` in German), rounded to the currency's minor units."""
    places = _MINOR_UNITS.get(currency, 2)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{places}f}"
    thousands, decimal = _SEPARATORS.get(language, (",", "."))
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return f"{text} {currency}"


def format_local_time(instant: datetime, zone: str, language: str) -> str:
    """The instant in the store's zone, e.g. ``2025-03-30 14:05 CEST``."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local.strftime(_DATE_FORMATS.get(language, '%Y-%m-%d %H:%M'))} {local.tzname()}"


def char_width(char: str) -> int:
    """Printer cells one character takes: 2 for East Asian wide/full-width, else 1."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Printer cells the text takes."""
    return sum(char_width(char) for char in text)


def wrap(text: str, width: int) -> list[str]:
    """Greedy wrap to ``width`` cells: Latin at spaces, CJK between characters."""
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if display_width((line + token).rstrip()) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = token.lstrip()
        while display_width(line) > width:
            cut = _fit(line, width)
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def two_columns(left: str, right: str, width: int) -> list[str]:
    """``left`` and ``right`` on one line, or ``left`` wrapped and ``right`` flush right below."""
    gap = width - display_width(left) - display_width(right)
    if gap >= 1:
        return [left + " " * gap + right]
    return [*wrap(left, width), " " * max(0, width - display_width(right)) + right]


def _tokens(text: str) -> list[str]:
    """Words with their trailing spaces; each wide character alone, keeping its punctuation."""
    tokens: list[str] = []
    for char in text:
        wide = char_width(char) == 2
        if tokens and char in _NO_LINE_START:
            tokens[-1] += char
        elif wide or not tokens or _ends_token(tokens[-1], char):
            tokens.append(char)
        else:
            tokens[-1] += char
    return tokens


def _ends_token(previous: str, char: str) -> bool:
    last = previous[-1]
    return char_width(last) == 2 or (last.isspace() and not char.isspace())


def _fit(text: str, width: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += char_width(char)
        if used > width:
            return max(1, index)
    return len(text)
