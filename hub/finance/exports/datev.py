"""DATEV-Format ``EXTF`` Buchungsstapel (header version 700, category 21, format version 13) of
an entity and a month. Pure.

Rules (DATEV's format description for the Buchungsstapel, developer.datev.de):
- line 1 is the header's 31 fields: ``"EXTF";700;21;"Buchungsstapel";13;`` created
  (``YYYYMMDDHHMMSSmmm``, UTC), imported (empty), origin ``"RE"``, exported by, imported by
  (empty), consultant, client, fiscal year start (``YYYYMMDD``), account length, date from, date
  to, label, initials, booking type 1 (financial accounting), accounting purpose 0, fixation 0
  (not locked, so the adviser can check), currency, reserved, derivative mark, reserved,
  reserved, chart (``"03"``/``"04"``), industry id, reserved, reserved, application info;
- line 2 holds the 125 column headings of format version 13, then one line per booking;
- fields are separated by ``;``, lines end with CRLF, text fields are quoted with ``"`` (a ``"``
  inside is doubled), amounts have a decimal comma and no thousands separator, and the file is
  Windows-1252 (DATEV's default character set: ISO-8859-1 / code page 1252); a character
  Windows-1252 cannot hold becomes ``?``;
- one file per month: bookings dated in another month are refused (``DatevError``);
- a booking in the entity's base currency: amount (positive) with "WKZ Umsatz" the base
  currency and columns 4 to 6 empty; a booking in another currency (foreign currency, DATEV's
  "Fremdwährung"): "Umsatz" stays in the booking currency and "WKZ Umsatz" names it, "Kurs" is
  the rate in DATEV's Mengennotierung (units of the booking currency per one unit of the base
  currency, as the ECB quotes it: the inverse of ``Converted.rate``), six decimals, decimal
  comma, 0 refused and at most four digits before the comma, "Basis-Umsatz" the amount in the
  base currency as ACORN converted it (``fx_amounts``: the rate of the day with its source) and
  "WKZ Basis-Umsatz" the base currency; debit/credit (``S``/``H``) of the
  clearing account (``Konto``) against the revenue or refund account (``Gegenkonto``): a sale
  debits clearing, a refund credits it; Belegdatum ``TTMM``; Belegfeld 1 the document id
  reduced to DATEV's characters (``[A-Za-z0-9_$%-/]``, 36 at most); Buchungstext at most 60;
  sales and refunds taxed in another EU country (OSS) carry the country and rate in
  "EU-Land u. UStID (Bestimmung)" and "EU-Steuersatz (Bestimmung)" on the OSS accounts;
- returned goods and facts without an amount (POS sales: the hub holds quantities only) are not
  booked;
- the revenue and refund accounts of a German rate are DATEV automatic accounts, so no BU key
  is written and DATEV splits the VAT itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from hub.errors import InputError
from hub.finance.entities import Accounts, Datev, Entity
from hub.finance.exports.facts import Fact, Period

ENCODING = "cp1252"
CRLF = "\r\n"
MAX_AMOUNT = Decimal("9999999999.99")
MAX_KURS = Decimal("9999.999999")  # DATEV's Kurs: four digits before the comma, six after
KURS_PLACES = Decimal("0.000001")
_BELEG = re.compile(r"[^A-Za-z0-9_$%\-/]")

_HEAD = [
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
]
_INFO = [f"Beleginfo - {part} {i}" for i in range(1, 9) for part in ("Art", "Inhalt")]
_MID = [
    "KOST1 - Kostenstelle",
    "KOST2 - Kostenstelle",
    "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)",
    "Abw. Versteuerungsart",
    "Sachverhalt L+L",
    "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer",
    "BU 49 Funktionsergänzung",
]
_EXTRA = [f"Zusatzinformation - {part} {i}" for i in range(1, 21) for part in ("Art", "Inhalt")]
_TAIL = [
    "Stück",
    "Gewicht",
    "Zahlweise",
    "Forderungsart",
    "Veranlagungsjahr",
    "Zugeordnete Fälligkeit",
    "Skontotyp",
    "Auftragsnummer",
    "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)",
    "EU-Land (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)",
    "EU-Steuersatz (Anzahlungen)",
    "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz",
    "Buchungs GUID",
    "KOST-Datum",
    "SEPA-Mandatsreferenz",
    "Skontosperre",
    "Gesellschaftername",
    "Beteiligtennummer",
    "Identifikationsnummer",
    "Zeichnernummer",
    "Postensperre bis",
    "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung",
    "Festschreibung",
    "Leistungsdatum",
    "Datum Zuord. Steuerperiode",
    "Fälligkeit",
    "Generalumkehr (GU)",
    "Steuersatz",
    "Land",
    "Abrechnungsreferenz",
    "BVV-Position",
    "EU-Land u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)",
    "Abw. Skontokonto",
]
COLUMNS: tuple[str, ...] = (*_HEAD, *_INFO, *_MID, *_EXTRA, *_TAIL)
assert len(COLUMNS) == 125  # format version 13
FILLED = 14  # bookings fill columns 1..14, then 40 and 41 for OSS
_AFTER_TEXT = ";" * (40 - FILLED)  # from column 14 to column 40
_TO_END = ";" * (len(COLUMNS) - 41)  # after column 41


class DatevError(InputError):
    """Facts or settings a DATEV file cannot be written from; the message names which."""


class Booking(NamedTuple):  # a tuple: 200,000 a month are made fast
    """One line of the Buchungsstapel."""

    amount: Decimal  # positive, in ``currency`` (the base currency when that is "")
    side: str  # S or H of ``account``
    account: int
    contra: int
    day: date
    document: str
    text: str
    eu_country: str = ""
    eu_rate: Decimal | None = None
    currency: str = ""  # WKZ Umsatz of a foreign currency booking ("": the base currency)
    kurs: Decimal | None = None  # units of ``currency`` per unit of the base currency
    base_amount: Decimal | None = None  # positive, the base currency


def quoted(text: str) -> str:
    """A DATEV text field: in double quotes, a quote inside doubled."""
    return '"' + text.replace('"', '""') + '"'


def amount_text(value: Decimal) -> str:
    """``1234,56``: two decimals, decimal comma, no thousands separator."""
    return f"{value:.2f}".replace(".", ",")


def kurs_text(value: Decimal) -> str:
    """``0,800000``: six decimals, decimal comma (DATEV's Kurs)."""
    return f"{value:.6f}".replace(".", ",")


def kurs_of(rate: Decimal) -> Decimal:
    """DATEV's Kurs (Mengennotierung) of ``Converted.rate`` (base units per currency unit)."""
    return (1 / rate).quantize(KURS_PLACES, rounding=ROUND_HALF_UP)


def settings_of(entity: Entity) -> Datev:
    """The entity's DATEV settings; DatevError when it has none."""
    if entity.datev is None:
        raise DatevError(
            f"entity {entity.id} has no DATEV settings (datev: in the entities document)", "entity"
        )
    return entity.datev


def bookings(entity: Entity, facts: Iterable[Fact]) -> Iterator[Booking]:
    """The bookings of sales and refunds (returned goods and facts without an amount are not
    booked)."""
    accounts = settings_of(entity).chart_accounts()
    contras: dict[tuple[str, bool, Decimal | None], int] = {}
    for fact in facts:
        if fact.kind == "return" or fact.gross is None:
            continue
        if fact.base is None:
            raise DatevError(
                f"{fact.kind} {fact.document} of {fact.day} has no exchange rate "
                f"for {fact.currency}: import ECB rates first",
                "period",
            )
        key = (fact.kind, fact.oss, fact.vat_rate)
        if key not in contras:
            contras[key] = _contra(accounts, fact)
        base = fact.base.base_amount
        foreign = fact.currency != fact.base.base_currency
        gross = fact.gross if foreign else base
        verb = "Verkauf" if fact.kind == "sale" else "Erstattung"
        yield Booking(
            abs(gross),
            "S" if gross >= 0 else "H",
            accounts.clearing,
            contras[key],
            fact.day,
            fact.document,
            f"{verb} {fact.sku} {fact.gross} {fact.currency}"[:60],
            fact.country if fact.oss else "",
            fact.vat_rate if fact.oss else None,
            fact.currency if foreign else "",
            kurs_of(fact.base.rate) if foreign else None,
            abs(base) if foreign else None,
        )


def _contra(accounts: Accounts, fact: Fact) -> int:
    """The revenue or refund account of a fact (see the module rules)."""
    if fact.oss:
        return accounts.oss_revenue if fact.kind == "sale" else accounts.oss_refund
    table = accounts.revenue if fact.kind == "sale" else accounts.refund
    rate = int(fact.vat_rate or 0)
    if rate not in table:
        raise DatevError(
            f"no DATEV {'revenue' if fact.kind == 'sale' else 'refund'} "
            f"account for the rate {rate} % ({fact.document})",
            "entity",
        )
    return table[rate]


def header(entity: Entity, period: Period, created: datetime, label: str) -> str:
    """Line 1: the 31 header fields (see the module rules)."""
    d = settings_of(entity)
    fields = [
        '"EXTF"',
        "700",
        "21",
        '"Buchungsstapel"',
        "13",
        created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",
        "",
        '"RE"',
        quoted("ACORN"),
        "",
        str(d.consultant),
        str(d.client),
        d.year_start(period.first).strftime("%Y%m%d"),
        str(d.account_length),
        period.first.strftime("%Y%m%d"),
        period.last.strftime("%Y%m%d"),
        quoted(label[:30]),
        quoted(d.initials),
        "1",
        "0",
        "0",
        quoted(entity.base_currency),
        "",
        '""',
        "",
        "",
        quoted(d.chart[-2:]),
        "",
        "",
        '""',
        '""',
    ]
    assert len(fields) == 31
    return ";".join(fields)


def line(b: Booking, currency: str) -> str:
    """One booking line of 125 fields."""
    for amount in (b.amount, b.base_amount or 0):
        if amount > MAX_AMOUNT:
            raise DatevError(f"{b.document}: {amount} is more than DATEV's ten digits", "period")
    if b.kurs is not None and not (0 < b.kurs <= MAX_KURS):
        raise DatevError(
            f"{b.document}: the rate {b.kurs} {b.currency} per {currency} does not fit DATEV's "
            "Kurs (more than 0, at most four digits before the comma)",
            "period",
        )
    beleg = _BELEG.sub("", b.document)[:36]
    text = b.text.replace("\r", " ").replace("\n", " ")
    eu = (
        f'"{b.eu_country}";{amount_text(b.eu_rate)}'
        if b.eu_country and b.eu_rate is not None
        else ";"
    )
    return (
        f'{amount_text(b.amount)};"{b.side}";{_currency_fields(b, currency)};'
        f"{b.account};{b.contra};;"
        f"{b.day.day:02d}{b.day.month:02d};"
        f'"{beleg}";;;{quoted(text)}{_AFTER_TEXT}{eu}{_TO_END}'
    )


def _currency_fields(b: Booking, base: str) -> str:
    """Columns 3 to 6: WKZ Umsatz, Kurs, Basis-Umsatz, WKZ Basis-Umsatz (module rules)."""
    if not b.currency or b.currency == base or b.kurs is None or b.base_amount is None:
        return f'"{base}";;;'
    return f'"{b.currency}";{kurs_text(b.kurs)};{amount_text(b.base_amount)};"{base}"'


def write(
    entity: Entity,
    period: Period,
    items: Iterable[Booking],
    created: datetime,
    label: str = "ACORN Buchungen",
) -> bytes:
    """The Buchungsstapel of ``period`` (a month) as Windows-1252 bytes."""
    if period.first.day != 1 or period.first.month != period.last.month:
        raise DatevError("a DATEV Buchungsstapel holds one month (period 2026-11)", "period")
    lines = [header(entity, period, created, label), ";".join(COLUMNS)]
    for b in items:
        if not (period.first <= b.day <= period.last):
            raise DatevError(f"{b.document} of {b.day} lies outside {period.label}", "period")
        lines.append(line(b, entity.base_currency))
    return (CRLF.join(lines) + CRLF).encode(ENCODING, errors="replace")
