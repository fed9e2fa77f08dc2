"""The EU OSS summary of the seeded fourth quarter against hand-computed sums.

Entity ``de`` (Germany, OSS) in 2026-Q4, gross prices including VAT:
  FR 20 %: sales o-fr-oct 36.00 -> 30.00 + 6.00, o-fr1 24.00 -> 20.00 + 4.00,
           o-fr2 30.00 -> 25.00 + 5.00 (the cancelled o-cx does not count): 75.00 net, 15.00 VAT;
           refund rf-fr 12.00 -> -10.00 - 2.00; after refunds 65.00 net, 13.00 VAT
  IT 22 %: sale o-it1 12.20 -> 10.00 + 2.20, no refund
  Germany itself (o-de1, o-oct, rf-1) and the UK (outside the EU) are not OSS.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from hub.errors import InputError
from hub.finance.exports import files, oss
from hub.finance.exports.facts import parse_period, split
from hub.finance.exports.store import facts
from tests.finance.exports_seed import seed

NOW = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def test_the_quarter_summary_equals_the_hand_computed_sums(engine: Engine) -> None:
    seed(engine)
    _entity, found = facts(engine, "de", parse_period("2026-Q4"), use_bundle=False)
    rows = {(r.country, r.vat_rate): r for r in oss.summary(found)}
    assert set(rows) == {("FR", D(20)), ("IT", D(22))}
    fr, it = rows["FR", D(20)], rows["IT", D(22)]
    assert (fr.sales_net, fr.sales_vat) == (D("75.00"), D("15.00"))
    assert (fr.refunds_net, fr.refunds_vat) == (D("-10.00"), D("-2.00"))
    assert (fr.net, fr.vat) == (D("65.00"), D("13.00"))
    assert (it.sales_net, it.sales_vat, it.refunds_net, it.net, it.vat) == (
        D("10.00"),
        D("2.20"),
        D("0.00"),
        D("10.00"),
        D("2.20"),
    )
    assert fr.currency == it.currency == "EUR"


def test_a_month_gives_its_quarter_and_the_csv_adds_the_totals(engine: Engine) -> None:
    seed(engine)
    made = files.make(engine, "oss", "de", "2026-11", NOW, use_bundle=False)
    assert made.name == "oss-de-2026-Q4.csv"
    rows = list(csv.reader(io.StringIO(made.data.decode("utf-8"))))
    assert rows[0] == list(oss.COLUMNS)
    assert rows[1:] == [
        # no seeded order knows its ship-to country: every country is the marketplace's
        ["FR", "20", "EUR", "75.00", "15.00", "-10.00", "-2.00", "65.00", "13.00", "4"],
        ["IT", "22", "EUR", "10.00", "2.20", "0.00", "0.00", "10.00", "2.20", "1"],
        ["total", "", "EUR", "85.00", "17.20", "-10.00", "-2.00", "75.00", "15.20", "5"],
    ]


def test_an_entity_without_oss_is_refused(engine: Engine) -> None:
    seed(engine)
    with pytest.raises(InputError) as refused:
        files.make(engine, "oss", "us", "2026-Q4", NOW, use_bundle=False)
    assert refused.value.field == "entity"


@pytest.mark.parametrize(
    ("gross", "rate", "net", "vat"),
    [
        ("119.00", "19", "100.00", "19.00"),
        ("10.00", "19", "8.40", "1.60"),  # 8.403 -> 8.40, VAT takes the rest
        ("0.01", "20", "0.01", "0.00"),
        ("-12.00", "20", "-10.00", "-2.00"),
        ("5.00", None, "5.00", "0.00"),
    ],
)
def test_net_and_vat_always_add_up_to_the_gross(
    gross: str, rate: str | None, net: str, vat: str
) -> None:
    got = split(D(gross), None if rate is None else D(rate), "EUR")
    assert got == (D(net), D(vat))
    assert got[0] + got[1] == D(gross)
