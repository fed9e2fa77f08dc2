"""Committing a transaction that queued commands tells whoever listens, after the commit.

Real databases (SQLite and PostgreSQL), no broker: the listener here records what a fresh
connection sees at the moment it is called. The publisher side, with a real broker, is in
``test_publisher_wake.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Connection, Engine, func, select

from hub.storage import outbox
from hub.storage.engine import hold, joined, make_engine, reading, writing
from hub.storage.tables.core import commands
from protocol import ExpectedReturn, new_message_id


class Listener:
    """Counts calls and, at each, the commands a separate connection can already read."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[int] = []
        self.stop = outbox.on_queued(engine, self)

    def __call__(self) -> None:
        with reading(self.engine) as conn:  # a connection of its own: sees committed rows only
            self.seen.append(int(conn.execute(select(func.count()).select_from(commands))
                                 .scalar_one()))


@pytest.fixture
def listener(engine: Engine) -> Iterator[Listener]:
    heard = Listener(engine)
    try:
        yield heard
    finally:
        heard.stop()


def expected(rma: str) -> ExpectedReturn:
    return ExpectedReturn.model_validate({
        "rma_id": rma, "order_id": "111-1", "channel": "amazon_mfn",
        "items": [{"sku": "SKU-1", "quantity": 1,
                   "unit_price": {"amount": "10.00", "currency": "USD"}}]})


def queue_one(conn: Connection, now: datetime) -> None:
    outbox.ensure_node(conn, "s1", "n1", now)
    outbox.queue(conn, [outbox.CommandDraft("s1", "n1", new_message_id(), expected("R"))], now)


def test_a_commit_that_queued_commands_calls_the_listener_once_the_rows_are_visible(
        engine: Engine, listener: Listener) -> None:
    outbox.queue_expected_return(engine, "s1", "n1", expected("R1"), "test", "operator")
    assert listener.seen == [1]  # called once, after the commit: another connection saw it
    with writing(engine) as tx:
        queue_one(tx.conn, tx.now)
        queue_one(tx.conn, tx.now)
    assert listener.seen == [1, 3]  # one transaction, one call


def test_a_transaction_that_queued_nothing_or_rolled_back_calls_nothing(
        engine: Engine, listener: Listener) -> None:
    with writing(engine) as tx:
        outbox.ensure_node(tx.conn, "s1", "n1", tx.now)
    with pytest.raises(RuntimeError), writing(engine) as tx:
        queue_one(tx.conn, tx.now)
        raise RuntimeError("the change behind the command failed")
    assert listener.seen == []
    with writing(engine) as tx:  # the connection goes back to the pool: no mark is left behind
        outbox.ensure_node(tx.conn, "s1", "n2", tx.now)
    assert listener.seen == []


def test_a_held_transaction_calls_the_listener_when_it_commits_not_when_it_rolls_back(
        engine: Engine, listener: Listener) -> None:
    held = hold(engine)
    with joined(held), writing(engine) as tx:  # a savepoint inside the held transaction
        queue_one(tx.conn, tx.now)
    assert listener.seen == []  # not committed yet
    held.finish(commit=True)
    assert listener.seen == [1]

    held = hold(engine)
    with joined(held), writing(engine) as tx:
        queue_one(tx.conn, tx.now)
    held.finish(commit=False)
    assert listener.seen == [1]


def test_listeners_are_per_engine_and_can_stop(engine: Engine, listener: Listener) -> None:
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        outbox.queue_expected_return(other, "s1", "n1", expected("R1"), "test", "operator")
    finally:
        other.dispose()
    assert listener.seen == []  # another engine (another process, as far as we know)
    listener.stop()
    outbox.queue_expected_return(engine, "s1", "n1", expected("R2"), "test", "operator")
    assert listener.seen == []


def test_a_failing_listener_does_not_undo_or_fail_the_committed_write(
        engine: Engine, listener: Listener) -> None:
    def broken() -> None:
        raise RuntimeError("listener bug")

    stop = outbox.on_queued(engine, broken)
    try:
        command_id = outbox.queue_expected_return(engine, "s1", "n1", expected("R1"), "test",
                                                  "operator")
    finally:
        stop()
    with reading(engine) as conn:
        assert conn.execute(select(commands.c.command_id)).scalars().all() == [command_id]
    assert listener.seen == [1]  # the other listener was still told
