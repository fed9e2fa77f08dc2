"""The ingest queue's lanes: a store's new events go before other stores' backlogs, and no node's
messages change order."""

from __future__ import annotations

import queue
import threading

import pytest

from hub.sync.ingest.classify import Incoming, classify_all
from hub.sync.ingest.lanes import BULK_BYTES, Lanes
from protocol import TopicKind, encode, encode_batch, node_topic, utc_now
from tests.hub.helpers import received, status

_mids = iter(range(1, 10**6))


def event(store: str, node: str, seq: int) -> Incoming:
    return _incoming(node_topic(store, node, TopicKind.EVENTS),
                     encode(received(store, node, seq, f"R{seq}")))


def backlog(store: str, node: str, first: int, last: int) -> Incoming:
    events = [received(store, node, seq, f"R{seq}") for seq in range(first, last + 1)]
    return _incoming(node_topic(store, node, TopicKind.EVENTS), encode_batch(events))


def _incoming(topic: str, payload: bytes) -> Incoming:
    return Incoming(topic, payload, next(_mids), 1, 1, utc_now(), classify_all(topic, payload))


def drain(lanes: Lanes) -> list[Incoming]:
    out = []
    while True:
        try:
            out.append(lanes.get_nowait())
        except queue.Empty:
            return out


def test_live_messages_go_before_a_backlog_and_each_node_keeps_its_order() -> None:
    lanes = Lanes()
    a_backlog = backlog("s1", "n1", 1, 100)
    a_more = backlog("s1", "n1", 101, 200)
    a_tail = event("s1", "n1", 201)  # a single event behind its node's backlog: stays behind it
    b_live = event("s2", "n1", 1)
    b_status = _incoming(node_topic("s2", "n1", TopicKind.STATUS), encode(status("s2", "n1")))
    c_live = event("s3", "n1", 7)
    d_busy = backlog("s4", "n1", 1, 3)  # a busy store's few events: still live
    assert len(d_busy.payload) < BULK_BYTES <= len(a_backlog.payload)
    for message in (a_backlog, a_more, a_tail, b_live, b_status, c_live, d_busy):
        lanes.put(message)
    assert lanes.sizes() == (4, 3) and lanes.qsize() == 7
    assert drain(lanes) == [b_live, b_status, c_live, d_busy, a_backlog, a_more, a_tail]
    assert lanes.sizes() == (0, 0)


def test_a_node_whose_backlog_is_taken_is_live_again() -> None:
    lanes = Lanes()
    lanes.put(backlog("s1", "n1", 1, 10))
    lanes.put(first_tail := event("s1", "n1", 11))
    assert lanes.sizes() == (0, 2)
    lanes.get_nowait()  # the backlog goes to the writer
    lanes.put(second_tail := event("s1", "n1", 12))  # its tail is still queued: behind it
    assert lanes.sizes() == (0, 2)
    assert drain(lanes) == [first_tail, second_tail]
    lanes.put(now := event("s1", "n1", 13))  # nothing of the node in the bulk lane any more
    assert lanes.sizes() == (1, 0) and lanes.get_nowait() == now


def test_get_waits_for_a_message_and_gives_up_after_its_timeout() -> None:
    lanes = Lanes()
    with pytest.raises(queue.Empty):
        lanes.get(timeout=0.05)
    with pytest.raises(queue.Empty):
        lanes.get_nowait()
    late = event("s1", "n1", 1)
    putter = threading.Timer(0.1, lanes.put, args=(late,))
    putter.start()
    try:
        assert lanes.get(timeout=30) == late  # woken by the put, long before the timeout
    finally:
        putter.join()


def test_a_backlog_queued_as_bytes_is_decoded_once_when_taken() -> None:
    events = [received("s1", "n1", seq, f"R{seq}") for seq in range(1, 101)]
    raw = Incoming(node_topic("s1", "n1", TopicKind.EVENTS), encode_batch(events), 1, 1, 1,
                   utc_now())  # as the network thread queues a long message: undecoded
    lanes = Lanes()
    lanes.put(raw)
    assert raw.classified is None and lanes.sizes() == (0, 1)  # the lane by length alone
    taken = lanes.get_nowait()
    parts = taken.parts()
    assert [p.envelope.seq for p in parts] == list(range(1, 101))  # type: ignore[union-attr]
    assert taken.parts() is parts  # decoded once, kept
