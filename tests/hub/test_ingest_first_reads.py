"""One hub on PostgreSQL reads a batch's audit tip (locked first), revoked nodes and cursors in
one round trip (``hub.sync.ingest.batch._first_reads``), as the ingest writer opens it
(``writing(tip_last=True)``): the tip is held from then on, and the batch stores, applies
and acks as before."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from hub.storage.engine import writing
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import TopicKind, encode, node_topic
from tests.hub.helpers import ON_PG, ingest, node_row, received
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
