"""Refund and settlement amounts in the entity's base currency with rate, day and source, and
the FX gain or loss between refund and settlement per month, hand-computed.

ECB quotes (1 EUR = x GBP): 0.8000 on 2 and 3 November, 0.8500 on 20 November, 0.7500 on
3 December; so 1 GBP = 1.25 EUR, then 1.176470588 EUR (1/0.85 to 10 digits), then 1.333333333.
  rf-uk  40.00 GBP refunded 2 Nov: 50.00 EUR; settled 20 Nov: 40 x 1.176470588 = 47.06;
         gain 50.00 - 47.06 = +2.94 (November)
  rf-uk2 30.00 GBP refunded 20 Nov: 35.29 EUR; settled 3 Dec: 30 x 1.333333333 = 40.00;
         loss 35.29 - 40.00 = -4.71 (December)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select

from hub.finance.fx import Crossed
from hub.finance.fx_amounts import SAME, MonthGain, convert, in_base, monthly
from hub.finance.fx_amounts_store import convert_pending, settled
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log
from hub.storage.tables.finance import fx_rates
from hub.storage.tables.finance_fx import fx_amounts
from tests.finance.exports_seed import UK, at, refund, seed, settlement

D = Decimal


def _rows(engine: Engine) -> dict[tuple[str, str], object]:
    with reading(engine) as conn:
        return {(r.kind, r.ref): r for r in conn.execute(select(fx_amounts))}


def test_each_paid_refund_and_settlement_line_is_held_in_base_currency_with_its_rate(
    engine: Engine,
) -> None:
    seed(engine)
    done = convert_pending(engine, use_bundle=False)
    assert dict(done) == {"refund": 4, "settlement": 2}
    rows = _rows(engine)
    assert ("refund", "s1/rf-rej") not in rows  # rejected: no money moves
    uk = rows["refund", "s1/rf-uk"]
    assert (uk.entity, uk.amount, uk.currency, uk.base_amount, uk.base_currency) == (
        "de",
        D("40.00"),
        "GBP",
        D("50.00"),
        "EUR",
    )
    assert (D(uk.rate), uk.rate_day, uk.rate_source, uk.day) == (
        D("1.25"),
        date(2026, 11, 2),
        "test ECB file",
        date(2026, 11, 2),
    )
    line = rows["settlement", "acct1/rep-uk/2"]
    assert (line.base_amount, D(line.rate), line.rate_day, line.detail, line.order_id) == (
        D("-47.06"),
        D("1.176470588"),
        date(2026, 11, 20),
        "Refund",
        "o-uk1",
    )
    same = rows["refund", "s1/rf-1"]
    assert (same.base_amount, same.rate, same.rate_source) == (D("11.90"), "1", SAME)
    us = rows["refund", "s2/rf-us"]
    assert (us.entity, us.base_currency, us.base_amount) == ("us", "USD", D("20.00"))


def test_the_pass_is_idempotent_and_audited(engine: Engine) -> None:
    seed(engine)
    convert_pending(engine, use_bundle=False)
    assert not convert_pending(engine, use_bundle=False)
    with reading(engine) as conn:
        audited = [
            r.after
            for r in conn.execute(
                select(audit_log.c.after).where(audit_log.c.action == "fx_amounts.converted")
            )
        ]
    assert {(a["entity"], a["kind"], a["rows"]) for a in audited} == {
        ("de", "refund", 3),
        ("de", "settlement", 2),
        ("us", "refund", 1),
    }


def test_an_amount_without_a_rate_waits_for_one_and_is_never_guessed(engine: Engine) -> None:
    seed(engine)
    refund(engine, "s1", "rf-ch", "10.00", "CHF", "approved", at(11, 15))
    convert_pending(engine, use_bundle=False)
    waiting = _rows(engine)["refund", "s1/rf-ch"]
    assert (waiting.base_amount, waiting.rate, waiting.rate_source) == (None, None, None)
    with engine.begin() as conn:
        conn.execute(
            fx_rates.insert().values(
                currency="CHF",
                day=date(2026, 11, 13),
                per_euro="0.9500",
                source="test ECB file",
                recorded_at=at(11, 13),
            )
        )
    assert dict(convert_pending(engine, use_bundle=False)) == {"refund": 1}
    now = _rows(engine)["refund", "s1/rf-ch"]
    # 1 CHF = 1/0.95 = 1.052631579 EUR (quote of the 13th, the latest on or before the 15th)
    assert (now.base_amount, D(now.rate), now.rate_day) == (
        D("10.53"),
        D("1.052631579"),
        date(2026, 11, 13),
    )


def test_fx_gain_and_loss_per_month_equal_the_hand_computed_figures(engine: Engine) -> None:
    seed(engine)
    refund(engine, "s1", "rf-uk2", "30.00", "GBP", "settled", at(11, 20), UK, "o-uk2")
    with engine.begin() as conn:
        conn.execute(
            fx_rates.insert().values(
                currency="GBP",
                day=date(2026, 12, 3),
                per_euro="0.7500",
                source="test ECB file",
                recorded_at=at(12, 3),
            )
        )
    settlement(
        engine,
        "rep-uk2",
        UK,
        "GBP",
        [{"type": "Refund", "order_id": "o-uk2", "amount": "-30.00", "posted_at": at(12, 3)}],
    )
    convert_pending(engine, use_bundle=False)
    with reading(engine) as conn:
        pairs = settled(conn, "de")
        only_december = settled(conn, "de", "2026-12", "2026-12")
    assert [(p.ref, p.gain) for p in pairs] == [("s1/rf-uk", D("2.94")), ("s1/rf-uk2", D("-4.71"))]
    assert monthly(pairs) == [
        MonthGain("2026-11", "EUR", 1, D("50.00"), D("47.06"), D("2.94")),
        MonthGain("2026-12", "EUR", 1, D("35.29"), D("40.00"), D("-4.71")),
    ]
    assert [p.ref for p in only_december] == ["s1/rf-uk2"]
    # refunds in the base currency (rf-fr settles nowhere here; rf-1 has no order) make none
    assert all(p.currency != p.base_currency for p in pairs)


def test_convert_rounds_half_up_to_the_base_currency_and_says_when_nothing_converts() -> None:
    day = date(2026, 11, 2)
    rate = Crossed("JPY", "EUR", D("0.0061"), day, "src")
    got = convert(D("1250"), "JPY", "EUR", day, lambda c, b, d: rate)
    assert got is not None and (got.base_amount, got.rate, got.source) == (
        D("7.63"),
        D("0.0061"),
        "src",
    )
    assert convert(D("1"), "JPY", "EUR", day, lambda c, b, d: None) is None
    assert in_base(D("10"), D("0.0125"), "JPY") == D("0")  # JPY has no minor unit
    assert in_base(D("0.5"), D("1"), "JPY") == D("1")  # half-up
