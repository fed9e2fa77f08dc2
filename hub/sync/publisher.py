"""The command publisher: one thread that sends queued hub -> node commands until applied.

It wakes when told: after every commit in this process that queued commands (the runtime
registers ``wake`` with ``hub.storage.outbox.on_queued``), when a node came online, when the hub
reconnected; and every ``command_poll_seconds``, for commands queued by another process (e.g. the
CLI), which cannot wake it. Each pass publishes, QoS 1, every unapplied command that was never
sent, was last sent more than ``command_resend_seconds`` ago, or belongs to a node that just came
online. With several hub workers only the leader publishes (``gate``, ``hub.sync.leader``): a
commit on another worker wakes nothing there, and the leader finds the command at its next poll;
a node that came online in another worker's batch gets its unapplied commands at the next
resend round.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

from hub.errors import StorageError
from hub.metrics import HubMetrics
from hub.storage import outbox
from hub.storage.engine import reading, writing
from hub.sync.mqtt import HubLink
from protocol import TopicKind, encode, node_topic, utc_now

log = logging.getLogger(__name__)

Key = tuple[str, str]


class CommandPublisher:
    """Owns the publishing thread; ``wake`` is safe from any thread."""

    def __init__(self, engine: Engine, link: HubLink, metrics: HubMetrics,
                 resend_seconds: float, poll_seconds: float,
                 gate: Callable[[], bool] = lambda: True) -> None:
        self._engine = engine
        self._link = link
        self._metrics = metrics
        self._resend = resend_seconds
        self._gate = gate
        self._poll = min(poll_seconds, resend_seconds)
        self._lock = threading.Lock()
        self._forced: set[Key] = set()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-command-publisher",
                                        daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wake(self, resend_to: Iterable[Key] = ()) -> None:
        """Publish soon; resend every unapplied command of the nodes in ``resend_to``."""
        with self._lock:
            self._forced.update(resend_to)
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self._poll)
            self._wakeup.clear()
            if self._stopping.is_set() or not self._link.connected:
                continue
            if not self._gate():
                with self._lock:
                    self._forced = set()  # another worker leads: its polls send them
                continue
            with self._lock:
                forced, self._forced = self._forced, set()
            try:
                while self.publish_due(forced) >= outbox.DUE_LIMIT and not self._stopping.is_set():
                    forced = set()
            except StorageError as err:
                log.error("could not read the command outbox: %s", err)
                with self._lock:
                    self._forced |= forced

    def publish_due(self, forced: Iterable[Key] = ()) -> int:
        """Publish every due command once; return how many went out."""
        now = utc_now()
        with reading(self._engine) as conn:
            rows = outbox.due(conn, now, self._resend, forced)
        sent = [row.command_id for row in rows if self._link.publish(
            node_topic(row.store_id, row.node_id, TopicKind.COMMANDS),
            encode(outbox.envelope_of(row).resent(now)), qos=1)]
        if sent:
            with writing(self._engine, now) as tx:
                outbox.mark_sent(tx.conn, sent, now)
            self._metrics.commands_published.inc(len(sent))
            log.info("published %d command(s)", len(sent))
        return len(sent)
