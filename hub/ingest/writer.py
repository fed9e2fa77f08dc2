"""The ingest writer: one thread that turns queued messages into committed batches, then acks.

Rules:
- a batch is cut at ``ingest_batch_size`` messages, at ``ingest_batch_ms`` after its first
  message, or as soon as the queue stays empty for a moment (a burst has ended: waiting longer
  only adds latency, and the broker will not send more until we ack);
- one transaction per batch; only after COMMIT are the messages PUBACKed (in arrival order) and
  the retained per-node ``ack`` published;
- a batch that fails because the database is unavailable is kept and retried with backoff, never
  acked, never dropped; a batch that fails for another reason is retried message by message, so
  one poisonous message is dead-lettered alone instead of stalling everyone;
- ``stop`` drains what is queued (commit + ack), then returns; whatever arrives later is not
  acked and the broker redelivers it to the next session.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from sqlalchemy import Engine

from hub.db.engine import is_transient, writing
from hub.db.schema import dead_letters
from hub.errors import HubError, StorageError
from hub.ingest.batch import BatchResult, Key, store_batch
from hub.ingest.classify import Incoming, Rejected, classify
from hub.metrics import HubMetrics
from protocol import Ack, TopicKind, encode, make_envelope, node_topic, parse_topic

log = logging.getLogger(__name__)

IDLE_GAP_S = 0.002  # a burst has ended when nothing arrives for this long


class Link(Protocol):
    """What the writer needs from the MQTT connection."""

    def ack(self, mid: int, qos: int, generation: int) -> None:
        """PUBACK a message."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        """Publish a message."""


class IngestWriter:
    """Owns the message queue and the thread that commits and acks batches."""

    def __init__(self, engine: Engine, link: Link, metrics: HubMetrics, batch_size: int = 500,
                 batch_ms: int = 20,
                 on_batch: Callable[[BatchResult], None] = lambda _result: None) -> None:
        self._engine = engine
        self._link = link
        self._metrics = metrics
        self._batch_size = batch_size
        self._batch_s = batch_ms / 1000
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._budget = 0  # after stop: how many queued messages are still ours to finish
        self._thread = threading.Thread(target=self._run, name="hub-ingest-writer", daemon=True)

    def submit(self, message: Incoming) -> None:
        """Hand over one message (called on the network thread; never blocks)."""
        self._queue.put(message)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit and ack what is queued now (not what keeps arriving), then end the thread."""
        self._budget = self._queue.qsize()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            if stopping and self._budget <= 0:
                return
            batch = self._collect(min(self._batch_size, self._budget) if stopping else
                                  self._batch_size)
            if batch:
                self._process_with_retry(batch)
                self._budget -= len(batch) if stopping else 0
            elif stopping:
                return

    def _collect(self, limit: int) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.05)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self._batch_s
        while len(batch) < limit:
            wait = min(deadline - time.monotonic(), IDLE_GAP_S)
            try:
                batch.append(self._queue.get_nowait() if wait <= 0 else
                             self._queue.get(timeout=wait))
            except queue.Empty:
                break
        return batch

    def _process_with_retry(self, batch: list[Incoming]) -> None:
        pending, delay = list(batch), 0.1
        while pending:
            try:
                self._process(pending)
                return
            except HubError as err:
                self._metrics.batch_failures.inc()
                log.error("ingest batch of %d not stored (%s); retrying in %.1fs", len(pending),
                          err, delay)
            if self._stopping.wait(delay):
                return  # shutting down: unacked messages are redelivered to the next session
            delay = min(delay * 2, 5.0)

    def _process(self, pending: list[Incoming]) -> None:
        """Commit ``pending`` (removing what is done); isolate a message that cannot be stored."""
        try:
            self._commit(pending)
            pending.clear()
            return
        except HubError as err:
            if _transient(err):
                raise
            if len(pending) == 1:
                self._poison(pending[0], err)
                pending.clear()
                return
            log.exception("ingest batch of %d failed; retrying one by one", len(pending))
        while pending:
            self._process(pending[:1])
            pending.pop(0)

    def _commit(self, batch: Sequence[Incoming]) -> None:
        started = time.monotonic()
        classified = [classify(m.topic, m.payload) for m in batch]
        try:
            with writing(self._engine) as tx:
                result = store_batch(tx, classified)
        except HubError:
            raise
        except Exception as err:  # a bug in the projections: translated so it can be isolated
            raise HubError(f"ingest failed: {err!r}") from err
        for message in batch:
            self._link.ack(message.mid, message.qos, message.generation)
        self._publish_acks(result.acks)
        self._count(batch, result, time.monotonic() - started)
        self._on_batch(result)

    def _poison(self, message: Incoming, err: HubError) -> None:
        log.error("message on %s could not be processed and is dead-lettered: %s",
                  message.topic, err)
        rejected = Rejected(message.topic, _sender(message.topic), f"hub could not process: {err}",
                            None, message.payload)
        with writing(self._engine) as tx:
            tx.conn.execute(dead_letters.insert(), [{
                "received_at": tx.now, "topic": rejected.topic[:300], "sender": rejected.sender,
                "reason": rejected.reason, "field": None, "payload": rejected.payload}])
        self._link.ack(message.mid, message.qos, message.generation)
        self._metrics.dead_letters.inc()

    def _publish_acks(self, acks: Mapping[Key, Ack]) -> None:
        for (store_id, node_id), ack in acks.items():
            envelope = make_envelope(store_id, node_id, 0, ack)
            self._link.publish(node_topic(store_id, node_id, TopicKind.ACKS), encode(envelope),
                               qos=1, retain=True)

    def _count(self, batch: Sequence[Incoming], result: BatchResult, seconds: float) -> None:
        m = self._metrics
        for message in batch:
            m.messages.labels(topic_kind=message.topic.rsplit("/", 1)[-1][:20]).inc()
        m.events_stored.inc(result.stored)
        m.events_applied.inc(result.applied)
        m.duplicates.inc(result.duplicates)
        m.gaps.inc(result.new_gaps)
        m.dead_letters.inc(len(result.dead))
        m.batch_size.observe(len(batch))
        m.batch_seconds.observe(seconds)
        for reason in result.dead:
            log.warning("dead letter: %s", reason)


def _transient(err: HubError) -> bool:
    return isinstance(err, StorageError) and is_transient(err)


def _sender(topic: str) -> str | None:
    try:
        parsed = parse_topic(topic)
    except ValueError:
        return None
    return f"{parsed.store_id}/{parsed.node_id}" if parsed.node_id else parsed.store_id
