"""Simulated edge nodes on a real broker, for the rollout benchmark (``bench.rollout``).

Each node is a paho client with its own broker identity (user ``edge.<store>.counter-1`` bound
to its client id, the role ``hub.fleet.acl.node_acls`` gives a node), connected the way the agent
connects (MQTT 3.1.1, persistent session, a retained "offline" last will) and subscribed to what
the agent subscribes (its commands, its acks, its store's config; QoS 1). It decodes and checks
its store's retained config as the agent does (``edge_agent.staff.store_config.check``; the
version is kept in memory, not in SQLite) and answers at once with the retained ``node.status``
the agent sends (config version, allocation version applied and since when).

The nodes run in ``NODE_PROCESSES`` processes (spawned: the parent runs the hub's threads), one
thread each driving its clients through paho's external-loop callbacks. This module imports
only what a node needs, so the processes start quickly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing as mp
import secrets
import selectors
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.staff import store_config as edge_config
from hub.fleet.acl import node_acls, node_client_id, node_role, node_username
from protocol import (
    KINDS_ON_TOPIC,
    NodeStatus,
    TopicKind,
    config_topic,
    decode,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)

NODE = "counter-1"
NODE_PROCESSES = 4


# -- broker identities -------------------------------------------------------------------------

def _dynsec_password(password: str) -> dict[str, Any]:
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101, 64)
    return {"password": base64.b64encode(digest).decode(), "salt": base64.b64encode(salt).decode(),
            "iterations": 101}


def write_node_identities(state_dir: Path, passwords: dict[str, str]) -> None:
    """Add one client and role per store's node to the dynamic-security plugin's file in
    ``state_dir`` (before the broker starts)."""
    path = state_dir / "dynamic-security.json"
    data = json.loads(path.read_text())
    for store, password in passwords.items():
        role = node_role(store, NODE)
        data["roles"].append({"rolename": role,
                              "acls": [a.as_json() for a in node_acls(store, NODE)]})
        data["clients"].append({"username": node_username(store, NODE),
                                "clientid": node_client_id(store, NODE),
                                "roles": [{"rolename": role}], **_dynsec_password(password)})
    path.write_text(json.dumps(data))


# -- simulated nodes (in their own processes) --------------------------------------------------

class SimNode:
    """One store's node: connects, subscribes and reports as the agent does (see the module)."""

    def __init__(self, store: str, password: str, records: list[tuple[Any, ...]]) -> None:
        self.store, self.records, self.ready = store, records, False
        self.config_version: int | None = None
        self.rules: tuple[int, datetime] | None = None
        self.connected_at = utc_now()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=node_client_id(store, NODE), clean_session=False,
                                  protocol=mqtt.MQTTv311)
        self.client.username_pw_set(node_username(store, NODE), password)
        self.client.will_set(self._topic(TopicKind.STATUS), self._status("offline"), qos=1,
                             retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self._goodbye: int | None = None

    def _topic(self, kind: TopicKind) -> str:
        return node_topic(self.store, NODE, kind)

    def _status(self, state: str) -> bytes:
        body = NodeStatus(state=state, version="bench", outbox_pending=0, last_acked_seq=0,
                          since=self.connected_at if state == "online" else utc_now(),
                          config_version=self.config_version,
                          allocation_version=self.rules[0] if self.rules else None,
                          allocation_since=self.rules[1] if self.rules else None)
        return encode(make_envelope(self.store, NODE, 0, body))

    def _report(self) -> None:
        self.client.publish(self._topic(TopicKind.STATUS), self._status("online"), qos=1,
                            retain=True)

    def leave(self) -> None:
        """Say offline, then disconnect once the broker has it (as the agent does when it
        stops); the broker keeps the session and queues the store's config meanwhile."""
        self._goodbye = self.client.publish(self._topic(TopicKind.STATUS),
                                            self._status("offline"), qos=1, retain=True).mid

    def come_back(self) -> None:
        """Connect again (same client id, same session)."""
        self.client.reconnect()

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        if mid == self._goodbye:
            self._goodbye = None
            client.disconnect()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            raise SystemExit(f"{self.store}: the broker refused the node: {reason}")
        self.connected_at = utc_now()
        client.subscribe([(self._topic(TopicKind.COMMANDS), 1), (self._topic(TopicKind.ACKS), 1),
                          (config_topic(self.store), 1)])
        self._report()

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, codes: Any, _p: Any) -> None:
        if any(code.is_failure for code in codes):
            raise SystemExit(f"{self.store}: the broker refused a subscription: {codes}")
        self.ready = True

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic != config_topic(self.store):
            return
        received = time.time()
        envelope = decode(bytes(message.payload), expect=KINDS_ON_TOPIC[TopicKind.CONFIG])
        config = edge_config.check(envelope, self.store)
        if self.config_version is not None and config.version <= self.config_version:
            return
        self.config_version = config.version
        part = config.allocation
        if part is not None and (self.rules is None or self.rules[0] != part.version):
            self.rules = (part.version, utc_now())
        self._report()
        self.records.append((self.rules[0] if self.rules else None, received, time.time()))


