"""Where a booked return stands, derived from the stores' records (SQLite and PostgreSQL):
expected, then received where a counter recorded its code — elsewhere when the buyer went to
another store — and overdue past its expected-by; a scoped reader sees only its stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from hub.returns.buyer import Limits, book
from hub.returns.buyer.follow import listing, status_of
from hub.returns.buyer.service import EXPECTED_FOR
from hub.storage.engine import reading
from protocol import make_envelope, utc_now
from tests.buyer.conftest import ORDER, POSTCODE, seed_engine
from tests.hub.helpers import ingest, received

ROOMY = Limits(per_client=100, overall=1000)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_engine(engine)
    return engine


def test_the_status_follows_the_receipt_and_the_clock() -> None:
    booked = utc_now()
    assert status_of(None, booked, booked + EXPECTED_FOR) == "expected"
    assert status_of(None, booked, booked + EXPECTED_FOR + timedelta(seconds=1)) == "overdue"
    assert status_of(booked + EXPECTED_FOR * 2, booked, booked + EXPECTED_FOR * 3) == "received"


def test_a_return_received_at_another_store_is_received_elsewhere(seeded: Engine) -> None:
    now = utc_now()
    done = book(seeded, ORDER, POSTCODE, "store-a", {"MUG-01": 1}, "198.51.100.7", ROOMY, now)
    with reading(seeded) as conn:
        (row,) = listing(conn, now, lambda _s: True)
        assert (row["code"], row["status"], row["return_id"]) == (done.code, "expected", None)
        assert listing(conn, now + EXPECTED_FOR + timedelta(hours=1), lambda _s: True,
                       "overdue")[0]["code"] == done.code

    event = received("store-far", "n9", 1, "R-FAR-000001")
    body = event.body.model_copy(update={"rma_id": done.code})
    assert ingest(seeded, make_envelope("store-far", "n9", 1, body)).dead == []

    with reading(seeded) as conn:
        (row,) = listing(conn, now, lambda _s: True)
        assert (row["status"], row["received_store"], row["return_id"], row["elsewhere"]) == (
            "received", "store-far", "R-FAR-000001", True)
        assert listing(conn, now, lambda _s: True, "expected") == []
        # a reader of store-far alone sees it (received there); of neither store, not at all
        assert [r["code"] for r in listing(conn, now, lambda s: s == "store-far")] == [done.code]
        assert listing(conn, now, lambda s: s == "store-x") == []
