"""The hub's background side: the MQTT link, the ingest writer and the command publisher.

Started and stopped by the app's lifespan (so ``acorn-hub serve`` runs API and MQTT in one
process, and SIGTERM stops them together). Stopping order matters: the writer drains and acks
what it holds while the connection is still up, then the publisher stops, then the link
disconnects (the broker keeps the session and redelivers whatever was not acked).

Rules:
- the publisher is woken by the database, not by callers: ``start`` registers it with the
  command outbox (``hub.storage.outbox.on_queued``) for this engine, so every committed
  transaction that queued commands wakes it (a route, the ingest, the Amazon scheduler alike);
  ``stop`` unregisters it first;
- the ingest thread is supervised: every ``ingest_supervise_seconds`` a small thread checks it
  and starts it again if it died; ``ingest_state`` (shown by ``/api/health``) says whether it
  runs, how often it was restarted and why it last failed;
- several workers: the runtime owns the worker's ``PartitionKeeper``
  (``hub.sync.partition_keeper``), which tells the link whose stores' events to take; it stops
  first, so the other workers take this one's stores while its writer drains;
- the runtime owns the worker's ``Leadership`` (``hub.sync.leader``): the command publisher and
  the store config push run only while it leads (always, for a single hub); the app gates its
  schedulers on ``runtime.leadership.leading`` too. Becoming the leader wakes the publisher and
  republishes every store config. The leadership starts before and stops after the parts it
  gates, so a worker stopped cleanly releases the lock last.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from hub.finance.evidence.ingest import EvidenceSink
from hub.metrics import HubMetrics
from hub.settings import Settings
from hub.storage import notices, outbox
from hub.sync.config_push import StoreConfigSync
from hub.sync.ingest.batch import BatchResult
from hub.sync.ingest.classify import Incoming
from hub.sync.ingest.writer import IngestWriter
from hub.sync.leader import Leadership
from hub.sync.mqtt import HubLink
from hub.sync.partition_keeper import PartitionKeeper
from hub.sync.publisher import CommandPublisher

log = logging.getLogger(__name__)


class HubRuntime:
    """Link + writer + publisher, wired together."""

    def __init__(self, settings: Settings, engine: Engine, metrics: HubMetrics) -> None:
        self.settings = settings
        self.leadership = Leadership(engine, settings.shared_ingest, settings.leader_poll_seconds,
                                     on_change=self._on_leadership,
                                     name=settings.mqtt_client_id)
        self.link = HubLink(settings, metrics, on_message=self._on_message,
                            on_connected=self._on_connected,
                            leading=self.leadership.leading)
        self.writer = IngestWriter(engine, self.link, metrics,
                                   settings.ingest_batch_size, settings.ingest_batch_ms,
                                   on_batch=self._on_batch,
                                   evidence=EvidenceSink(settings.evidence_dir,
                                                         settings.evidence_retention_days),
                                   shared=settings.shared_ingest)
        self.publisher = CommandPublisher(engine, self.link, metrics,
                                          settings.command_resend_seconds,
                                          settings.command_poll_seconds,
                                          gate=self.leadership.leading)
        self.config_sync = StoreConfigSync(
            engine, self.link, settings.config_publish_seconds, gate=self.leadership.leading,
            event_batch=settings.ingest_event_batch if settings.ingest_event_batch > 1 else None)
        # several workers: which stores' events this one takes (None: one hub takes them all)
        self.partitions = (PartitionKeeper(engine, settings.mqtt_client_id,
                                           settings.leader_poll_seconds,
                                           on_stores=self.link.follow_stores,
                                           connected=lambda: self.link.connected)
                           if settings.shared_ingest else None)
        self._engine = engine
        self._stop_waking: Callable[[], None] | None = None
        self._stop_config: Callable[[], None] | None = None
        self._started = False
        self._stop_supervising = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="hub-ingest-supervisor",
                                            daemon=True)

    def ingest_state(self) -> dict[str, object]:
        """Is the ingest thread running; restarts, errors caught, the last error; how many
        workers share the ingest and whether this one runs the schedulers (``leading``)."""
        shares = self.partitions.state() if self.partitions is not None else {}
        return {**self.writer.state(), "workers": self.settings.hub_workers,
                "leading": self.leadership.leading(), **shares}

    def _supervise(self) -> None:
        while not self._stop_supervising.wait(self.settings.ingest_supervise_seconds):
            try:
                self.writer.ensure_running()
            except Exception:  # the supervisor itself must not die: try again next round
                log.exception("could not restart the ingest thread")

    def start(self) -> None:
        """Take part in the leadership, start writer and publisher, then connect."""
        self.leadership.start()
        self.writer.start()
        self._supervisor.start()
        self.publisher.start()
        self._stop_waking = outbox.on_queued(self._engine, self._wake_publisher)
        self._stop_config = notices.on_store_config_changed(self._engine, self.config_sync.wake)
        self.config_sync.start()
        self.link.start()
        if self.partitions is not None:
            self.partitions.start()
        self._started = True
        log.info("MQTT ingest started for %s:%d as %s", self.settings.mqtt_host,
                 self.settings.mqtt_port, self.settings.mqtt_username)

    def stop(self) -> None:
        """Drain and ack, stop publishing, disconnect."""
        if not self._started:
            return
        for stop in (self._stop_waking, self._stop_config):
            if stop is not None:
                stop()
        self._stop_waking = self._stop_config = None
        self._stop_supervising.set()
        self._supervisor.join(5)
        if self.partitions is not None:
            self.partitions.stop()  # the others take our stores while we drain
        self.writer.stop()
        self.publisher.stop()
        self.config_sync.stop()
        self.link.stop()
        self.leadership.stop()
        self._started = False
        log.info("MQTT ingest stopped")

    def _wake_publisher(self) -> None:
        self.publisher.wake()

    def _on_message(self, message: Incoming) -> None:
        self.writer.submit(message)

    def _on_connected(self) -> None:
        if self.partitions is not None:
            self.partitions.wake()
        self.publisher.wake()
        self.config_sync.wake(republish=True)  # the broker may have lost retained configs

    def _on_leadership(self, leading: bool) -> None:
        if leading:
            self.publisher.wake()
            self.config_sync.wake(republish=True)

    def _on_batch(self, result: BatchResult) -> None:
        # commands the batch queued woke the publisher when it committed; a node that came
        # online needs its unapplied commands sent again
        if result.came_online:
            self.publisher.wake(result.came_online)
            if self.partitions is not None:  # it may be a store no worker takes events of yet
                self.partitions.wake()
