"""The ingest writer: one thread that turns queued messages into committed batches, then acks.

Rules:
- a batch is cut at ``ingest_batch_size`` messages, at ``ingest_batch_ms`` after its first
  message, or as soon as the queue stays empty for a moment (a burst has ended: waiting longer
  only adds latency, and the broker will not send more until we ack); and a batch that starts
  with messages already waiting (the writer was busy with the one before) is cut as soon as it
  has taken them (``gather_wait``): waiting for more would only make those wait, and what comes
  meanwhile goes in the next batch. At 5,000 ev/s from 1,000 nodes, with the hub's larger
  in-flight window (``hub.sync.mqtt``), the median publish -> ack went from 87-100 to 74-85 ms
  (README, ninth measurement). At low rates it costs CPU: batches of a few events (at 1,000
  ev/s 0.52 of a core against 0.40); a threshold of waiting messages gave that back but let the
  hub slip into large slow batches of multi-event messages at 5,000 ev/s;
- one transaction per batch; only after COMMIT are the messages PUBACKed (in arrival order) and
  the retained per-node ``ack`` published (once per node per batch, and not at all when it
  repeats the last one this connection published: the broker retains that one). One hub
  publishes its acks at QoS 0 (a thousand nodes at a few events a second each need about one
  ack per event; QoS 0 spares the broker's PUBACK for each): the broker retains a QoS 0 message
  as any other, a node subscribes again at every connect and so gets the retained ack then,
  and an ack lost with a broken connection is sent again when the node resends what it
  covered (a new connection publishes every ack again; the node resends whatever no ack
  covers). A batch in which a node sends again events its ack already covers publishes that
  ack even when this connection published the same one: the node has not heard it (a node
  resending events past a gap is only waiting for the gap to fill: no new ack for that);
- nodes left waiting at a gap are counted per batch (``acorn_hub_seq_gap_waits``) and logged at
  most every few seconds (``hub.sync.ingest.gaps``);
- a batch that fails because the database is unavailable is kept and retried with backoff, never
  acked, never dropped; a batch that fails for another reason is retried message by message, so
  one poisonous message is isolated instead of stalling everyone;
- a single message that still cannot be stored becomes ``Unprocessable`` when it names its node
  and seq: it takes its seq, so the node's stream moves on (``batch``), and is dead-lettered;
  anything else is dead-lettered (payload capped) and acked;
- every exception is caught per batch, counted (``acorn_hub_ingest_errors``) and the thread
  keeps running; if the thread dies all the same, its batch is queued again (once),
  ``ensure_running`` (called by the runtime's supervisor) restarts it, and ``state`` says so for
  ``/api/health``;
- ``stop`` drains as many messages as are queued (commit + ack), then returns; whatever is
  left is not acked and the broker redelivers it to the next session;
- SEVERAL WORKERS (``shared``): an event the batch held back as early (``batch.store_batch``,
  ``held_back``) is not acked but offered again ``HOLD_STEP_S`` later, for at most
  ``HOLD_EARLY_S`` after this writer first tried it (not after it arrived: a message that waited
  in a deep queue is as early as ever), then it is stored beyond its gap as any early event (a
  held message takes one of the broker's in-flight slots for this worker, so the wait is short);
  and the retained
  acks are read back after the commit with the nodes locked FOR SHARE
  (``batch.committed_acks``) and queued under that lock, so no worker publishes an ack older
  than what is committed. They are not waited for: while a store changes hands, two workers'
  acks of one node could still reach the broker out of order and leave an older retained ack.
  A node that already heard the newer one takes the older as no news; one that did not resends
  from it, and its resends make the owner publish the ack again (above). Waiting for the
  broker's PUBACK of the last ack under the lock, as before, cost a third of a worker's writer
  time at 4,000 ev/s offered (py-spy).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Set
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from hub.errors import HubError, StorageError
from hub.finance.evidence.ingest import EvidenceSink
from hub.metrics import HubMetrics
from hub.storage.engine import is_sqlite, is_transient, reading, writing
from hub.storage.tables.core import dead_letters
from hub.sync.ingest.batch import BatchResult, Key, committed_acks, store_batch
from hub.sync.ingest.classify import Classified, Incoming, NodeEvent, Unprocessable
from hub.sync.ingest.dead import dead_letter_row
from hub.sync.ingest.gaps import GapLog
from hub.sync.ingest.lanes import Lanes
from protocol import (
    SCHEMA_VERSION,
    Ack,
    TopicKind,
    encode,
    format_utc,
    new_message_id,
    new_message_ids,
    node_topic,
    parse_topic,
    utc_now,
)

log = logging.getLogger(__name__)

IDLE_GAP_S = 0.002  # a burst has ended when nothing arrives for this long
HOLD_STEP_S = 0.02  # several workers: an early event is offered again this much later
HOLD_EARLY_S = 1.0  # ... for this long after its first try; then it is stored beyond its gap


class Link(Protocol):
    """What the writer needs from the MQTT connection."""

    def ack(self, mid: int, qos: int, generation: int) -> None:
        """PUBACK a message."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                wait: float = 0.0) -> bool:
        """Publish a message (``wait``: until the broker has it, at most that long)."""

    def one_wake(self) -> AbstractContextManager[None]:
        """Acks and publishes inside go to the broker together, after the block."""


