"""Counter photos reaching the hub over the sync path: the golden ``evidence.recorded`` message,
read as the broker hands it over, is stored as evidence (bytes by SHA-256, audited) in the ingest
batch's transaction; a repeat is a duplicate, not a second photo; a hub process that keeps no
evidence dead-letters it (to be replayed), never drops it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import Engine, select

from hub.finance.evidence.ingest import EvidenceSink
from hub.storage import audit_log
from hub.storage.engine import reading, writing
from hub.storage.tables.core import dead_letters
from hub.storage.tables.evidence import evidence_items
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import EvidenceRecorded, TopicKind, decode, node_topic

GOLDEN_FILE = Path(__file__).parents[1] / "fixtures/protocol/v1/evidence.recorded.json"
# the golden message as the node's first event (seq 1: nothing before it to wait for)
GOLDEN = json.dumps({**json.loads(GOLDEN_FILE.read_bytes()), "seq": 1}).encode()
TOPIC = node_topic("store-berlin-1", "counter-1", TopicKind.EVENTS)


def ingest(engine: Engine, sink: EvidenceSink | None) -> None:
    with writing(engine) as tx:
        store_batch(tx, [classify(TOPIC, GOLDEN)], sink)


def test_a_counter_photo_from_the_wire_is_stored_as_evidence(
    engine: Engine, tmp_path: Path
) -> None:
    sink = EvidenceSink(tmp_path / "evidence", 30)
    sent = decode(GOLDEN).body
    assert isinstance(sent, EvidenceRecorded)
    ingest(engine, sink)
    ingest(engine, sink)  # the node sends it again before the ack reached it
    with reading(engine) as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(evidence_items))]
        entries = audit_log.for_entity(conn, "evidence", sent.evidence_id)
    sha = hashlib.sha256(sent.content).hexdigest()
    assert [
        (
            r["evidence_id"],
            r["sha256"],
            r["source"],
            r["kind"],
            r["store_id"],
            r["return_id"],
            r["recorded_by"],
        )
        for r in rows
    ] == [(sent.evidence_id, sha, "counter", "photo", "store-berlin-1", sent.return_id, "emp-042")]
    assert (tmp_path / "evidence" / sha[:2] / sha).read_bytes() == sent.content
    assert [e.action for e in entries] == ["evidence.recorded"]


def test_a_hub_keeping_no_evidence_dead_letters_the_photo(engine: Engine) -> None:
    ingest(engine, None)
    with reading(engine) as conn:
        assert conn.execute(select(evidence_items)).first() is None
        (dead,) = conn.execute(select(dead_letters)).all()
    assert "keeps no evidence" in dead.reason
