"""The hub's one MQTT connection (paho 2.x): persistent session, manual acks, reconnects.

Rules:
- fixed client id (the broker binds the hub's user to it), MQTT 5; one hub (``hub_workers`` = 1)
  connects with ``clean_start=False`` and a session that never expires: the broker keeps our
  subscriptions and queues messages while we are away (several workers: see below);
- a node must never leave a retained message on its events topic (a retained poison would come
  back to every fresh hub session), and the broker cannot refuse the retain flag per topic. So
  events are subscribed with retain-as-published (we see the flag a node set) and no-local (we do
  not hear our own clearing publish): a retained event is cleared at once with an empty retained
  publish, counted in ``acorn_hub_retained_events_cleared`` and logged; the message itself is
  still handed to ingest like any other;
- ``manual_ack=True``: a message is PUBACKed only when ``ack`` is called, after the commit;
- the hub tells the broker, in its CONNECT (MQTT 5 Receive Maximum), that it takes up to
  ``ingest_batch_size`` messages unacked: one batch's worth. Without it Mosquitto allows a
  client its ``max_inflight_messages`` (100 here, which suits a node): the hub could then hold
  at most 100 messages while it commits a batch, the rest waited in the broker, and at 5,000
  ev/s from 1,000 nodes an event waited there about two batches before the hub saw it
  (README, ninth measurement). The hub's memory holds them: at most ``ingest_batch_size`` x
  ``MAX_PAYLOAD_BYTES`` (256 MB at 1,000) in theory, ~40 MB of full 100-event batches;
- each (re)connection has a generation; an ack for a message of an older connection is dropped
  (the broker redelivers that message and the dedup absorbs it);
- publishing while disconnected returns False instead of queueing in paho's memory;
- messages are queued for the writer as bytes, and the writer decodes them when it takes them
  (``Incoming.parts``). Decoding here, on the network thread, was meant to overlap the writer's
  waits on the database; measured, it did the opposite: each time the writer let go of the GIL
  for a database round trip, this thread was often mid-decode and held it up to the switch
  interval (5 ms), so every round trip cost several ms. At 5,000 ev/s offered to one hub on
  PostgreSQL, decoding on the writer instead took the hub's CPU an event from 0.167-0.179 to
  0.151-0.155 ms and its p99 from 3.1-3.4 to 1.8-2.2 s (three runs each; README, seventh
  measurement);
  live messages still go before a backlog (``hub.sync.ingest.lanes``);
- paho reads the socket a block at a time (``hub.sync.buffered_client``: one ``recv`` for many
  messages instead of several system calls for each);
- several brokers (``settings.brokers``, docs/operations/broker-ha.md): the hub connects to the
  first of the list, and when a connection is lost or cannot be made it moves to the next one
  (round robin), never back on its own while the broker it is on works; on each broker it is on
  it keeps a retained ``hub.presence`` on ``HUB_PRESENCE_TOPIC``, online at connect and every
  ``hub_presence_seconds`` (the nodes follow live refreshes, not a retained copy a restarted
  broker may hold), offline as its last will and on a clean stop. With one broker none of this
  happens: no presence, the same reconnects as before.
- SEVERAL WORKERS AND SEVERAL BROKERS: the workers must be on one broker (the leader publishes
  commands and configs on its own; nodes follow the presence to it). Only the leader
  (``leading``) publishes the presence, and no worker leaves a last will (a follower's would
  tell the nodes "offline" while the leader serves them; the nodes judge by live refreshes
  anyway). Every follower listens to the presence like a node: when no live "online" from
  another worker was heard on its broker for ``FOLLOW_ROUNDS`` presence intervals, it drops its
  connection and the next attempt goes to the next broker of the list, until it finds the
  leader. The leader moves only on loss, and the followers come after it.
- SEVERAL WORKERS (``hub_workers`` > 1, README "Several hub workers"): each worker has its own
  broker user and client id (``acorn-hub devices add-hub`` with that worker's MQTT_USERNAME and
  MQTT_CLIENT_ID). Events are split by store: a worker subscribes to the events of the stores
  its partitions hold (``follow_stores``, fed by ``hub.sync.partition_keeper``; one filter per
  store, with no-local and retain-as-published as the single hub's wildcard), so each node's
  messages reach one worker in order. Statuses (few, and the way a new store first shows up)
  go through the shared group ``$share/acorn-hub/...``: Mosquitto hands each message to ONE
  member, round robin per message. While a store's partition changes hands, or if one
  worker's subscriptions outlive its partitions, two workers may see one node's messages:
  ``hub.sync.ingest.batch`` keeps the order then, as it did when events were shared too.
  Checked on Mosquitto 2.0.11 (tests/workers): a member whose session outlives its
  connection keeps receiving its turn of messages, queued for it and lost to the group until
  it returns, and what it held unacked is never handed to another member. So a shared worker
  connects with ``clean_start=True`` and a session that ends with the connection: the moment
  a worker dies (SIGKILL closes its socket; keepalive otherwise) the broker sends everything to
  the others, and the events it held unacked are sent again by their nodes (the edge resends
  whatever no ack covers after ``resend_after_seconds``), so nothing is lost; nothing is
  duplicated since the hub dedups on (node, seq). Retained messages are not sent to a shared
  subscription and no-local is not allowed on one: our own clearing publish of a retained
  event comes back as an empty retained message, which is acked and dropped here.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.fleet.acl import SHARE_GROUP
from hub.metrics import HubMetrics
from hub.settings import Settings
from hub.sync.buffered_client import BufferedClient
from hub.sync.ingest.classify import Incoming
from protocol import (
    HUB_PRESENCE_ID,
    HUB_PRESENCE_TOPIC,
    PRESENCE_KINDS,
    DecodeError,
    HubPresence,
    TopicKind,
    decode,
    encode,
    make_envelope,
    subscription,
    utc_now,
)
from protocol.limits import MAX_CODE_CHARS

log = logging.getLogger(__name__)

SUBSCRIPTIONS = [
    (subscription(TopicKind.EVENTS), SubscribeOptions(qos=1, noLocal=True, retainAsPublished=True)),
    (subscription(TopicKind.STATUS), SubscribeOptions(qos=1)),
]
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
FOLLOW_ROUNDS = 3  # followers: presence intervals without the leader before moving on
SESSION_ENDS_WITH_CONNECTION = 0


SUBSCRIBE_CHUNK = 100  # topic filters per SUBSCRIBE / UNSUBSCRIBE packet


def shared_subscriptions(group: str = SHARE_GROUP) -> list[tuple[str, SubscribeOptions]]:
    """The same topics through the workers' shared group (no no-local: MQTT 5 forbids it)."""
    return [(f"$share/{group}/{topic}",
             SubscribeOptions(qos=opts.QoS, retainAsPublished=opts.retainAsPublished))
            for topic, opts in SUBSCRIPTIONS]


