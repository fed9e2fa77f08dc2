"""The transaction journal of the seeded month as CSV and XLSX, read back (csv, openpyxl) equal
to the facts; no personal data in either."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import Engine

from hub.errors import InputError
from hub.finance.exports import files, journal
from hub.finance.exports.facts import Period, parse_period
from hub.finance.exports.store import facts
from tests.finance.exports_seed import seed

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PERSONAL = ("Erika", "staff-anna", "boss-bert", "cust-erika", "b" * 64, "kaputt")
D = Decimal


def _facts(engine: Engine) -> list[list[object]]:
    _entity, found = facts(engine, "de", parse_period("2026-11"), use_bundle=False)
    return [journal.row("de", f) for f in found]


def test_the_csv_reads_back_equal_to_the_facts(engine: Engine) -> None:
    seed(engine)
    made = files.make(engine, "journal", "de", "2026-11", NOW, use_bundle=False)
    assert made.name == "journal-de-2026-11.csv"
    text = made.data.decode("utf-8")
    assert "\r\n" in text and not any(p in text for p in PERSONAL)
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = _facts(engine)
    assert len(rows) == len(expected) == 9  # 5 sales, 3 refunds, 1 returned line
    for got, want in zip(rows, expected, strict=True):
        assert [got[c] for c in journal.COLUMNS] == [
            format(v, "f") if isinstance(v, Decimal) else str(v) for v in want
        ]
    by_doc = {(r["kind"], r["document"]): r for r in rows}
    uk = by_doc["sale", "o-uk1"]
    assert (uk["gross"], uk["currency"], uk["base_gross"], uk["rate"], uk["rate_day"]) == (
        "40.00",
        "GBP",
        "50.00",
        "1.25",
        "2026-11-02",
    )
    assert uk["rate_source"] == "test ECB file"
    de = by_doc["sale", "o-de1"]
    assert (de["net"], de["vat"], de["vat_rate"], de["oss"]) == ("100.00", "19.00", "19", "no")
    assert by_doc["refund", "s1/rf-fr"]["gross"] == "-12.00"
    assert by_doc["return", "s1/R-rf-1"]["sku"] == "SKU-A"
    assert ("sale", "o-cx") not in by_doc and ("refund", "s1/rf-rej") not in by_doc


def test_the_xlsx_reads_back_equal_to_the_facts(engine: Engine) -> None:
    seed(engine)
    made = files.make(engine, "journal", "de", "2026-11", NOW, fmt="xlsx", use_bundle=False)
    assert made.name.endswith(".xlsx")
    book = load_workbook(io.BytesIO(made.data), read_only=True)
    sheet = book["journal"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    assert rows[0] == list(journal.COLUMNS)
    expected = _facts(engine)
    assert len(rows) - 1 == len(expected)
    for got, want in zip(rows[1:], expected, strict=True):
        for value, fact in zip(got, want, strict=True):
            if isinstance(fact, Decimal):
                assert D(str(value)) == fact
            elif isinstance(fact, date):
                assert value.date() == fact
            else:
                assert (value if value is not None else "") == fact
    flat = " ".join(str(v) for r in rows for v in r)
    assert not any(p in flat for p in PERSONAL)


@pytest.mark.parametrize("period", ["2026-13", "0000-01", "2026-Q5", "2026-1", "26-11", ""])
def test_a_malformed_period_is_refused(engine: Engine, period: str) -> None:
    with pytest.raises(InputError) as refused:
        files.make(engine, "journal", "de", period, NOW, use_bundle=False)
    assert refused.value.field == "period"


def test_periods_are_months_and_quarters_with_their_days() -> None:
    assert parse_period("2028-02") == Period("2028-02", date(2028, 2, 1), date(2028, 2, 29))
    assert parse_period("2026-Q4") == Period("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert parse_period("2026-11").quarter() == parse_period("2026-Q4")
