"""The DATEV EXTF Buchungsstapel checked field by field against DATEV's format description
(header positions, the expression of each column, Windows-1252, CRLF), on the seeded month.

Hand-computed bookings of entity ``de`` (SKR03, clearing 1360) in November 2026:
  0211 o-uk1    40,00 GBP S 8120  Kurs 0,800000 (GBP per EUR, the ECB quote), Basis-Umsatz
                                50,00 EUR (40.00 x 1.25), a UK sale (no EU VAT)
  0211 rf-uk    40,00 GBP H 8705  its refund on the same day, the same Kurs and 50,00 EUR
  0311 o-de1   119,00 S 8400  2 x 59.50, German 19 %
  0511 o-fr1    24,00 S 8320  "FR";20,00 (OSS)
  0611 o-fr2    30,00 S 8320  "FR";20,00
  0711 o-it1    12,20 S 8320  "IT";22,00
  1011 rf-1     11,90 H 8720  a store refund, German 19 %
  1211 rf-fr    12,00 H 8724  "FR";20,00
The cancelled order, October's orders, the rejected refund, the US entity's order and the
returned goods are not booked.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from hub.errors import InputError
from hub.finance.exports import datev, files
from tests.finance.exports_seed import seed

NOW = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
# the expressions of DATEV's format description, per column (1-based)
EXPRESSIONS = {
    1: r"^\d{1,10}[,]\d{2}$",
    2: r'^["](S|H)["]$',
    3: r'^["]([A-Z]{3})["]$',
    4: r"^\d{1,4}[,]\d{6}$",
    5: r"^\d{1,10}[,]\d{2}$",
    6: r'^["]([A-Z]{3})["]$',
    7: r"^(\d{1,9})$",
    8: r"^(\d{1,9})$",
    10: r"^(0[1-9]|[1-2]\d|3[0-1])(0[1-9]|1[0-2])$",
    11: r'^(["][\w$%\-\/]{0,36}["])$',
    14: r'^(["].{0,60}["])$',
    40: r'^(["][A-Z]{2}["])$',
    41: r"^(\d{1,2}[,]\d{2})$",
}
EXPECTED = [  # amount, S/H, Konto, Gegenkonto, Belegdatum, Belegfeld 1, EU country, EU rate
    ("40,00", "S", "1360", "8120", "0211", "o-uk1", "", ""),
    ("40,00", "H", "1360", "8705", "0211", "s1/rf-uk", "", ""),
    ("119,00", "S", "1360", "8400", "0311", "o-de1", "", ""),
    ("24,00", "S", "1360", "8320", "0511", "o-fr1", "FR", "20,00"),
    ("30,00", "S", "1360", "8320", "0611", "o-fr2", "FR", "20,00"),
    ("12,20", "S", "1360", "8320", "0711", "o-it1", "IT", "22,00"),
    ("11,90", "H", "1360", "8720", "1011", "s1/rf-1", "", ""),
    ("12,00", "H", "1360", "8724", "1211", "s1/rf-fr", "FR", "20,00"),
]


def _file(engine: Engine) -> bytes:
    seed(engine)
    made = files.make(engine, "datev", "de", "2026-11", NOW, use_bundle=False)
    assert made.name == "EXTF_Buchungsstapel_de_2026-11.csv"
    assert made.rows == len(EXPECTED)
    return made.data


def test_the_file_is_windows_1252_with_crlf_line_ends(engine: Engine) -> None:
    data = _file(engine)
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") == 2 + len(EXPECTED)
    assert b"\r\r" not in data
    # "ü" of "Gegenkonto (ohne BU-Schlüssel)" is one byte 0xFC, not UTF-8's two
    assert "Schlüssel".encode("cp1252") in data
    assert "Schlüssel".encode() not in data
    data.decode("cp1252")  # the whole file is Windows-1252


def test_header_line_holds_the_31_fields_in_their_positions(engine: Engine) -> None:
    header = _file(engine).decode("cp1252").split("\r\n")[0].split(";")
    assert len(header) == 31
    assert header[:5] == ['"EXTF"', "700", "21", '"Buchungsstapel"', "13"]
    assert header[5] == "20261201083015123"  # created, YYYYMMDDHHMMSSmmm (UTC)
    assert re.fullmatch(r"\d{17}", header[5])
    assert header[6] == ""  # imported: set by DATEV
    assert header[7] == '"RE"'
    assert header[9] == ""  # imported by: set by DATEV
    assert (header[10], header[11]) == ("29098", "55003")  # consultant, client
    assert header[12] == "20260701"  # fiscal year start (July)
    assert header[13] == "4"  # account length
    assert (header[14], header[15]) == ("20261101", "20261130")
    assert re.fullmatch(r'"[^"]{0,30}"', header[16])
    assert header[17] == '"AC"'
    assert (header[18], header[19], header[20]) == ("1", "0", "0")  # FiBu, purpose, not fixed
    assert header[21] == '"EUR"'
    assert header[26] == '"03"'  # SKR03


def test_line_two_holds_the_125_column_headings_of_format_version_13(engine: Engine) -> None:
    headings = _file(engine).decode("cp1252").split("\r\n")[1].split(";")
    assert len(headings) == 125
    named = {
        1: "Umsatz (ohne Soll/Haben-Kz)",
        2: "Soll/Haben-Kennzeichen",
        3: "WKZ Umsatz",
        7: "Konto",
        8: "Gegenkonto (ohne BU-Schlüssel)",
        9: "BU-Schlüssel",
        10: "Belegdatum",
        11: "Belegfeld 1",
        14: "Buchungstext",
        40: "EU-Land u. UStID (Bestimmung)",
        41: "EU-Steuersatz (Bestimmung)",
        114: "Festschreibung",
        115: "Leistungsdatum",
        117: "Fälligkeit",
        118: "Generalumkehr (GU)",
        125: "Abw. Skontokonto",
    }
    for position, name in named.items():
        assert headings[position - 1] == name, position


def test_each_booking_matches_the_column_expressions_and_the_hand_computed_figures(
    engine: Engine,
) -> None:
    lines = _file(engine).decode("cp1252").split("\r\n")[2:-1]
    assert len(lines) == len(EXPECTED)
    for line, expected in zip(lines, EXPECTED, strict=True):
        fields = line.split(";")  # no text of the seed holds a semicolon
        assert len(fields) == 125
        for column, value in enumerate(fields, start=1):
            if column in EXPRESSIONS and value:
                assert re.fullmatch(EXPRESSIONS[column], value, re.ASCII), (column, value)
            elif column not in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 14):
                assert value == "", (column, value)  # nothing else is written
        amount, side, konto, gegen, day, beleg, country, rate = expected
        assert fields[0] == amount
        assert fields[1] == f'"{side}"'
        if beleg in ("o-uk1", "s1/rf-uk"):  # pounds: booking currency, Kurs, euro amount
            assert fields[2:6] == ['"GBP"', "0,800000", "50,00", '"EUR"']
        else:  # in the base currency: no Kurs, no Basis-Umsatz
            assert fields[2:6] == ['"EUR"', "", "", ""]
        assert (fields[6], fields[7]) == (konto, gegen)
        assert fields[8] == ""  # automatic accounts: no BU key
        assert fields[9] == day
        assert fields[10] == f'"{beleg}"'
        assert fields[39] == (f'"{country}"' if country else "")
        assert fields[40] == rate
        assert len(fields[6]) <= 5 and len(fields[7]) <= 5  # account length 4 (+1)


def test_a_foreign_currency_booking_fills_kurs_and_basis_umsatz_by_datev_rules() -> None:
    usd = datev.Booking(Decimal("20.00"), "S", 1360, 8120, date(2026, 11, 4), "o-us", "x",
                        currency="USD", kurs=datev.kurs_of(Decimal(1) / Decimal("1.1")),
                        base_amount=Decimal("18.18"))
    fields = datev.line(usd, "EUR").split(";")
    assert fields[:6] == ["20,00", '"S"', '"USD"', "1,100000", "18,18", '"EUR"']
    for column in (4, 5, 6):
        assert re.fullmatch(EXPRESSIONS[column], fields[column - 1], re.ASCII)
    assert datev.kurs_of(Decimal("1.25")) == Decimal("0.800000")
    too_weak = usd._replace(kurs=Decimal("10000.5"))
    with pytest.raises(datev.DatevError, match="Kurs"):
        datev.line(too_weak, "EUR")
    with pytest.raises(datev.DatevError, match="ten digits"):
        datev.line(usd._replace(base_amount=Decimal("10000000000.00")), "EUR")


def test_text_is_quoted_doubled_and_cut_and_foreign_characters_become_question_marks() -> None:
    booking = datev.Booking(
        Decimal("1234567.5"),
        "S",
        1360,
        8400,
        date(2026, 11, 3),
        'AB-1/2 "x" #7',
        'Verkauf "Größe" Ω ' + "x" * 80,
    )
    line = datev.line(booking, "EUR")
    fields = line.split(";")
    assert fields[0] == "1234567,50"
    assert fields[10] == '"AB-1/2x7"'  # only DATEV's characters in Belegfeld 1
    assert fields[13].startswith('"Verkauf ""Größe"" Ω')
    encoded = line.encode(datev.ENCODING, errors="replace")
    assert 'Verkauf ""Größe"" ?'.encode("cp1252") in encoded


def test_what_datev_cannot_take_is_refused_with_the_field_named(engine: Engine) -> None:
    seed(engine)
    with pytest.raises(InputError) as quarter:
        files.make(engine, "datev", "de", "2026-Q4", NOW, use_bundle=False)
    assert quarter.value.field == "period"
    with pytest.raises(InputError) as no_settings:
        files.make(engine, "datev", "us", "2026-11", NOW, use_bundle=False)
    assert no_settings.value.field == "entity"
    with pytest.raises(InputError) as unknown:
        files.make(engine, "datev", "nobody", "2026-11", NOW, use_bundle=False)
    assert unknown.value.field == "entity"
    with pytest.raises(datev.DatevError):
        datev.line(
            datev.Booking(Decimal("10000000000.00"), "S", 1, 2, date(2026, 11, 1), "x", "y"), "EUR"
        )


def test_a_month_without_a_rate_for_a_foreign_sale_is_refused_not_guessed(engine: Engine) -> None:
    seed(engine)
    with pytest.raises(datev.DatevError, match="no exchange rate"):
        # December: the GBP order of the 1st has no quote on or before it beyond November's,
        # so add one with no quote at all (JPY)
        from tests.finance.exports_seed import order

        order(
            engine,
            "o-jp",
            "A1F83G8C2ARO7P",
            datetime(2026, 12, 1, tzinfo=UTC),
            [("SKU-J", 1, "1000", "JPY")],
        )
        files.make(engine, "datev", "de", "2026-12", NOW, use_bundle=False)