class Watch:
    """paho's external-loop callbacks: each client's socket in one selector."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()

    def attach(self, client: mqtt.Client) -> None:
        """Have ``client`` register its socket here."""
        client.on_socket_open = self._open
        client.on_socket_close = self._close
        client.on_socket_register_write = self._want_write
        client.on_socket_unregister_write = self._read_only

    def _open(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.selector.register(sock, selectors.EVENT_READ, client)

    def _close(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        self.selector.unregister(sock)

    def _want_write(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _read_only(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        self.selector.modify(sock, selectors.EVENT_READ, client)

    def turn(self, timeout: float) -> None:
        """Read and write what is ready."""
        for key, mask in self.selector.select(timeout=timeout):
            if mask & selectors.EVENT_READ:
                key.data.loop_read()
            if mask & selectors.EVENT_WRITE:
                key.data.loop_write()


def run_nodes(host: str, port: int, passwords: dict[str, str], away: set[str], out: Any,
              signals: dict[str, Any]) -> None:
    """Drive these stores' nodes in one thread until ``signals["stop"]``; the nodes of ``away``
    leave on ``signals["leave"]`` and come back on ``signals["back"]``; report to ``out``."""
    out.put(("started", time.time()))
    watch = Watch()
    records: list[tuple[Any, ...]] = []
    sims = [SimNode(store, password, records) for store, password in passwords.items()]
    for sim in sims:
        watch.attach(sim.client)
        sim.client.connect(host, port, keepalive=60)
    told_ready, misc_at = False, time.monotonic()
    pending = {"leave": [s for s in sims if s.store in away],
               "back": [s for s in sims if s.store in away]}
    while not signals["stop"].is_set():
        watch.turn(0.05)
        for what in [w for w in pending if signals[w].is_set()]:
            for sim in pending.pop(what):
                if what == "leave":
                    sim.leave()
                else:
                    sim.come_back()
        if time.monotonic() - misc_at > 1.0:  # keepalive pings
            misc_at = time.monotonic()
            for sim in sims:
                sim.client.loop_misc()
        if not told_ready and all(s.ready for s in sims):
            told_ready = True
            out.put(("ready", len(sims)))
        if records:
            out.put(("applied", records[:]))
            records.clear()
    for sim in sims:  # clean disconnects: no last will
        sim.client.disconnect()
        sim.client.loop_write()


class Nodes:
    """The node processes and what they reported."""

    def __init__(self, host: str, port: int, passwords: dict[str, str], away: set[str]) -> None:
        ctx = mp.get_context("spawn")  # the hub's threads run here: no fork
        self.out = ctx.Queue()
        self.signals = {"stop": ctx.Event(), "leave": ctx.Event(), "back": ctx.Event()}
        items = sorted(passwords.items())
        shares = [dict(items[k::NODE_PROCESSES]) for k in range(NODE_PROCESSES)]
        self.procs = [ctx.Process(target=run_nodes, daemon=True,
                                  args=(host, port, share, away & set(share), self.out,
                                        self.signals)) for share in shares]
        self.ready = 0
        self.started: list[float] = []
        self.applied: list[tuple[Any, ...]] = []
        for proc in self.procs:
            proc.start()

    def collect(self) -> None:
        """Take what the processes reported so far."""
        while not self.out.empty():
            what, data = self.out.get_nowait()
            if what == "ready":
                self.ready += data
            elif what == "started":
                self.started.append(data)
            else:
                self.applied.extend(data)

    def leave(self) -> None:
        """The away stores' nodes say offline and disconnect."""
        self.signals["leave"].set()

    def come_back(self) -> None:
        """The away stores' nodes connect again."""
        self.signals["back"].set()

    def close(self) -> None:
        """Stop the processes (they disconnect cleanly)."""
        self.signals["stop"].set()
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
