"""Simulated edge nodes for load tests and the capacity bench: many identities, one loop.

Each node has its own dynsec client bound to its client id (shaped as ``provision_node`` makes
them) and paces itself with the edge link's own policy (``SendWindow`` + ``Pace``, and the link's
cap on messages out), publishing
valid ``return.received`` events (or each return's receipt, inspection and disposition); one
selector loop drives a few hundred paho clients, so a load generator needs no thread per node.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import selectors
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.storage.outbox import SendWindow
from edge_agent.sync.pace import Pace
from hub.fleet.acl import node_acls, node_client_id, node_role, node_username
from protocol import NodeStatus, TopicKind, encode, make_envelope, node_topic, utc_now
from tests.support.broker import TestBroker


@dataclass(frozen=True)
class NodeCreds:
    """One node's identity on the broker."""

    store_id: str
    username: str
    password: str
    client_id: str


@dataclass(eq=False)  # hashed by identity: the loop keeps sets of nodes
class Node:
    """One simulated node: its client, its pacing and what it has in flight."""

    creds: NodeCreds
    client: mqtt.Client
    index: int
    window: SendWindow
    pace: Pace
    written: int = 0
    first_sent: dict[int, float] = field(default_factory=dict)
    acked_at: int = 0
    event_batch: int = 1  # the most events in one message (the hub's config says; 1: one each)
    # "returns": receipts only; "lifecycle": receipt, inspection, disposition; "sales": every
    # event a sale's stock move (``stock.moved``, reason pos_sale), of 50 SKUs in turn
    mix: str = "returns"

    def batch_payload(self, first: int, last: int) -> bytes:
        """An event.batch of the events ``first``..``last`` (as ``protocol.encode_batch``)."""
        head = (f'{{"id":"{self.index:08x}-0000-4000-8000-{first:012x}","store_id":'
                f'"{self.creds.store_id}","node_id":"n1","seq":{first},"kind":"event.batch",'
                f'"schema":1,"occurred_at":"2026-12-04T12:00:00Z","body":{{"events":[').encode()
        return head + b",".join(self.payload(seq) for seq in range(first, last + 1)) + b"]}}"

    def payload(self, seq: int) -> bytes:
        """A valid event with this seq: a ``return.received`` (mix "returns"); with the mix
        "lifecycle" each return's receipt, inspection and disposition, in turn; with "sales" a
        sale's stock move."""
        mid = f"{self.index:08x}-0000-4000-8000-{seq:012x}"
        if self.mix == "sales":
            return (f'{{"id":"{mid}","store_id":"{self.creds.store_id}","node_id":"n1",'
                    f'"seq":{seq},"kind":"stock.moved","schema":1,"occurred_at":'
                    f'"2026-12-04T12:00:00Z","body":{{"move_id":"S{self.index}-{seq}","sku":'
                    f'"SKU-{seq % 50}","quantity":1,"from_state":"sellable","to_state":null,'
                    f'"reason":"pos_sale","pos_transaction_id":"T{self.index}-{seq}","at":'
                    f'"2026-12-04T12:00:00Z","balance":{{"sellable":{1000 - seq // 50}}}}}}}'
                    ).encode()
        if self.mix == "lifecycle" and seq % 3 != 1:
            head = (f'{{"id":"{mid}","store_id":"{self.creds.store_id}","node_id":"n1",'
                    f'"seq":{seq},')
            return_id = f"B{self.index}-{seq - (seq - 1) % 3}"  # the receipt's seq
            if seq % 3 == 2:
                return (head + f'"kind":"inspection.recorded","schema":1,"occurred_at":'
                        f'"2026-12-04T12:00:00Z","body":{{"return_id":"{return_id}","grade":'
                        f'"good","notes":"","photos":[],"compliance_tags":[],"inspected_at":'
                        f'"2026-12-04T12:00:00Z"}}}}').encode()
            return (head + f'"kind":"disposition.recorded","schema":1,"occurred_at":'
                    f'"2026-12-04T12:00:00Z","body":{{"return_id":"{return_id}","disposition":'
                    f'"restock_sellable","decided_at":"2026-12-04T12:00:00Z"}}}}').encode()
        return (
            f'{{"id":"{mid}","store_id":"{self.creds.store_id}","node_id":"n1","seq":{seq},'
            f'"kind":"return.received","schema":1,"occurred_at":"2026-12-04T12:00:00Z","body":'
            f'{{"return_id":"B{self.index}-{seq}","channel":"pos","items":[{{"sku":"SKU-1",'
            f'"quantity":1,"unit_price":{{"amount":"12.00","currency":"USD"}}}}],"reason":"bench",'
            f'"scanned_codes":[],"mismatch":false,"mismatch_reasons":[],'
            f'"received_at":"2026-12-04T12:00:00Z"}}}}'
        ).encode()