def store_events(store_id: str) -> str:
    """The filter for the events of every node of one store (a worker's share of the ingest)."""
    return subscription(TopicKind.EVENTS, store_id)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[k:k + SUBSCRIBE_CHUNK] for k in range(0, len(items), SUBSCRIBE_CHUNK)]


def _connect_properties(expiry: int, receive_maximum: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = expiry
    props.ReceiveMaximum = receive_maximum  # ingest_batch_size: at most 20,000 (MQTT: 65,535)
    return props


class HubLink:
    """Owns the paho client; everything else goes through its four methods."""

    def __init__(self, settings: Settings, metrics: HubMetrics,
                 on_message: Callable[[Incoming], None],
                 on_connected: Callable[[], None] = lambda: None,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self._settings = settings
        self._leading = leading
        self._leader_deadline = 0.0  # followers: when the leader's presence is overdue here
        self._listening = False  # followers: the broker let us subscribe to the presence
        self._presence_mid: int | None = None
        self._metrics = metrics
        self._deliver = on_message
        self._on_connected = on_connected
        self._lock = threading.Lock()
        self._stores: frozenset[str] = frozenset()  # several workers: whose events we take
        self._stores_lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._brokers = settings.brokers
        self._at = 0  # index in self._brokers of the broker we are on (or trying)
        self._since = utc_now()
        self._presence_stop = threading.Event()
        self._presence_thread: threading.Thread | None = None
        self._client = BufferedClient(CallbackAPIVersion.VERSION2,
                                      client_id=settings.mqtt_client_id, protocol=mqtt.MQTTv5,
                                      manual_ack=True)
        self._client.username_pw_set(settings.mqtt_username,
                                     settings.mqtt_password.get_secret_value())
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message
        self._client.on_connect_fail = self._handle_connect_fail
        self._client.on_subscribe = self._handle_subscribe
        if self.several_brokers:
            self._client.on_pre_connect = self._aim
            if not settings.shared_ingest:
                self._client.will_set(HUB_PRESENCE_TOPIC, self._presence("offline"), qos=1,
                                      retain=True)

    @property
    def connected(self) -> bool:
        """True while the broker session is up."""
        return self._connected

    @property
    def several_brokers(self) -> bool:
        """True when the hub has a list of brokers to move between."""
        return len(self._brokers) > 1

    @property
    def broker(self) -> str:
        """The broker the hub is on (or trying), host:port."""
        return str(self._brokers[self._at])

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers)."""
        first = self._brokers[self._at]
        shared = self._settings.shared_ingest
        self._client.connect_async(first.host, first.port,
                                   keepalive=self._settings.mqtt_keepalive, clean_start=shared,
                                   properties=_connect_properties(
                                       SESSION_ENDS_WITH_CONNECTION if shared else
                                       SESSION_NEVER_EXPIRES, self._settings.ingest_batch_size))
        self._client.loop_start()
        self._start_presence()

    def stop(self) -> None:
        """Disconnect cleanly (the broker keeps our session) and stop the network thread."""
        self._stop_presence()
        self._client.disconnect()
        self._client.loop_stop()
        self._set_connected(False)

    def ack(self, mid: int, qos: int, generation: int) -> None:
        """PUBACK one message, if it arrived on the current connection."""
        with self._lock:
            if generation != self._generation or not self._connected:
                return
        self._client.ack(mid, qos)

    def one_wake(self) -> AbstractContextManager[None]:
        """PUBACKs and publishes of the calling thread inside go out together, after the block
        (``BufferedClient.one_wake``): do not wait for the broker inside."""
        return self._client.one_wake()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                wait: float = 0.0) -> bool:
        """Publish if connected; False when the message could not be handed to the broker.
        ``wait`` > 0: also wait (at most that long) until the broker has it (its PUBACK)."""
        if not self._connected:
            return False
        if qos == 0 and wait <= 0:  # the retained acks: gathered inside ``one_wake``
            return self._client.publish_quick(topic, payload, retain)
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        if wait > 0:
            try:
                info.wait_for_publish(wait)
            except (RuntimeError, ValueError):  # the connection dropped meanwhile
                return False
            return info.is_published()
        return True

    def _handle_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any,
                        _props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the hub's connection: %s (the hub's broker user %s may log "
                      "in only as the client id it was bound to; this hub uses %s: run "
                      "`acorn-hub devices add-hub` with the same MQTT_CLIENT_ID)", reason,
                      self._settings.mqtt_username, self._settings.mqtt_client_id)
            return
        with self._lock:
            self._generation += 1
        self._set_connected(True)
        log.info("connected to the broker at %s (session present: %s)", self.broker,
                 flags.session_present)
        if self._settings.shared_ingest:
            client.subscribe([s for s in shared_subscriptions()  # statuses; events: by store
                              if s[0].endswith(TopicKind.STATUS.value)])
            with self._stores_lock:
                self._subscribe(sorted(self._stores))
        else:
            client.subscribe(SUBSCRIPTIONS)
        if self.follows_leader:
            self._leader_deadline = time.monotonic() + self._follow_wait
            self._listening = False  # until the broker grants the subscription
            self._presence_mid = client.subscribe(HUB_PRESENCE_TOPIC, qos=0)[1]
        self._publish_presence("online")  # after SUBSCRIBE: nodes that see it find us listening
        self._on_connected()

    def follow_stores(self, stores: frozenset[str]) -> None:
        """Several workers: take the events of ``stores`` from now on, and no other store's."""
        with self._stores_lock:
            added, gone = sorted(stores - self._stores), sorted(self._stores - stores)
            self._stores = stores
            if self._connected:
                self._subscribe(added)
                for chunk in _chunks(gone):
                    self._client.unsubscribe([store_events(s) for s in chunk])
        if added or gone:
            log.info("this worker takes the events of %d stores (+%d, -%d)", len(stores),
                     len(added), len(gone))

    def _subscribe(self, stores: list[str]) -> None:
        options = SUBSCRIPTIONS[0][1]
        for chunk in _chunks(stores):
            self._client.subscribe([(store_events(s), options) for s in chunk])

    def _handle_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any,
                           _props: Any) -> None:
        if self._connected:
            log.warning("disconnected from the broker at %s: %s", self.broker, reason)
        self._set_connected(False)
        self._next_broker()

    # -- several brokers: which one, and the presence the nodes follow ------------------------

    def _handle_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        log.warning("cannot reach the broker at %s", self.broker)
        self._next_broker()

    def _next_broker(self) -> None:
        """After a loss or a failed attempt, aim paho's next reconnect at the next broker."""
        if not self.several_brokers or self._presence_stop.is_set():
            return
        self._at = (self._at + 1) % len(self._brokers)
        log.info("the hub tries the broker at %s next", self.broker)

    def _aim(self, client: mqtt.Client, _userdata: Any) -> None:
        """paho's ``on_pre_connect``: dial the broker of the list we are at.

        paho's reconnect loop reads ``_host``/``_port`` right after this callback; its public
        setters refuse any change once a (re)connection is under way, which is always the case
        here, so the attributes are set directly (tests/ha proves the move happens)."""
        target = self._brokers[self._at]
        client._host, client._port = target.host, target.port

    def _presence(self, state: Literal["online", "offline"]) -> bytes:
        body = HubPresence(state=state, hub=self._settings.mqtt_client_id[:MAX_CODE_CHARS],
                           since=self._since, interval_seconds=self._settings.hub_presence_seconds)
        return encode(make_envelope(HUB_PRESENCE_ID, HUB_PRESENCE_ID, 0, body))

    @property
    def follows_leader(self) -> bool:
        """True for a worker that must find the leader's broker (several workers and brokers)."""
        return self.several_brokers and self._settings.shared_ingest

    @property
    def _follow_wait(self) -> float:
        return FOLLOW_ROUNDS * self._settings.hub_presence_seconds

    def _publish_presence(self, state: Literal["online", "offline"]) -> None:
        if self.several_brokers:
            if state == "online" and not self._connected:
                return
            if self.follows_leader and not self._leading():
                return
            self._client.publish(HUB_PRESENCE_TOPIC, self._presence(state), qos=1, retain=True)

    def _start_presence(self) -> None:
        if not self.several_brokers:
            return
        self._presence_stop.clear()
        self._presence_thread = threading.Thread(target=self._refresh_presence,
                                                 name="hub-presence", daemon=True)
        self._presence_thread.start()

    def _refresh_presence(self) -> None:
        # a timer, not a poll: the nodes judge the hub's presence by these live refreshes
        while not self._presence_stop.wait(self._settings.hub_presence_seconds):
            self._publish_presence("online")
            self._follow()

    def _stop_presence(self) -> None:
        if self._presence_thread is None:
            return
        self._presence_stop.set()
        self._presence_thread.join(5)
        self._presence_thread = None
        if self._connected and (not self.follows_leader or self._leading()):
            info = self._client.publish(HUB_PRESENCE_TOPIC, self._presence("offline"), qos=1,
                                        retain=True)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError) as err:
                log.info("could not publish the hub's offline presence: %s", err)

    def _follow(self) -> None:
        """A follower that has not heard the leader here lately drops the connection: paho's
        next attempt goes to the next broker (``_handle_disconnect``)."""
        if not self.follows_leader:
            return
        if self._leading() or not self._connected:  # a leader that steps down waits a while
            self._leader_deadline = time.monotonic() + self._follow_wait
            return
        if not self._listening or time.monotonic() < self._leader_deadline:
            return
        log.warning("no hub leader heard on the broker at %s for %.0f s: this worker looks for "
                    "it on the next broker", self.broker, self._follow_wait)
        self._leader_deadline = time.monotonic() + self._follow_wait
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # seen by paho as a lost connection
            except OSError as err:
                log.info("could not drop the connection: %s", err)

    def _handle_subscribe(self, _client: mqtt.Client, _userdata: Any, mid: int,
                          codes: list[Any], _props: Any) -> None:
        if mid != self._presence_mid:
            return
        self._listening = not any(code.is_failure for code in codes)
        if not self._listening:
            log.error("the broker refused this worker the hub's presence topic, so it cannot "
                      "follow the leader between brokers (it stays where it is): run "
                      "`acorn-hub devices bind-ids` to give the hub's role its current ACLs")

    def _heard_presence(self, message: mqtt.MQTTMessage) -> None:
        if message.retain or not message.payload:
            return  # a retained copy may be stale: only live refreshes count
        try:
            presence = decode(bytes(message.payload), expect=PRESENCE_KINDS).body
        except DecodeError as err:
            log.warning("ignored an unreadable hub presence: %s", err)
            return
        if (isinstance(presence, HubPresence) and presence.state == "online"
                and presence.hub != self._settings.mqtt_client_id[:MAX_CODE_CHARS]):
            self._leader_deadline = time.monotonic() + self._follow_wait

    def _handle_message(self, client: mqtt.Client, _userdata: Any,
                        message: mqtt.MQTTMessage) -> None:
        if message.topic == HUB_PRESENCE_TOPIC:
            self._heard_presence(message)
            return
        if message.retain and message.topic.endswith("/events"):
            if not message.payload and self._settings.shared_ingest:
                client.ack(message.mid, message.qos)  # our own clearing publish, come back
                return
            self._clear_retained(client, message)
        self._deliver(Incoming(message.topic, bytes(message.payload), message.mid, message.qos,
                               self._generation, utc_now()))  # decoded by the writer

    def _clear_retained(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        """Remove a retained event a node left, so it cannot come back to a fresh session."""
        if not message.payload:
            return  # already the empty "clear" itself
        client.publish(message.topic, b"", qos=1, retain=True)
        self._metrics.retained_events_cleared.inc()
        log.warning("cleared a retained message a node left on %s (%d bytes); nodes must not "
                    "retain events", message.topic, len(message.payload))

    def _set_connected(self, value: bool) -> None:
        self._connected = value
        self._metrics.mqtt_connected.set(1 if value else 0)

    @property
    def generation(self) -> int:
        """The current connection's generation."""
        return self._generation
