"""The MQTT link to the hub: drains the outbox, applies acks and commands, publishes presence.

Rules:
- the login is the node's certificate over mutual TLS when the settings name one (the broker's
  certificate is checked against the fleet CA and its host name), else user name and password;
- paho-mqtt 2 (callback API v2), MQTT 3.1.1, ``clean_session=False`` and a stable client id (the
  broker user name ``edge.{store}.{node}``), so the broker keeps our subscriptions and queued
  commands while we are away; QoS 1 everywhere; reconnect with paho's exponential backoff;
- last will: a retained ``node.status`` {state: offline}; on every connect a retained
  {state: online} with version, outbox depth and last acked seq, the oldest unsent event's time,
  the store config version and the printer's and scanner's state (``peripherals``, set by the
  agent), refreshed every ``status_interval_seconds``, and an explicit offline status on a clean
  stop; the will's figures are those of when the client was made (paho fixes it then): the hub
  takes only the presence from a status older than the one it holds, so the fleet page keeps the
  figures of the node's last refresh;
- durability is the SQLite outbox plus the hub's ack, never paho's memory: events are read from
  the outbox in seq order (500 rows a read), published as ``encode(envelope.resent())``, and
  deleted only when a (retained) ack covers them; ``SendWindow`` decides what is due and
  ``Pace`` sizes its window from the hub's ack delay (small after a connect, so a fleet
  reconnecting at once cannot overflow the broker's queue for the hub: ``edge_agent.sync.pace``);
- an ack opens the window at once, but the outbox rows it covers are deleted in batches (every
  ``ACK_FLUSH_SECONDS`` or ``READ_BATCH`` rows, and on stop): a deletion lost in a crash only
  means those events are sent again, which the hub's (node, seq) dedup absorbs;
- the store config (retained) is applied by ``store_config.receive``, newer versions only;
- incoming messages are acknowledged to the broker (manual PUBACK) only after their effect is
  committed, so a crash before the commit makes the broker deliver them again;
- paho's callbacks only enqueue; one worker thread owns the window, the database work and the
  sending, so there is no shared mutable state beyond the queue and the ``connected`` flag;
- a renewed certificate (``reconnect``, called after ``edge_agent.enrolment`` wrote it) is
  taken up by the worker: it disconnects cleanly, drops the old paho client and connects a new
  one built from the files as they are now (paho reads them only when TLS is set up), with the
  same client id and persistent session, so nothing queued at the broker is lost;
- nothing here raises into the API: a publish while disconnected is skipped, a bad message is
  logged (and a bad command recorded as refused), a database error is logged and retried;
- the sequence never moves backwards: after each connect nothing is sent until the hub's
  position is known (its retained ack, or ``POSITION_WAIT`` after the SUBACK with none); an ack
  beyond what this node has written means its database lost commits (a rolled-back or replaced
  file): the error is logged, health says so, ``next_seq`` moves past the hub's position in the
  same transaction that drops the rows the hub holds, and only then does sending resume, so no
  acked seq is ever reused;
- an outbox row that fails its checksum is sent from the journal's copy, or not at all (health
  says so): nothing damaged is ever published;
- several brokers (``settings.brokers``, docs/operations/broker-ha.md): the node goes where the
  hub is. It connects to the first broker of its list and reads the hub's presence there; it
  sends events only while the hub's live presence says online (a retained copy is not enough: a
  broker restarted from its persistence file may hold an "online" the hub left there before the
  broker died), and moves to the next broker (round robin) when the hub has not been heard for
  ``hub_wait_seconds`` or the broker cannot be reached; before it leaves a broker it publishes
  its offline status there. What it records never depends on this: the outbox keeps every
  event until the hub acks it, and after a move it resends from the last ack. With one broker
  none of this happens (no presence is read, sending waits for nothing but the hub's position);
- tell, don't poll: the worker calls the agent's listener (``edge_agent.sync.changes``) the
  moment a command or the store config is handled, acked rows are deleted, or the connection
  goes up or down (each change once, in order); a listener that raises is logged and the link
  goes on, since what it missed is still in the store for the next read.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.errors import DiskFull
from edge_agent.metrics import Metrics
from edge_agent.settings import EdgeSettings
from edge_agent.staff import store_config
from edge_agent.stock.snapshot import Signer
from edge_agent.storage import outbox
from edge_agent.storage.journal import read_journal
from edge_agent.storage.outbox import NEXT_SEQ, CorruptEvent, SendWindow
from edge_agent.storage.store import Problem, Store
from edge_agent.sync import changes, commands
from edge_agent.sync.pace import Pace
from protocol import (
    HUB_PRESENCE_TOPIC,
    MAX_PAYLOAD_BYTES,
    PRESENCE_KINDS,
    Ack,
    BrokerAddress,
    DecodeError,
    Envelope,
    HubPresence,
    NodeStatus,
    TopicKind,
    config_topic,
    decode,
    encode,
    encode_batch,
    make_envelope,
    node_topic,
    utc_now,
)

log = logging.getLogger(__name__)

READ_BATCH = 500
BATCH_HEAD_BYTES = 1024  # an event.batch's own envelope, with room to spare
MAX_INFLIGHT = 200
IDLE_WAIT = 1.0
ACK_FLUSH_SECONDS = 0.2
ACK_KINDS = frozenset({"ack"})
WAKE_COALESCE_SECONDS = 0.004
POSITION_WAIT = 0.5  # after our SUBACK, a retained ack would have arrived by now
POSITION_WAIT_MAX = 3.0  # after a connect, whatever happened to the SUBACK
MIN_TRY_SECONDS = 1.0  # a broker that cannot be reached is tried this long before the next one


@dataclass
class _Incoming:
    """One queued item for the worker: a wake-up, a connection change or a message."""

    what: str
    message: mqtt.MQTTMessage | None = None
    generation: int = 0


@dataclass
class _PendingAck:
    """The best ack seen in one drain of the queue."""

    up_to: int = -1
    gap: bool = False
    messages: list[tuple[mqtt.MQTTMessage, int]] = field(default_factory=list)


class _Client(mqtt.Client):
    """paho's client, but its wait between connection attempts ends the moment the link drops
    it (``drop``): paho's own wait sleeps in steps of up to a second, which ``loop_stop`` (at
    every stop, and when a renewal or a move replaces the client) would wait out while the
    broker cannot be reached. The backoff is paho's: the minimum delay, doubling up to the
    maximum (``reconnect_delay_set``), from the minimum again after each accepted connect."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, **kwargs)
        self._dropped = threading.Event()
        self._bounds: tuple[float, float] = (1.0, 120.0)  # paho's defaults
        self._delay: float | None = None

    def reconnect_delay_set(self, min_delay: int = 1, max_delay: int = 120) -> None:
        super().reconnect_delay_set(min_delay, max_delay)
        self._bounds, self._delay = (min_delay, max_delay), None

    def accepted(self) -> None:
        """A connect was accepted: the next wait starts from the minimum again."""
        self._delay = None

    def drop(self) -> None:
        """Disconnect and stop the network thread, without waiting out a reconnect delay."""
        self.disconnect()  # first: once woken, paho's loop sees the state and ends
        self._dropped.set()
        self.loop_stop()

    def _reconnect_wait(self) -> None:
        """paho's wait before the next connection attempt (on its network thread)."""
        low, high = self._bounds
        self._delay = low if self._delay is None else min(self._delay * 2, high)
        self._dropped.wait(self._delay)