def _connect(creds: NodeCreds, host: str, port: int) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=creds.client_id, clean_session=False
    )
    client.username_pw_set(creds.username, creds.password)
    client.max_inflight_messages_set(0)  # the window paces us, as on the edge
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=60)
    client.socket().setblocking(False)  # type: ignore[union-attr]
    return client


SWEEP_S = 0.1  # how often every node is looked at (resend deadlines, keepalive, the end)
# a phase's first seconds: every node connects, says it is online and sends what it wrote
# meanwhile (the steady figures leave them out; the whole-phase ones keep them)
STEADY_AFTER_S = 3.0


def run_nodes(
    creds: list[tuple[int, NodeCreds, int]],
    host: str,
    port: int,
    rate: float,
    buffered: int,
    seconds: float,
    start_at: float,
    give_up_after: float = 600.0,
    event_batch: int = 1,
    mix: str = "returns",
) -> dict[str, Any]:
    """Drive these nodes from one selector loop until the hub has confirmed all they wrote.

    ``creds`` are (index, identity, events already confirmed). With ``rate`` the nodes write
    that many events a second in total for ``seconds``; with ``buffered`` each starts with that
    many unsent (a storm: they all connect at ``start_at``, wall clock). ``event_batch``: the
    most events one message carries (an edge sends batches when its hub's config says so);
    ``mix``: the kinds of events (``Node.payload``).
    """
    latencies: list[float] = []
    steady: list[float] = []  # of the events first sent STEADY_AFTER_S or more after the start
    steady_from = [float("inf")]  # (monotonic) set once every node is connecting
    nodes: dict[str, Node] = {}
    sel = selectors.DefaultSelector()
    while time.time() < start_at - 0.5 and buffered == 0:
        time.sleep(0.05)
    if buffered:
        time.sleep(max(0.0, start_at - time.time()))  # a storm: everyone at the same moment
    for index, cred, before in creds:
        client = _connect(cred, host, port)
        window = SendWindow(1000, 5.0, 30.0, last_acked=before, next_to_send=before + 1)
        node = Node(cred, client, index, window, Pace(1000, batch=event_batch),
                    written=before + buffered, event_batch=event_batch, mix=mix)
        client.user_data_set(node)
        client.on_connect = _on_connect
        client.on_message = lambda _c, node, msg: _on_ack(node, msg, latencies, steady,
                                                          steady_from[0])
        nodes[cred.client_id] = node
        sel.register(client.socket(), selectors.EVENT_READ, node)  # type: ignore[arg-type]
    started = time.monotonic()
    steady_from[0] = started + STEADY_AFTER_S
    offered = 0
    sweep_at = 0.0
    order = list(nodes.values())
    ready = set(order)  # nodes that may have something to send: acked, connected, written to
    while True:
        now = time.monotonic()
        elapsed = now - started
        if rate and elapsed < seconds:
            due = int(rate * elapsed) - offered
            for k in range(due):
                node = order[(offered + k) % len(order)]
                node.written += 1
                ready.add(node)
            offered += max(due, 0)
        if now - sweep_at > SWEEP_S:  # resend deadlines, keepalives, and whether we are done
            sweep_at = now
            pending = 0
            for node in order:
                node.client.loop_misc()
                pending += node.written - node.window.last_acked
                deadline = node.window.deadline(node.written)
                if deadline is not None and deadline <= now:
                    ready.add(node)
            if (elapsed >= seconds or not rate) and pending == 0:
                break
            if elapsed > seconds + give_up_after:
                break
        unwritten = set()
        for node in ready:
            _send_due(node, now)
            if node.client.want_write():
                node.client.loop_write()
                if node.client.want_write():  # the socket is full: try again next turn
                    unwritten.add(node)
        ready = unwritten
        for key, _mask in sel.select(0.005):
            key.data.client.loop_read()
            ready.add(key.data)
    written = {n.index: n.written for n in order}
    acked = sum(
        n.window.last_acked - before for (_i, _c, before), n in zip(creds, order, strict=True)
    )
    sel.close()
    for node in order:
        node.client.disconnect()
        node.client.loop_write()
    return {
        "latencies": latencies,
        "steady_latencies": steady,
        "written": written,
        "acked": acked,
        "seconds": time.monotonic() - started,
    }


