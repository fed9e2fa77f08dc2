"""A small hub stand-in for edge tests: a real MQTT client logged in as the hub user.

It subscribes to one node's events, keeps every delivery (duplicates included), tracks the
highest contiguous seq and publishes it as a RETAINED ``ack`` from a small acker thread (like the
real hub, which acks after committing a batch). It can decide refunds as they are requested and
send commands. Acking can be paused to make the node resend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from hub.fleet.acl import HUB_CLIENT_ID
from protocol import (
    Ack,
    Body,
    Envelope,
    EventBatch,
    RefundDecided,
    RefundOutcome,
    RefundRequested,
    TopicKind,
    decode,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)
from tests.support.broker import MqttCreds, Probe

Decider = Callable[[RefundRequested], RefundDecided | None]


def approve_all(request: RefundRequested) -> RefundDecided:
    """Approve every refund request at once."""
    return RefundDecided(refund_id=request.refund_id, return_id=request.return_id,
                         outcome=RefundOutcome.APPROVED, amount=request.amount,
                         reasons=[f"{request.amount} is under the auto-approve limit"],
                         decided_by="policy:auto", decided_at=utc_now())


class HubStandIn(Probe):
    """The hub's side of one node's link, in-process."""

    def __init__(self, creds: MqttCreds, store_id: str, node_id: str, acking: bool = True,
                 decide: Decider | None = None, ack_interval: float = 0.005) -> None:
        self.store_id, self.node_id = store_id, node_id
        self.deliveries: list[Envelope] = []
        self.payloads = 0  # event messages received (an event.batch is one)
        self.by_seq: dict[int, Envelope] = {}
        self.contiguous = 0
        self.acking = acking
        self.decide = decide
        self.command_seq = 0
        self.lock = threading.Condition()
        self._acked = -1
        self.connected_once = False
        self._stop = threading.Event()
        super().__init__(creds)  # the hub's bound client id
        self.subscribe(node_topic(store_id, node_id, TopicKind.EVENTS))
        self._acker = threading.Thread(target=self._ack_loop, args=(ack_interval,), daemon=True)
        self._acker.start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    props: Any) -> None:
        super()._on_connect(client, userdata, flags, reason, props)
        if self.connected_once and not reason.is_failure:  # resubscribe after a broker restart
            client.subscribe(node_topic(self.store_id, self.node_id, TopicKind.EVENTS), qos=1)
        self.connected_once = True

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        outer = decode(bytes(message.payload))
        # an event.batch message (a node whose config says the hub reads them) is its events
        envelopes = outer.body.events if isinstance(outer.body, EventBatch) else [outer]
        with self.lock:
            self.payloads += 1
            for envelope in envelopes:
                self.deliveries.append(envelope)
                self.by_seq.setdefault(envelope.seq, envelope)
            while self.contiguous + 1 in self.by_seq:
                self.contiguous += 1
            self.lock.notify_all()
        for envelope in envelopes:
            if isinstance(envelope.body, RefundRequested) and self.decide is not None:
                decided = self.decide(envelope.body)
                if decided is not None:
                    self.command(decided, wait=False)

    def _ack_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self.lock:
                up_to = self.contiguous
            if self.acking and up_to > self._acked:
                self.ack(up_to)

    def ack(self, up_to: int, gap_after: int | None = None) -> None:
        """Publish a retained ack for the node (as the hub does after its commit)."""
        envelope = make_envelope(self.store_id, self.node_id, 0,
                                 Ack(up_to_seq=up_to, gap_after=gap_after))
        self.client.publish(node_topic(self.store_id, self.node_id, TopicKind.ACKS),
                            encode(envelope), qos=1, retain=True)
        self._acked = max(self._acked, up_to)

    def command(self, body: Body, wait: bool = True, envelope: Envelope | None = None) -> Envelope:
        """Send a command to the node (or resend ``envelope`` as it is)."""
        if envelope is None:
            self.command_seq += 1
            envelope = make_envelope(self.store_id, self.node_id, self.command_seq, body)
        payload = encode(envelope.resent())
        topic = node_topic(self.store_id, self.node_id, TopicKind.COMMANDS)
        if wait:
            self.publish(topic, payload)
        else:
            self.client.publish(topic, payload, qos=1)
        return envelope

    def kinds(self, kind: str) -> list[Envelope]:
        """Distinct events of one kind received so far."""
        with self.lock:
            return [env for env in self.by_seq.values() if env.kind == kind]

    def wait_contiguous(self, seq: int, timeout: float = 10.0) -> bool:
        """Wait until every seq up to ``seq`` has arrived."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.contiguous < seq:
                left = deadline - time.monotonic()
                if left <= 0 or not self.lock.wait(left):
                    return self.contiguous >= seq
        return True

    def close(self) -> None:
        """Stop acking and disconnect."""
        self._stop.set()
        self._acker.join(5)
        super().close()


def main() -> None:
    """Run a stand-in in its own process until stdin closes (for benchmarks).

    Usage: python -m tests.edge.hub_standin HOST PORT USER PASSWORD STORE NODE
    """
    import sys

    host, port, user, password, store_id, node_id = sys.argv[1:7]
    stand_in = HubStandIn(MqttCreds(host, int(port), user, password, HUB_CLIENT_ID), store_id,
                          node_id)
    print("ready", flush=True)
    sys.stdin.read()
    stand_in.close()


if __name__ == "__main__":
    main()
