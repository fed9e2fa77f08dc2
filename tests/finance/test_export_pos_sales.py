"""POS sales in the transaction journal: a store's sales reach the hub as ``stock.moved`` events
(reason ``pos_sale``) carrying SKU and quantity only, so the journal lists them with their
quantities and no amount, and neither DATEV nor OSS books money the hub does not hold.

Events go through the real ingest transaction (``tests.hub.helpers.ingest``) on top of the
seeded month (``exports_seed``): at store s1 (entity ``de``) a count of 5 SKU-K, a sale of 2 in
November (till-1-0042) and one of 1 in December; at s2 (entity ``us``) a sale of 1 in November.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import Engine

from hub.finance.exports import datev, files
from hub.finance.exports.facts import parse_period
from hub.finance.exports.store import facts
from protocol import Envelope, MoveReason, StockMoved, StockState, make_envelope
from tests.finance.exports_seed import at, seed
from tests.hub.helpers import ingest

NOW = datetime(2026, 12, 5, tzinfo=UTC)
S, R = StockState, MoveReason


def _moved(store: str, seq: int, move_id: str, quantity: int, when: datetime,
           reason: MoveReason, balance: int, till: str | None = None) -> Envelope:
    frm, to = (S.SELLABLE, None) if reason == R.POS_SALE else (None, S.SELLABLE)
    body = StockMoved(move_id=move_id, sku="SKU-K", quantity=quantity, from_state=frm,
                      to_state=to, reason=reason, pos_transaction_id=till, at=when,
                      balance={S.SELLABLE: balance})
    return make_envelope(store, "n1", seq, body)


def _seed(engine: Engine) -> None:
    seed(engine)
    result = ingest(
        engine,
        _moved("s1", 1, "s1-M1", 5, at(11, 1), R.COUNT, 5),
        _moved("s1", 2, "s1-M2", 2, at(11, 20), R.POS_SALE, 3, "till-1-0042"),
        _moved("s1", 3, "s1-M3", 1, at(12, 2), R.POS_SALE, 2, "till-1-0077"),
        _moved("s2", 1, "s2-M1", 1, at(11, 21), R.POS_SALE, -1, "till-9-0001"),
    )
    assert result.applied == 4 and not result.dead


def test_the_journal_lists_pos_sales_with_their_quantities_and_no_amount(engine: Engine) -> None:
    _seed(engine)
    made = files.make(engine, "journal", "de", "2026-11", NOW, use_bundle=False)
    rows = list(csv.DictReader(io.StringIO(made.data.decode("utf-8"))))
    pos = [r for r in rows if r["source"] == "s1" and r["kind"] == "sale"]
    assert len(pos) == 1  # December's sale and store s2's (entity us) are not in it
    sale = pos[0]
    assert (sale["document"], sale["line"], sale["sku"], sale["quantity"]) == (
        "s1/till-1-0042", "s1-M2", "SKU-K", "2")
    assert (sale["day"], sale["country"], sale["oss"], sale["country_basis"]) == (
        "2026-11-20", "DE", "no", "store")
    money = ("gross", "net", "vat", "currency", "base_gross", "base_net", "base_vat", "rate")
    assert all(sale[c] == "" for c in money)
    assert sale["rate_source"] == "no amount"
    assert len(rows) == 10  # the seeded 9 and this sale


def test_the_us_entity_journals_its_own_store_sale(engine: Engine) -> None:
    _seed(engine)
    _entity, found = facts(engine, "us", parse_period("2026-11"), use_bundle=False)
    pos = [f for f in found if f.source == "s2"]
    assert [(f.kind, f.document, f.quantity, f.gross) for f in pos] == [
        ("sale", "s2/till-9-0001", 1, None)]


def test_datev_and_oss_book_no_money_for_them(engine: Engine) -> None:
    _seed(engine)
    entity, found = facts(engine, "de", parse_period("2026-11"), use_bundle=False)
    assert any(f.gross is None for f in found)
    booked = list(datev.bookings(entity, found))
    assert len(booked) == 8 and not any(b.document.startswith("s1/till") for b in booked)
    made = files.make(engine, "oss", "de", "2026-11", NOW, use_bundle=False)
    assert b"till" not in made.data
