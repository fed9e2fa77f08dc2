"""The buyer return service on SQLite and PostgreSQL: the same refusal for every miss, a booking
queued to the store's nodes and audited once, no double booking, the rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from hub.errors import Conflict, InputError
from hub.returns.buyer import Limits, NoMatch, Throttled, book, look_up
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, commands
from protocol import utc_now
from tests.buyer.conftest import ORDER, POSTCODE, seed_engine

ROOMY = Limits(per_client=100, overall=1000)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_engine(engine)
    return engine


@pytest.mark.parametrize(("order_id", "postcode"), [
    (ORDER, "10001"),                  # a real postcode of another order
    (ORDER, "021080"),                 # near miss
    ("113-9999999-9999999", POSTCODE),  # unknown order, a postcode that exists
    ("113-9999999-9999999", "\x00no-such-postcode"),  # the stand-in itself matches nothing
])
def test_every_miss_is_the_same_refusal(seeded: Engine, order_id: str, postcode: str) -> None:
    with pytest.raises(NoMatch) as caught:
        look_up(seeded, order_id, postcode, "198.51.100.7", ROOMY, utc_now())
    assert caught.value.message == "no order matches this order number and postcode"


def test_a_booking_reaches_the_store_nodes_once_and_is_audited(seeded: Engine) -> None:
    now = utc_now()
    view = look_up(seeded, ORDER, " 02108 ", "198.51.100.7", ROOMY, now)
    assert [s.store_id for s in view.stores] == ["store-a", "store-far"]
    assert view.stores[0].distance_km is not None and view.stores[0].distance_km < 1
    assert {i.sku: i.quantity for i in view.items if i.returnable} == {"MUG-01": 2, "LAMP-9": 1}

    done = book(seeded, ORDER, POSTCODE, "store-a", {"MUG-01": 1}, "198.51.100.7", ROOMY, now)
    with reading(seeded) as conn:
        sent = conn.execute(select(commands.c.store_id, commands.c.node_id, commands.c.body)
                            .where(commands.c.kind == "return.expected")).all()
        audited = conn.execute(select(audit_log.c.entity_id).where(
            audit_log.c.action == "buyer_return.created")).scalars().all()
    assert [(r.store_id, r.node_id, r.body["rma_id"]) for r in sent] == [
        ("store-a", "n1", done.code)]
    assert sent[0].body["items"][0]["unit_price"] == {"amount": "12.50", "currency": "USD"}
    assert audited == [f"store-a/{done.code}"]

    left = look_up(seeded, ORDER, POSTCODE, "198.51.100.7", ROOMY, now)
    assert {i.sku: i.quantity for i in left.items} == {"MUG-01": 1, "LAMP-9": 1}
    with pytest.raises(Conflict, match="MUG-01 cannot be returned"):
        book(seeded, ORDER, POSTCODE, "store-a", {"MUG-01": 2}, "198.51.100.7", ROOMY, now)
    with pytest.raises(InputError, match="stores offered"):
        book(seeded, ORDER, POSTCODE, "store-no", {"MUG-01": 1}, "198.51.100.7", ROOMY, now)
    with pytest.raises(InputError, match="not part of this order"):
        book(seeded, ORDER, POSTCODE, "store-a", {"SOCK-1": 1}, "198.51.100.7", ROOMY, now)


def test_the_limit_holds_per_client_and_its_window_ends(seeded: Engine) -> None:
    tight = Limits(per_client=2, overall=3, window=timedelta(minutes=15))
    now = utc_now()
    for _ in range(2):
        look_up(seeded, ORDER, POSTCODE, "198.51.100.7", tight, now)
    with pytest.raises(Throttled) as caught:
        look_up(seeded, ORDER, POSTCODE, "198.51.100.7", tight, now)
    assert 0 < caught.value.retry_after <= 900
    look_up(seeded, ORDER, POSTCODE, "203.0.113.9", tight, now)  # another client: its own count
    with pytest.raises(Throttled):  # but every client together is over the overall limit now
        look_up(seeded, ORDER, POSTCODE, "203.0.113.10", tight, now)
    with reading(seeded) as conn:
        throttled = conn.execute(select(audit_log.c.entity_id).where(
            audit_log.c.action == "buyer_return.throttled")).scalars().all()
    assert len(throttled) == 2  # once per subject that reached its limit
    later = now + timedelta(minutes=15)
    look_up(seeded, ORDER, POSTCODE, "198.51.100.7", tight, later)  # a new window


def test_a_repeated_booking_request_answers_the_same_code(seeded: Engine) -> None:
    now = utc_now()
    args = (seeded, ORDER, POSTCODE, "store-a", {"LAMP-9": 1}, "198.51.100.7", ROOMY, now)
    first = book(*args, "page-0123456789")
    again = book(*args, "page-0123456789")
    assert again.code == first.code and again.items == first.items
    with pytest.raises(NoMatch):  # the replay needs the postcode too
        book(seeded, ORDER, "10001", "store-a", {"LAMP-9": 1}, "198.51.100.7", ROOMY, now,
             "page-0123456789")
    with reading(seeded) as conn:
        sent = conn.execute(select(commands.c.command_id)
                            .where(commands.c.kind == "return.expected")).all()
    assert len(sent) == 1
    with pytest.raises(Conflict):  # another request for the same item is a second booking
        book(*args, "page-9876543210")
