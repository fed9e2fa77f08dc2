"""event.batch: several consecutive events of one node in one message, and what may not be one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from protocol import (
    MAX_PAYLOAD_BYTES,
    Channel,
    DecodeError,
    Envelope,
    EventBatch,
    Money,
    ReturnItem,
    ReturnReceived,
    decode,
    encode,
    encode_batch,
    make_envelope,
)
from protocol.codec import careful
from protocol.limits import MAX_BATCH_EVENTS
from protocol.link import Ack

T0 = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)


def event(seq: int, node: str = "n1") -> Envelope:
    return make_envelope("s1", node, seq, ReturnReceived(
        return_id=f"R{seq}", channel=Channel.POS, reason="changed mind", received_at=T0,
        items=[ReturnItem(sku="A", quantity=1, unit_price=Money.of("12.00", "USD"))]),
        occurred_at=T0)


def test_a_batch_decodes_to_its_events_on_both_paths() -> None:
    events = [event(seq).resent(T0) for seq in range(7, 7 + 30)]
    raw = encode_batch(events, at=T0)
    fast, slow = decode(raw), careful(raw)
    assert fast == slow
    assert (fast.kind, fast.seq, fast.store_id, fast.node_id) == ("event.batch", 7, "s1", "n1")
    assert isinstance(fast.body, EventBatch) and fast.body.events == events
    assert all(type(e) is Envelope for e in fast.body.events)
    # each event travels exactly as it would alone (its body without its kind)
    assert json.loads(raw)["body"]["events"] == [json.loads(encode(e)) for e in events]


@pytest.mark.parametrize(("events", "why"), [
    ([event(1)], "at least 2"),
    ([event(n) for n in range(1, MAX_BATCH_EVENTS + 2)], f"at most {MAX_BATCH_EVENTS}"),
    ([event(1), event(3)], "seq 3 does not follow 1"),
    ([event(2), event(1)], "seq 1 does not follow 2"),
    ([event(1), event(2, node="n2")], "the events of one node"),
    ([event(1), make_envelope("s1", "n1", 2, Ack(up_to_seq=1))], "a ack message cannot travel"),
])
def test_what_cannot_travel_as_a_batch_is_refused_on_both_sides(events: list[Envelope],
                                                                 why: str) -> None:
    with pytest.raises(ValueError, match=why):
        encode_batch(events)
    first = events[0]
    forged = json.dumps({"id": first.id, "store_id": "s1", "node_id": "n1", "seq": first.seq,
                         "kind": "event.batch", "occurred_at": "2026-12-05T04:00:00Z",
                         "body": {"events": [json.loads(encode(e)) for e in events]}}).encode()
    if len(forged) <= MAX_PAYLOAD_BYTES:
        with pytest.raises(DecodeError, match=r"invalid event\.batch message"):
            decode(forged)


def test_a_batch_inside_a_batch_is_refused() -> None:
    inner = json.loads(encode_batch([event(1), event(2)]))
    outer = json.loads(encode_batch([event(1), event(2)]))
    outer["body"]["events"][1] = inner
    with pytest.raises(DecodeError):
        decode(json.dumps(outer).encode())