class IngestWriter:
    """Owns the message queue and the thread that commits and acks batches."""

    def __init__(self, engine: Engine, link: Link, metrics: HubMetrics, batch_size: int = 500,
                 batch_ms: int = 20,
                 on_batch: Callable[[BatchResult], None] = lambda _result: None,
                 evidence: EvidenceSink | None = None,
                 gap_log: GapLog | None = None, shared: bool = False) -> None:
        self._engine = engine
        self._shared = shared  # several workers share the ingest
        # several workers take the audit tip late; one hub on PostgreSQL takes it itself, first,
        # with its first reads in one round trip (``batch._first_reads``)
        self._tip_last = shared or not is_sqlite(engine)
        self._evidence = evidence  # where counter photos are stored
        self._link = link
        self._metrics = metrics
        self._batch_size = batch_size
        self._batch_s = batch_ms / 1000
        self._on_batch = on_batch
        self._queue = Lanes()  # live messages before a backlog (hub.sync.ingest.lanes)
        for n, lane in enumerate(("live", "bulk")):
            metrics.ingest_queued.labels(lane).set_function(
                lambda n=n: float(self._queue.sizes()[n]))  # type: ignore[misc]
        self._stopping = threading.Event()
        self._budget = 0  # after stop: how many queued messages are still ours to finish
        self._started = False
        self.errors = 0  # exceptions caught (the thread went on)
        self.restarts = 0  # times the thread died and was started again
        self.last_error: str | None = None
        self.held_back = 0  # several workers: early events offered again later
        self._busy_seconds = 0.0  # spent committing and acking batches done (``busy_time``)
        self._batch_started: float | None = None  # the batch under way (time.monotonic())
        self._first_try: dict[tuple[int, int], float] = {}  # (generation, mid) of held ones
        self._inflight: list[Incoming] = []  # the batch being processed, for a restart
        self._requeued: set[tuple[int, int]] = set()  # (generation, mid) put back once already
        self._gap_log = gap_log or GapLog()
        # the last ack published per node: (connection, up_to_seq, gap_after), compared as
        # plain values (comparing the Ack models was 2 % of the writer's time), and each node's
        # ack topic, made once
        self._acked: dict[Key, tuple[int, int, int | None]] = {}
        self._ack_topics: dict[Key, str] = {}
        self._thread = self._new_thread()

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._main, name="hub-ingest-writer", daemon=True)

    @property
    def running(self) -> bool:
        """True while the writer thread is alive."""
        return self._thread.is_alive()

    def state(self) -> dict[str, object]:
        """For health: running, restarts, errors caught, the last error."""
        return {"running": self.running, "restarts": self.restarts, "errors": self.errors,
                "last_error": self.last_error, "held_back": self.held_back}

    def ensure_running(self) -> bool:
        """Start the thread again if it died (not while stopping); True when it did."""
        if not self._started or self._stopping.is_set() or self._thread.is_alive():
            return False
        log.critical("the ingest thread is not running (%s); starting it again", self.last_error)
        self.restarts += 1
        self._metrics.ingest_restarts.inc()
        self._thread = self._new_thread()
        self._thread.start()
        return True

    def submit(self, message: Incoming) -> None:
        """Hand over one message (called on the network thread; never blocks)."""
        self._queue.put(message)

    def start(self) -> None:
        """Start the writer thread."""
        self._started = True
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit and ack as many messages as are queued now, then end the thread (live ones
        that arrive meanwhile go first and may take the place of a backlog's: what is left is
        not acked, and the broker delivers it again to the next session)."""
        self._budget = self._queue.qsize()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def busy_time(self) -> float:
        """Seconds spent committing and acking batches so far, the one under way included (the
        reasons pass rests while this grows as fast as the clock: ``hub.finance.reasons``)."""
        started = self._batch_started
        return self._busy_seconds + (time.monotonic() - started if started is not None else 0.0)

    def _main(self) -> None:
        try:
            self._run()
        except BaseException as err:  # recorded for health; the thread ends here either way
            self.last_error = f"the ingest thread died: {err!r}"
            log.critical(self.last_error, exc_info=True)
            self._put_back()

    def _put_back(self) -> None:
        """Queue the dying thread's batch again for the restarted one; a message that was in
        flight at two deaths is left unacked instead (the broker redelivers it next session)."""
        for message in self._inflight:
            key = (message.generation, message.mid)
            if key not in self._requeued:
                self._requeued.add(key)
                self._queue.put(message)
        self._inflight = []

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            if stopping and self._budget <= 0:
                return
            batch = self._collect(min(self._batch_size, self._budget) if stopping else
                                  self._batch_size)
            if batch:
                self._inflight = batch
                try:
                    self._process_with_retry(batch)
                except Exception as err:  # counted; the thread must go on
                    self._caught(err, batch)
                self._inflight, self._batch_started = [], None
                self._budget -= len(batch) if stopping else 0
            elif stopping:
                return

    def _caught(self, err: Exception, batch: Sequence[Incoming]) -> None:
        """Last resort: the batch is not acked (the broker redelivers it to the next session)."""
        self.errors += 1
        self.last_error = f"ingest batch of {len(batch)} failed: {err!r}"
        self._metrics.ingest_errors.inc()
        log.exception("ingest batch of %d failed and is left unacked; ingest goes on", len(batch))

    def _collect(self, limit: int) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.05)
        except queue.Empty:
            return []
        behind = self._queue.qsize() > 0  # others were waiting: take them, then commit
        batch = [first]
        events = len(first.parts())  # a batch message counts as its events
        deadline = time.monotonic() + self._batch_s
        while events < limit:
            wait = gather_wait(behind, deadline, time.monotonic())
            try:
                message = (self._queue.get_nowait() if wait <= 0 else
                           self._queue.get(timeout=wait))
            except queue.Empty:
                break
            batch.append(message)
            events += len(message.parts())
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
                self._unprocessable(pending[0], err)
                pending.clear()
                return
            log.exception("ingest batch of %d failed; retrying one by one", len(pending))
        while pending:
            self._process(pending[:1])
            pending.pop(0)

    def _commit(self, batch: Sequence[Incoming]) -> None:
        started = self._batch_started = time.monotonic()
        try:
            owners = [m for m in batch for _ in m.parts()]  # the message of each part
            classified = [part for m in batch for part in m.parts()]
            with writing(self._engine, tip_last=self._tip_last) as tx:
                result = store_batch(tx, classified, self._evidence, self._shared,
                                     self._may_hold(owners, classified))
        except HubError:
            raise
        except Exception as err:  # a bug, or a value the DB refuses: isolated
            raise HubError(f"ingest failed: {err!r}") from err
        if result.held_back:
            batch = self._hold(batch, owners, classified, result.held_back)
        self._done(batch, result, started, len(classified))

    def _may_hold(self, owners: Sequence[Incoming], classified: Sequence[object]) -> set[str]:
        """Several workers: the events young enough to be held back if they come early
        (``owners``: the message each of ``classified`` came in)."""
        if not self._shared:
            return set()
        now = time.monotonic()
        return {c.envelope.id for m, c in zip(owners, classified, strict=True)
                if isinstance(c, NodeEvent)
                and now - self._first_try.get((m.generation, m.mid), now) < HOLD_EARLY_S}

    def _hold(self, batch: Sequence[Incoming], owners: Sequence[Incoming],
              classified: Sequence[object], held: set[str]) -> list[Incoming]:
        """Offer the messages with a held-back event again a moment later (unacked; what else
        they carry was stored, and comes back as duplicates); return the others."""
        later = list({id(m): m for m, c in zip(owners, classified, strict=True)
                      if isinstance(c, NodeEvent) and c.envelope.id in held}.values())
        self.held_back += len(later)
        if len(self._first_try) > 100_000:  # held messages of connections long gone
            self._first_try.clear()
        now = time.monotonic()
        for message in later:
            self._first_try.setdefault((message.generation, message.mid), now)
        timer = threading.Timer(HOLD_STEP_S, self._offer_again, args=(later,))
        timer.daemon = True
        timer.start()
        kept = {id(m) for m in later}
        return [m for m in batch if id(m) not in kept]

    def _done(self, batch: Sequence[Incoming], result: BatchResult, started: float,
              events: int) -> None:
        """After a commit: PUBACK ``batch``'s messages, publish the nodes' acks, count."""
        now, waited = utc_now(), self._metrics.ingest_wait
        with self._link.one_wake():  # a batch's PUBACKs leave together
            for message in batch:
                waited.observe((now - message.received_at).total_seconds())
                self._link.ack(message.mid, message.qos, message.generation)
                if self._first_try:
                    self._first_try.pop((message.generation, message.mid), None)
        self._publish_acks(result.acks, result.resent)
        self._count(batch, events, result, time.monotonic() - started)
        self._on_batch(result)

    def _unprocessable(self, message: Incoming, err: HubError) -> None:
        """One message that cannot be stored: take its seq if it names one, else dead-letter it.
        A batch message is stored event by event, each that cannot be stored handled so."""
        parts = message.parts()
        if len(parts) == 1:
            self._unprocessable_part(message, parts[0], err)
            return
        log.error("a batch of %d events on %s could not be stored (%s): storing them one by "
                  "one", len(parts), message.topic, err)
        for part in parts:
            started = time.monotonic()
            try:
                with writing(self._engine) as tx:
                    result = store_batch(tx, [part], self._evidence)
            except HubError as alone:
                if _transient(alone):
                    raise
                self._unprocessable_part(message, part, alone, ack=False)
                continue
            except Exception as bug:  # as _commit: a bug, or a value the DB refuses
                self._unprocessable_part(message, part, HubError(f"ingest failed: {bug!r}"),
                                         ack=False)
                continue
            self._done([], result, started, 1)  # the message is PUBACKed once, below
        self._link.ack(message.mid, message.qos, message.generation)

    def _unprocessable_part(self, message: Incoming, classified: Classified, err: HubError,
                            ack: bool = True) -> None:
        """One event (or message) that cannot be stored: take its seq if it names one, else
        dead-letter it; then PUBACK its message (``ack``: unless more of it is to come)."""
        started = time.monotonic()
        log.error("message on %s could not be stored: %s", message.topic, err)
        reason = f"the hub could not store or apply it: {err}"
        payload = (message.payload if len(message.parts()) == 1 else  # as it came, if alone
                   encode(classified.envelope) if isinstance(classified, NodeEvent) else
                   getattr(classified, "payload", message.payload))
        if isinstance(classified, NodeEvent):
            env = classified.envelope
            classified = Unprocessable(classified.store_id, classified.node_id, env.seq, env.id,
                                       reason, None, payload)
        if isinstance(classified, Unprocessable) and classified.reason == reason:
            try:
                with writing(self._engine) as tx:
                    result = store_batch(tx, [classified], self._evidence)
                self._done([message] if ack else [], result, started, 1)
                return
            except HubError as again:
                if _transient(again):
                    raise
                log.error("could not record %s as unprocessable either: %s", message.topic, again)
            except Exception:  # fall back to a plain dead letter below
                log.exception("could not record %s as unprocessable", message.topic)
        with writing(self._engine) as tx:
            tx.conn.execute(dead_letters.insert(), [dead_letter_row(
                tx.now, message.topic, _sender(message.topic), reason, None, payload)])
        if ack:
            self._link.ack(message.mid, message.qos, message.generation)
        self._metrics.dead_letters.inc()

    def _offer_again(self, messages: Sequence[Incoming]) -> None:
        for message in messages:
            self._queue.put(message)

    def _publish_acks(self, acks: Mapping[Key, Ack], resent: Set[Key] = frozenset()) -> None:
        """One retained ack per node per batch, and none that repeats the last one published on
        this connection (the broker holds that one; after a reconnect each is published again)
        unless the node resent events (``resent``: it has not heard that ack)."""
        if not self._shared or not acks:
            self._send_acks(acks, resent)
            return
        try:
            with reading(self._engine) as conn:  # the nodes stay locked FOR SHARE until queued
                self._send_acks(committed_acks(conn, acks), resent)
        except HubError as err:  # committed all the same: the nodes' resends fetch the ack
            log.warning("acks of %d node(s) not published after the commit: %s", len(acks), err)

    def _send_acks(self, acks: Mapping[Key, Ack], resent: Set[Key]) -> None:
        generation = getattr(self._link, "generation", 0)
        said = {key: (generation, ack.up_to_seq, ack.gap_after) for key, ack in acks.items()}
        due = [(key, ack) for key, ack in acks.items()
               if key in resent or self._acked.get(key) != said[key]]
        stamp, ids = format_utc(utc_now()), new_message_ids(len(due))
        with self._link.one_wake():  # retained at QoS 0 (see the module's rules)
            for (key, ack), message_id in zip(due, ids, strict=True):
                if self._link.publish(self._ack_topic(key), _ack_json(key, ack, stamp, message_id),
                                      qos=0, retain=True):
                    self._acked[key] = said[key]

    def _ack_topic(self, key: Key) -> str:
        topic = self._ack_topics.get(key)
        if topic is None:
            topic = self._ack_topics[key] = node_topic(key[0], key[1], TopicKind.ACKS)
        return topic

    def _count(self, batch: Sequence[Incoming], events: int, result: BatchResult,
               seconds: float) -> None:
        m = self._metrics
        for kind, count in Counter(i.topic.rsplit("/", 1)[-1][:20] for i in batch).items():
            m.messages.labels(topic_kind=kind).inc(count)
        m.events_stored.inc(result.stored)
        m.events_applied.inc(result.applied)
        m.duplicates.inc(result.duplicates)
        m.gaps.inc(result.new_gaps)
        m.gap_waits.inc(len(result.waiting))
        said = self._gap_log.report(result.waiting)
        if said:
            log.warning(said)
        m.dead_letters.inc(len(result.dead))
        m.unprocessable.inc(result.unprocessable)
        m.batch_size.observe(events)
        m.batch_seconds.observe(seconds)
        self._busy_seconds += seconds
        self._batch_started = None
        for reason in result.dead:
            log.warning("dead letter: %s", reason)


def gather_wait(behind: bool, deadline: float, now: float) -> float:
    """How long the writer may wait for the next message of the batch it gathers (0: take only
    what is queued): ``behind``, the batch began with messages waiting, so it takes those only;
    else it gathers a burst until ``deadline`` (``ingest_batch_ms`` after the first message),
    waiting at most ``IDLE_GAP_S`` for each next message."""
    return 0.0 if behind else min(deadline - now, IDLE_GAP_S)


def ack_payload(key: Key, ack: Ack, at: datetime, message_id: str | None = None) -> bytes:
    """The retained ack for node ``key``: the bytes the codec's ``encode`` gives for the
    envelope ``make_envelope`` would wrap it in.

    Written out directly, a twentieth of the codec's time (20 µs an ack on the 2-core machine,
    and the hub sends about one ack per event): each value is valid by construction (the node's
    ids came from a topic that parsed, ``ack`` is a validated ``Ack``, the id is fresh) and the
    ids are quoted as JSON all the same (tests/hub/test_writer.py holds the bytes to the
    codec's)."""
    return _ack_json(key, ack, format_utc(at), message_id or new_message_id())


def _ack_json(key: Key, ack: Ack, stamp: str, message_id: str) -> bytes:
    gap = "" if ack.gap_after is None else f',"gap_after":{int(ack.gap_after)}'
    return (f'{{"id":{_quoted(message_id)},"store_id":{_quoted(key[0])},'
            f'"node_id":{_quoted(key[1])},"seq":0,"kind":"ack","schema":{SCHEMA_VERSION},'
            f'"occurred_at":"{stamp}","body":{{"up_to_seq":{int(ack.up_to_seq)}{gap}}}}}'
            ).encode()


_quoted = json.encoder.encode_basestring  # a JSON string, as the codec's json.dumps writes it


def _transient(err: HubError) -> bool:
    return isinstance(err, StorageError) and is_transient(err)


def _sender(topic: str) -> str | None:
    try:
        parsed = parse_topic(topic)
    except ValueError:
        return None
    return f"{parsed.store_id}/{parsed.node_id}" if parsed.node_id else parsed.store_id