class Link:
    """One node's MQTT connection; ``start`` once, ``stop`` once."""

    def __init__(self, settings: EdgeSettings, store: Store, metrics: Metrics,
                 version: str, listener: changes.Listener | None = None) -> None:
        self._settings, self._store, self._metrics = settings, store, metrics
        self._listener = listener
        self.signer: Signer | None = None  # the node's key: signs the snapshots the hub asks for
        self._told_connected: bool | None = None
        self._version = version
        sid, nid = settings.store_id, settings.node_id
        self._topics = {kind: node_topic(sid, nid, kind) for kind in
                        (TopicKind.EVENTS, TopicKind.COMMANDS, TopicKind.ACKS, TopicKind.STATUS)}
        self._config_topic = config_topic(sid)
        self._inbox: queue.SimpleQueue[_Incoming] = queue.SimpleQueue()
        with store.write() as tx:
            outbox.mark_unverified(tx)
            acked = outbox.figures(tx).last_acked_seq
        self._acked_in_store, self._flushed_at = acked, 0.0
        self._window = SendWindow(settings.outbox_window, settings.resend_after_seconds,
                                  settings.resend_max_seconds, last_acked=acked,
                                  next_to_send=acked + 1)
        self._pace = Pace(settings.outbox_window)
        self._up = threading.Event()
        self._stopping = threading.Event()
        self._generation = 0
        self._own_sub_mid = -1
        self._sub_lock = threading.Lock()
        self._sub_waiters: dict[int, tuple[threading.Event, list[ReasonCode]]] = {}
        self._connected_at: datetime | None = None
        # (receipt printer state, scanner state) for the status message; set by the agent
        self.peripherals: Callable[[], tuple[str | None, str | None]] | None = None
        # the last self-test's NodeStatus fields (clock offset, disk, when, passed, failing)
        self.selftest: Callable[[], dict[str, Any]] | None = None
        self._next_status = 0.0
        self._failure_logged = False
        # why the broker last refused this node's connection (its CONNACK reason, e.g. "Not
        # authorized"), None once it accepts it or cannot be reached: the agent's health says it
        self.refusal: str | None = None
        self._position_known = False
        self._position_deadline = 0.0
        self._halted = False
        self._event_batch: int | None = None  # events per message the hub reads (config)
        self.subscribed = False
        self._brokers = settings.brokers
        self._at = 0  # index of the broker we are on (or trying) in self._brokers
        self._hub_online = False  # the hub's last live presence on this broker said online
        self._hub_deadline = time.monotonic() + settings.hub_wait_seconds
        self._tried_at = time.monotonic()
        self._client = self._make_client()
        self._worker = threading.Thread(target=self._run, name=f"edge-link-{nid}", daemon=True)

    @property
    def connected(self) -> bool:
        """True while the broker connection is up."""
        return self._up.is_set()

    @property
    def broker(self) -> BrokerAddress:
        """The broker this node is on (or trying)."""
        return self._brokers[self._at]

    @property
    def several_brokers(self) -> bool:
        """True when the node has a list of brokers and follows the hub between them."""
        return len(self._brokers) > 1

    def _make_client(self) -> _Client:
        s = self._settings
        client = _Client(client_id=s.mqtt_client_id, clean_session=False,
                         protocol=mqtt.MQTTv311, manual_ack=True)
        if s.mqtt_tls:
            # mutual TLS: the broker takes our identity from the certificate's CN
            client.tls_set(ca_certs=str(s.mqtt_tls_ca_file), certfile=str(s.mqtt_tls_cert_file),
                           keyfile=str(s.mqtt_tls_key_file), cert_reqs=ssl.CERT_REQUIRED,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        else:
            password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
            client.username_pw_set(s.broker_username, password)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, s.mqtt_reconnect_max_seconds)
        client.will_set(self._topics[TopicKind.STATUS], self._status_payload("offline"), qos=1,
                        retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and start the worker."""
        s = self._settings
        log.info("MQTT link to %s as %s%s", self.broker, s.broker_username,
                 " (mutual TLS)" if s.mqtt_tls else "")
        self._client.connect_async(self.broker.host, self.broker.port,
                                   keepalive=s.mqtt_keepalive_seconds)
        self._client.loop_start()
        self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say offline, disconnect and join both threads."""
        self._stopping.set()
        self.notify()
        if self._worker.is_alive():
            self._worker.join(timeout)
        self._client.drop()
        self._up.clear()
        self._metrics.broker_connected.set(0)

    def wait_connected(self, timeout: float) -> bool:
        """True once the link is connected (waiting up to ``timeout`` seconds)."""
        return self._up.wait(timeout)

    def status_now(self) -> None:
        """Publish the retained status at the next turn (e.g. a new self-test report)."""
        self._next_status = 0.0
        self.notify()

    def notify(self) -> None:
        """Wake the worker: new outbox rows to send."""
        self._inbox.put(_Incoming("wake"))

    def reconnect(self) -> None:
        """Connect again with the certificate files as they are now (after a renewal)."""
        self._inbox.put(_Incoming("reconnect"))

    def subscribe(self, topic: str, timeout: float = 5.0) -> list[ReasonCode]:
        """Subscribe and return the broker's reason codes (a refused topic gives a failure code)."""
        done, codes = threading.Event(), list[ReasonCode]()
        with self._sub_lock:  # the SUBACK cannot be handled before the waiter is registered
            result, mid = self._client.subscribe(topic, qos=1)
            if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
                raise ConnectionError(f"cannot subscribe to {topic}: {mqtt.error_string(result)}")
            self._sub_waiters[mid] = (done, codes)
        if not done.wait(timeout):
            raise TimeoutError(f"no SUBACK for {topic} in {timeout}s")
        return codes

    # -- paho callbacks (paho's thread): enqueue only --------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _flags: Any, reason: ReasonCode,
                    _props: Any) -> None:
        if reason.is_failure:
            if not self._failure_logged:
                log.error("broker %s refused the connection: %s", self.broker, reason)
                self._failure_logged = True
            self.refusal = str(reason)
            self._inbox.put(_Incoming("connect_failed"))
            return
        self._failure_logged = False
        self.refusal = None
        if isinstance(client, _Client):
            client.accepted()
        self._generation += 1
        topics = [self._topics[TopicKind.COMMANDS], self._topics[TopicKind.ACKS],
                  self._config_topic, *([HUB_PRESENCE_TOPIC] if self.several_brokers else [])]
        _, mid = client.subscribe([(topic, 1) for topic in topics])
        self._own_sub_mid = -1 if mid is None else mid
        self._up.set()
        self._inbox.put(_Incoming("connected", generation=self._generation))

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self.refusal = None  # not reached: nobody refused (health says the link is down)
        if not self._failure_logged:
            log.warning("cannot reach the MQTT broker at %s; retrying with backoff", self.broker)
            self._failure_logged = True
        self._inbox.put(_Incoming("connect_failed"))

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode,
                       _props: Any) -> None:
        if self._up.is_set() and not self._stopping.is_set():
            log.warning("MQTT link lost: %s", reason)
        self._up.clear()
        self._inbox.put(_Incoming("disconnected"))

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Incoming("message", message, self._generation))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: list[ReasonCode],
                      _props: Any) -> None:
        if mid == self._own_sub_mid:
            self._inbox.put(_Incoming("subscribed", generation=self._generation))
            self.subscribed = not any(code.is_failure for code in codes)
            if not self.subscribed:
                log.error("broker refused a subscription of this node: %s", codes)
        with self._sub_lock:
            waiter = self._sub_waiters.pop(mid, None)
        if waiter is not None:
            waiter[1].extend(codes)
            waiter[0].set()

    # -- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._drain(self._wait_time())
                self._flush_acks()
                self._follow_hub()
                if self._window.connected and not self._stopping.is_set():
                    if self._knows_position() and self._hub_here():
                        self._send_due()
                    self._status_if_due()
            except DiskFull as err:  # health says "disk full"; acks and commands wait for room
                log.warning("MQTT link paused: %s", err)
                self._stopping.wait(1.0)
            except sqlite3.Error:
                log.exception("database error in the MQTT link; retrying in 1 s")
                self._stopping.wait(1.0)
        try:
            self._flush_acks(force=True)
        except (sqlite3.Error, DiskFull):
            log.exception("could not record the last ack; its events will be resent")
        self._say_offline()

    def _wait_time(self) -> float:
        now = time.monotonic()
        waits = [IDLE_WAIT]
        if self._window.last_acked > self._acked_in_store:
            waits.append(self._flushed_at + ACK_FLUSH_SECONDS - now)
        if self._window.connected:
            waits.append(self._next_status - now)
            if not self._position_known:
                waits.append(self._position_deadline - now)
        if self.several_brokers:
            waits.append(self._hub_deadline - now)
            deadline = self._window.deadline(self._last_written())
            if deadline is not None:
                waits.append(deadline - now)
        return max(0.001, min(waits))

    def _last_written(self) -> int:
        with self._store.read() as tx:
            return tx.counter(NEXT_SEQ) - 1

    def _drain(self, timeout: float) -> None:
        try:
            items = [self._inbox.get(timeout=timeout)]
        except queue.Empty:
            return
        if items[0].what == "wake":
            # let the API thread that just committed finish its answer before we take the GIL,
            # and pick up whatever else the counter writes meanwhile in the same pass
            self._stopping.wait(WAKE_COALESCE_SECONDS)
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        acks = _PendingAck()
        for item in items:
            self._handle(item, acks)
        if acks.messages:
            self._apply_ack(acks)

    def _handle(self, item: _Incoming, acks: _PendingAck) -> None:
        if item.what == "connected":
            self._on_connected()
            self._tell_connection(True)
        elif item.what == "disconnected":
            self._window.on_disconnect()
            self._metrics.broker_connected.set(0)
            self._tell_connection(False)
        elif item.what == "message" and item.message is not None:
            self._on_incoming(item.message, item.generation, acks)
        elif item.what == "reconnect" and not self._stopping.is_set():
            self._new_client("with the certificate now in "
                             f"{self._settings.mqtt_tls_cert_file}")
        elif item.what == "connect_failed" and self.several_brokers:
            if time.monotonic() - self._tried_at >= MIN_TRY_SECONDS:
                self._move_on(f"the broker at {self.broker} cannot be reached")
        elif item.what == "subscribed" and item.generation == self._generation:
            self._position_deadline = min(self._position_deadline,
                                          time.monotonic() + POSITION_WAIT)

    # -- several brokers: follow the hub --------------------------------------------------------

    def _hub_here(self) -> bool:
        """True when events may be sent: one broker, or the hub was heard here lately."""
        return not self.several_brokers or (self._hub_online
                                            and time.monotonic() < self._hub_deadline)

    def _follow_hub(self) -> None:
        """Move to the next broker once the hub has not been heard here for hub_wait_seconds."""
        if (self.several_brokers and not self._stopping.is_set()
                and time.monotonic() >= self._hub_deadline):
            self._move_on(f"the hub has not been heard on {self.broker} for "
                          f"{self._settings.hub_wait_seconds:g} s")

    def _on_presence(self, message: mqtt.MQTTMessage, generation: int) -> None:
        """A live presence of the hub on this broker; a retained copy may be stale (rules)."""
        if generation == self._generation and not message.retain:
            presence = read_presence(bytes(message.payload))
            if presence is not None:
                self._hub_online = presence.state == "online"
                if self._hub_online:
                    self._hub_deadline = time.monotonic() + self._settings.hub_wait_seconds
        self._puback(message, generation)

    def _move_on(self, why: str) -> None:
        """Leave this broker (saying offline there) for the next one of the list."""
        self._say_offline()
        self._at = (self._at + 1) % len(self._brokers)
        log.warning("%s: moving to the broker at %s", why, self.broker)
        self._new_client(f"after {why}")

    def _new_client(self, why: str) -> None:
        """Replace the paho client by one built from the settings' files, and connect it to
        ``self.broker`` (the same one after a renewal, the next one after ``_move_on``)."""
        old = self._client
        old.drop()  # clean: the broker publishes no last will; the new login says online
        old.on_connect = old.on_connect_fail = old.on_disconnect = old.on_message = None
        old.on_subscribe = None
        self._up.clear()
        self._window.on_disconnect()
        self._metrics.broker_connected.set(0)
        self._tell_connection(False)
        self._hub_online = False
        self._tried_at = time.monotonic()
        self._hub_deadline = self._tried_at + self._settings.hub_wait_seconds
        self._failure_logged = False
        log.info("MQTT link connects to %s %s", self.broker, why)
        self._client = self._make_client()
        self._client.connect_async(self.broker.host, self.broker.port,
                                   keepalive=self._settings.mqtt_keepalive_seconds)
        self._client.loop_start()

    def _knows_position(self) -> bool:
        """True once the hub's position (its retained ack) is known, or surely there is none."""
        if not self._position_known and time.monotonic() >= self._position_deadline:
            with self._store.write() as tx:
                outbox.settle(tx, None)  # no ack for us at the hub: nothing to collide with
            self._position_known = True
        return self._position_known and not self._halted

    def _on_connected(self) -> None:
        self._position_known = False
        self._position_deadline = time.monotonic() + POSITION_WAIT_MAX
        self._connected_at = utc_now()
        self._window.on_connect(time.monotonic())
        self._hub_batch()  # the floor is one full message when the hub reads batches
        self._pace.on_connect(self._window)
        self._metrics.broker_connected.set(1)
        self._next_status = 0.0
        self._hub_online = False  # the hub must be heard on this connection
        self._hub_deadline = time.monotonic() + self._settings.hub_wait_seconds
        log.info("MQTT link up on %s; resending from seq %d", self.broker,
                 self._window.last_acked + 1)

    def _on_incoming(self, message: mqtt.MQTTMessage, generation: int,
                     acks: _PendingAck) -> None:
        topic = message.topic
        if topic == self._topics[TopicKind.ACKS]:
            self._collect_ack(message, generation, acks)
            return
        if topic == HUB_PRESENCE_TOPIC:
            self._on_presence(message, generation)
            return
        if topic == self._topics[TopicKind.COMMANDS]:
            outcome = commands.handle(self._store, self._settings.store_id,
                                      self._settings.node_id, bytes(message.payload),
                                      utc_now(), signer=self.signer)
            self._metrics.commands.labels(result=outcome.result).inc()
            self._tell(changes.Applied(outcome))
        elif topic == self._config_topic:
            received = store_config.receive(self._store, self._settings.store_id,
                                            bytes(message.payload), utc_now())
            self._tell(changes.ConfigReceived(received))
            if received.result == "applied":
                self._event_batch = None  # what the new config says about batches: read again
                # the hub's rollout view waits for this node to name the version it runs: say it
                # now, not at the next status turn (up to status_interval_seconds later)
                self._next_status = 0.0
        else:
            log.warning("message on unexpected topic %s ignored", topic)
        self._puback(message, generation)

    def _collect_ack(self, message: mqtt.MQTTMessage, generation: int, acks: _PendingAck) -> None:
        acks.messages.append((message, generation))
        try:
            envelope = decode(bytes(message.payload), expect=ACK_KINDS)
        except DecodeError as err:
            log.warning("ignored an unreadable ack: %s", err)
            return
        body = envelope.body
        ours = (envelope.store_id, envelope.node_id) == (self._settings.store_id,
                                                         self._settings.node_id)
        if not ours or not isinstance(body, Ack):
            log.warning("ignored an ack addressed to %s/%s", envelope.store_id, envelope.node_id)
            return
        if body.up_to_seq >= acks.up_to:
            acks.up_to, acks.gap = body.up_to_seq, body.gap_after is not None

    def _apply_ack(self, acks: _PendingAck) -> None:
        if acks.up_to >= 0:
            if not self._position_known or acks.up_to > self._last_written():
                self._settle(acks.up_to)
            now = time.monotonic()
            self._pace.on_ack(self._window, acks.up_to, now)
            self._window.on_ack(acks.up_to, now, gap=acks.gap)
            self._metrics.acks.inc()
            self._position_known = True
        self._flush_acks()
        for message, generation in acks.messages:
            self._puback(message, generation)

    def _settle(self, hub_acked: int) -> None:
        """The hub's position is known: if it holds seqs this node reused or never wrote, the
        database lost commits; move past them (``outbox.settle``) before anything is sent."""
        with self._store.write() as tx:
            moved = outbox.settle(tx, hub_acked)
        if moved is None:
            return
        written, first = moved
        self._acked_in_store = max(self._acked_in_store, hub_acked)
        log.error("the hub has acked seq %d but this node's database holds only up to %d "
                  "before this run: it lost commits (restored from an old copy?); what it wrote "
                  "since moves to seq %d on, no acked seq is reused", hub_acked, written, first)
        self._store.report(Problem(
            "seq_behind_hub", f"this node's database was behind the hub (hub acked seq "
            f"{hub_acked}): it lost commits; the sequence moved past the hub's position",
            "check the disk; if a damaged database was quarantined, run `acorn-edge recover`"))

    def _flush_acks(self, force: bool = False) -> None:
        """Delete what the hub has acked: batched, since a lost deletion only costs a resend."""
        behind = self._window.last_acked - self._acked_in_store
        now = time.monotonic()
        if behind <= 0 or (not force and behind < READ_BATCH
                           and now - self._flushed_at < ACK_FLUSH_SECONDS):
            return
        with self._store.write() as tx:
            outbox.acknowledge(tx, self._window.last_acked)
        if self._store.journal is not None:
            self._store.journal.note_ack(self._window.last_acked)
        self._acked_in_store, self._flushed_at = self._window.last_acked, now
        self._tell(changes.Acked(self._acked_in_store))

    def _tell_connection(self, connected: bool) -> None:
        if connected != self._told_connected:
            self._told_connected = connected
            self._tell(changes.Connection(connected))

    def _tell(self, change: changes.Change) -> None:
        """Hand ``change`` to the listener; its failure must not stop the link (module rules)."""
        if self._listener is None:
            return
        try:
            self._listener(change)
        except Exception:  # the listener is the agent's; the link must go on (module rules)
            log.exception("the link's listener failed on %r", change)

    def _puback(self, message: mqtt.MQTTMessage, generation: int) -> None:
        # A message from an earlier connection is redelivered by the broker; never ack it here.
        if message.qos > 0 and generation == self._generation and self.connected:
            self._client.ack(message.mid, message.qos)

    def _send_due(self) -> None:
        topic = self._topics[TopicKind.EVENTS]
        while self.connected:
            batch = self._window.due(time.monotonic(), self._last_written())
            if not batch:
                return
            room = self._pace.room(self._window, batch.first)
            if room <= 0:
                return  # as many messages out as the broker's queue is sized for (pace rules)
            last = min(batch.last, batch.first + READ_BATCH - 1)
            envelopes = self._read(batch.first, last)
            if envelopes is None:
                return
            messages = self._messages(envelopes) if envelopes else []
            sent = 0
            for payload, count in messages[:room]:
                self._client.publish(topic, payload, qos=1)
                sent += count
                self._pace.sent_message(envelopes[sent - 1].seq)
            if len(messages) > room:  # the rest waits for acks
                last = envelopes[sent - 1].seq
            self._window.sent(last)
            self._pace.sent(last, time.monotonic())
            self._metrics.events_sent.inc(sent)
            if batch.resend:
                self._metrics.events_resent.inc(sent)
                log.info("no ack progress: resent seq %d (next try in %.0f s)",
                         batch.first, self._window.wait)

    def _hub_batch(self) -> int:
        """Events per message the hub reads, from the store config: read once, and again after
        each config applied; the pace's floor follows it."""
        if self._event_batch is None:
            with self._store.read() as tx:
                self._event_batch = store_config.event_batch(tx)
            self._pace.batch = self._event_batch
        return self._event_batch

    def _messages(self, envelopes: list[Envelope]) -> list[tuple[bytes, int]]:
        """The payloads that carry ``envelopes``, each with how many events it holds: one per
        event, or, when the hub's config says it reads batches, ``event.batch`` messages of up
        to that many consecutive events (and under the payload limit; an event that fills a
        message alone goes alone)."""
        now = utc_now()
        most = self._hub_batch()
        sent = [envelope.resent(now) for envelope in envelopes]
        singles = [encode(envelope) for envelope in sent]
        if most < 2 or len(envelopes) < 2:
            return [(single, 1) for single in singles]
        out: list[tuple[bytes, int]] = []
        start = 0
        while start < len(envelopes):
            end, size = start, BATCH_HEAD_BYTES
            while (end < len(envelopes) and end - start < most
                   and size + len(singles[end]) + 1 <= MAX_PAYLOAD_BYTES):
                size += len(singles[end]) + 1
                end += 1
            if end - start < 2:  # one event (or one too large to share): as it always went
                out.append((singles[start], 1))
                start += 1
                continue
            out.append((encode_batch(sent[start:end], at=now), end - start))
            self._metrics.batches_sent.inc()
            start = end
        return out

    def _read(self, first: int, last: int) -> list[Envelope] | None:
        """The events to send, checked; a damaged one comes from the journal, else None (and
        sending stops: nothing damaged is published)."""
        sid, nid = self._settings.store_id, self._settings.node_id
        try:
            with self._store.read() as tx:
                return outbox.read_range(tx, sid, nid, first, last)
        except CorruptEvent as err:
            spare = read_journal(self._store.journal.path).events if self._store.journal else {}
            try:
                with self._store.read() as tx:
                    envelopes = outbox.read_range(tx, sid, nid, first, last, spare)
                log.error("%s: sent the outbox journal's copy instead", err)
                return envelopes
            except CorruptEvent:
                log.error("%s and the journal has no good copy: sending stopped", err)
                self._halted = True
                self._store.report(Problem(
                    "damaged", f"{err}; sending stopped", "restart the agent (it quarantines "
                    "the file and keeps recording), then run `acorn-edge recover`"))
                return None

    def _status_if_due(self) -> None:
        now = time.monotonic()
        if now >= self._next_status and self.connected:
            self._client.publish(self._topics[TopicKind.STATUS], self._status_payload("online"),
                                 qos=1, retain=True)
            self._next_status = now + self._settings.status_interval_seconds

    def _status_payload(self, state: Literal["online", "offline"]) -> bytes:
        with self._store.read() as tx:
            figures = outbox.figures(tx)
            oldest = outbox.oldest_unsent_at(tx)
            held = store_config.version(tx)
            rules = store_config.allocation(tx)
        printer, scanner = self.peripherals() if self.peripherals is not None else (None, None)
        body = NodeStatus(state=state, version=self._version, outbox_pending=figures.pending,
                          last_acked_seq=figures.last_acked_seq,
                          since=self._connected_at if state == "online" else utc_now(),
                          oldest_unsent_at=oldest, config_version=held,
                          allocation_version=rules.version if rules else None,
                          allocation_since=rules.since if rules else None, printer=printer,
                          scanner=scanner, **(self.selftest() if self.selftest else {}))
        return encode(make_envelope(self._settings.store_id, self._settings.node_id, 0, body))

    def _say_offline(self) -> None:
        if not self.connected:
            return
        info = self._client.publish(self._topics[TopicKind.STATUS],
                                    self._status_payload("offline"), qos=1, retain=True)
        try:
            info.wait_for_publish(2.0)
        except (RuntimeError, ValueError) as err:
            log.info("could not publish the offline status: %s", err)


def read_presence(payload: bytes) -> HubPresence | None:
    """The hub's presence in ``payload``, None (logged) when it is not one."""
    try:
        envelope = decode(payload, expect=PRESENCE_KINDS)
    except DecodeError as err:
        log.warning("ignored an unreadable hub presence: %s", err)
        return None
    return envelope.body if isinstance(envelope.body, HubPresence) else None
