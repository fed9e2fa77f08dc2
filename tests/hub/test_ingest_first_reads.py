"""One hub on PostgreSQL reads a batch's audit tip (locked first), revoked nodes, cursors and
the returns its events name in one round trip (``hub.sync.ingest.batch._first_reads``), as the
ingest writer opens it (``writing(tip_last=True)``): the tip is held from then on, the returns
are not read again, and the batch stores, applies and acks as before."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from hub.storage.engine import reading, writing
from hub.storage.tables.core import refunds, returns
from hub.sync.ingest import state
from hub.sync.ingest.batch import BatchResult, store_batch
from hub.sync.ingest.classify import classify
from protocol import Envelope, TopicKind, encode, node_topic
from tests.hub.helpers import ON_PG, ingest, inspected, node_row, received, refund
from tests.support.databases import statements_sent


@ON_PG
def test_the_first_reads_lock_the_tip_and_the_batch_goes_on_as_before(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"))  # the chain has a tip row from here on
    events = [received("s1", "n1", 2, "R2"), received("s1", "n2", 1, "R3")]
    with writing(engine, tip_last=True) as tx:
        with statements_sent(engine) as statements:
            result = store_batch(tx, [classify(
                node_topic(e.store_id, e.node_id, TopicKind.EVENTS), encode(e)) for e in events])
        assert tx.tip is not None and tx.tip[0] >= 1  # taken by the batch's first round trip
        with engine.connect() as other, pytest.raises(OperationalError):
            other.execute(text("SELECT seq FROM audit_head FOR UPDATE NOWAIT"))  # held
    # the three reads went through the pipeline, not as a statement each
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT") and (
        "node_certificates" in s or "audit_head" in s or s.count("contiguous_seq"))], statements
    assert result.stored == result.applied == 2
    assert {k: a.up_to_seq for k, a in result.acks.items()} == {("s1", "n1"): 2, ("s1", "n2"): 1}
    assert node_row(engine, "s1", "n1").contiguous_seq == 2


def _batch(engine: Engine, events: Sequence[Envelope]) -> tuple[BatchResult, list[str]]:
    """One batch as the ingest writer runs it; the statements SQLAlchemy sent that read
    ``returns`` (those of the first reads go through the driver's pipeline, not counted)."""
    with writing(engine, tip_last=True) as tx, statements_sent(engine) as statements:
        result = store_batch(tx, [classify(
            node_topic(e.store_id, e.node_id, TopicKind.EVENTS), encode(e)) for e in events])
    return result, [s for s in statements if "FROM returns" in s]


def _grades(engine: Engine) -> dict[str, str | None]:
    with reading(engine) as conn:
        return dict(conn.execute(select(returns.c.return_id, returns.c.grade)).all())  # type: ignore[arg-type]


@ON_PG
def test_the_returns_a_batch_names_come_with_its_first_reads(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n2", 1, "R2"))
    result, reads = _batch(engine, [inspected("s1", "n1", 2, "R1"), received("s1", "n2", 2, "R3")])
    assert reads == []  # no read of its own: R1 (stored) and R3 (new) were read first
    assert result.applied == 2 and result.dead == []
    assert _grades(engine) == {"R1": "good", "R2": None, "R3": None}


@ON_PG
def test_an_event_held_beyond_a_gap_applies_with_its_return_read_first(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"))
    held = inspected("s1", "n1", 3, "R1")
    early, _ = _batch(engine, [held])  # seq 2 missing: held
    assert early.applied == 0
    # the gap filled, and the held inspection sent again (as a node resends what no ack covers)
    result, reads = _batch(engine, [received("s1", "n1", 2, "R2"), held])
    assert result.applied == 2 and result.dead == [] and reads == []
    assert _grades(engine) == {"R1": "good", "R2": None}
    assert node_row(engine, "s1", "n1").contiguous_seq == 3


def test_load_reads_only_the_returns_not_read_before(engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n1", 2, "R2"))
    events = [inspected("s1", "n1", 3, "R1"), inspected("s1", "n1", 4, "R2")]
    with writing(engine) as tx:
        stored = state.load(tx, events).returns
        assert set(stored) == {("s1", "R1"), ("s1", "R2")}
        r1 = {("s1", "R1"): stored[("s1", "R1")]}
        nothing: state.Read = (set(), {})
        # R1 read before (and found), R2 looked up before and absent: nothing more is read
        both = state.Ahead(({("s1", "R1"), ("s1", "R2")}, r1), nothing, nothing)
        assert state.load(tx, events, both).returns == r1
        # R1 read before: R2 is read now, as it is stored
        one = state.Ahead(({("s1", "R1")}, r1), nothing, nothing)
        assert state.load(tx, events, one).returns == stored


@ON_PG
def test_the_refunds_a_batch_asks_for_or_may_decide_come_with_its_first_reads(
        engine: Engine) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n1", 2, "R2"),
           refund("s1", "n1", 3, "R1", "F1"))
    with writing(engine, tip_last=True) as tx, statements_sent(engine) as statements:
        result = store_batch(tx, [classify(
            node_topic(e.store_id, e.node_id, TopicKind.EVENTS), encode(e)) for e in [
                inspected("s1", "n1", 4, "R1"), refund("s1", "n1", 5, "R2", "F2"),
                refund("s1", "n1", 6, "R1", "F1")]])  # F1 again: the stored one is found
    assert result.dead == ["event seq 6 stored but not applied: refund 'F1' was already "
                           "requested"]
    by_key = [s for s in statements if "JOIN LATERAL" in s and "FROM refunds" in s]
    assert by_key == []  # read with the first reads: F1, F2 by key, R1's refunds by return
    with reading(engine) as conn:
        stored = dict(conn.execute(select(refunds.c.refund_id, refunds.c.return_id)).all())
    assert stored == {"F1": "R1", "F2": "R2"}