def _on_connect(client: mqtt.Client, node: Node, _f: Any, reason: Any, _p: Any) -> None:
    if reason.is_failure:
        raise SystemExit(f"{node.creds.client_id} refused: {reason}")
    store = node.creds.store_id
    client.subscribe(node_topic(store, "n1", TopicKind.ACKS), qos=1)
    # as the edge link does on every connect: its retained "online" (several hub workers learn
    # of a store they never saw from its status)
    client.publish(node_topic(store, "n1", TopicKind.STATUS), encode(make_envelope(
        store, "n1", 0, NodeStatus(state="online", since=utc_now()))), qos=1, retain=True)
    node.window.on_connect(time.monotonic())
    node.pace.on_connect(node.window)


def _on_ack(node: Node, message: mqtt.MQTTMessage, latencies: list[float],
            steady: list[float] | None = None, steady_from: float = float("inf")) -> None:
    if not message.payload:
        return
    text = message.payload.decode()
    up_to = int(text.split('"up_to_seq":', 1)[1].split(",", 1)[0].split("}", 1)[0])
    gap = '"gap_after":null' not in text and '"gap_after"' in text
    now = time.monotonic()
    sent = [s for s in node.first_sent if s <= up_to]
    for seq in sent:
        first = node.first_sent.pop(seq)
        latencies.append((now - first) * 1000)
        if steady is not None and first >= steady_from:
            steady.append((now - first) * 1000)
    node.pace.on_ack(node.window, up_to, now)
    node.window.on_ack(up_to, now, gap=gap)


def _send_due(node: Node, now: float) -> None:
    if not node.client.is_connected():
        return
    batch = node.window.due(now, node.written)
    if batch.last < batch.first:
        return
    room = node.pace.room(node.window, batch.first)
    topic = node_topic(node.creds.store_id, "n1", TopicKind.EVENTS)
    last = batch.first - 1
    for first in range(batch.first, batch.last + 1, node.event_batch):
        if room <= 0:
            break  # the rest waits for acks (the link's message cap)
        last = min(first + node.event_batch - 1, batch.last)
        node.client.publish(topic, node.payload(first) if first == last else
                            node.batch_payload(first, last), qos=1)
        node.pace.sent_message(last)
        room -= 1
        for seq in range(first, last + 1):
            node.first_sent.setdefault(seq, now)
    if last < batch.first:
        return
    node.window.sent(last)
    node.pace.sent(last, now)


def provision(broker: TestBroker, count: int, tag: str) -> list[tuple[int, NodeCreds]]:
    """``count`` node identities, shaped exactly as ``provision_node`` makes them.

    The broker rewrites its whole dynamic-security file on every change, so provisioning
    1,000 nodes one by one takes minutes: the first is provisioned the ordinary way (its entry
    proves the password scheme), the rest are written into the file while the broker is
    stopped, from the same ACLs (``node_acls``).
    """
    first = broker.node_creds(f"{tag}-s0000", "n1")
    state = broker.local.state_dir / "dynamic-security.json"
    data = json.loads(state.read_text())
    model = next(c for c in data["clients"] if c["username"] == first.username)
    if _hashed(first.password, model["salt"], model["iterations"]) != model["password"]:
        raise SystemExit("the broker's password scheme is not the one this bench writes")
    out = [(0, NodeCreds(f"{tag}-s0000", first.username, first.password, first.client_id or ""))]
    for n in range(1, count):
        store = f"{tag}-s{n:04d}"
        password, salt = secrets.token_urlsafe(12), base64.b64encode(os.urandom(12)).decode()
        username, role = node_username(store, "n1"), node_role(store, "n1")
        data["roles"].append(
            {"rolename": role, "acls": [a.as_json() for a in node_acls(store, "n1")]}
        )
        data["clients"].append(
            {
                "username": username,
                "clientid": node_client_id(store, "n1"),
                "roles": [{"rolename": role}],
                "password": _hashed(password, salt, model["iterations"]),
                "salt": salt,
                "iterations": model["iterations"],
            }
        )
        out.append((n, NodeCreds(store, username, password, node_client_id(store, "n1"))))
    broker.stop()
    state.write_text(json.dumps(data))
    broker.start()
    return out


def _hashed(password: str, salt: str, iterations: int) -> str:
    """Mosquitto dynsec's password hash: PBKDF2-HMAC-SHA512 over the decoded salt."""
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), iterations)
    return base64.b64encode(digest).decode()
