"""Two independent brokers: broker A killed mid-stream, everyone follows the hub to B.

Promise protected (docs/operations/broker-ha.md): with MQTT_BROKERS="A,B" on the hub and on every
node, SIGKILL of broker A while three counters keep recording returns ends with the hub and all
three nodes on broker B, and every return a counter confirmed stored at the hub exactly once, in
counter order; when A comes back nobody moves back to it (the hub stays where it works, the
nodes stay with the hub), and a node that starts while A holds an "online" presence the hub is
not behind (a stale retained copy) still finds the hub on B. Real processes, real Mosquittos.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.fleet.acl import HUB_ROLE
from protocol import HUB_PRESENCE_ID, HUB_PRESENCE_TOPIC, HubPresence, encode, make_envelope
from tests.ha.conftest import Brokers
from tests.reliability.test_crashes import Counter, drained, health
from tests.support.broker import MqttCreds, Probe
from tests.support.procs import Proc, edge_proc, hub_proc, stop_all, wait_for

pytestmark = pytest.mark.slow

STORES = ("store-a", "store-b", "store-c")
RETURNS_PER_STORE = 60
HUB_WAIT = 3.0  # the nodes' hub_wait_seconds
PRESENCE = 1.0  # the hub's hub_presence_seconds
STARTUP = 90.0  # a hub migrates its database first: slow on a busy 2-core machine


def hub_inbox(tmp: Path, store: str) -> list[dict[str, Any]]:
    """Every event the hub stored for ``store``/n1, in seq order (its own SQLite file)."""
    engine = sa.create_engine(f"sqlite:///{tmp / 'hub.db'}")
    try:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.text(
                "SELECT seq, kind, body FROM inbox WHERE store_id = :s AND node_id = 'n1' "
                "ORDER BY seq"), {"s": store})]
    finally:
        engine.dispose()
    for row in rows:
        body = row["body"] if isinstance(row["body"], dict) else json.loads(row["body"])
        row["return_id"] = body.get("return_id")
    return rows


def on(proc: Proc, broker: str, hub: bool = False) -> bool:
    """True when ``proc`` says it is connected to ``broker``."""
    try:
        found = health(proc)
    except httpx.HTTPError:
        return False
    if hub:
        return bool(found["mqtt"]["connected"] and found["mqtt"]["broker"] == broker)
    return bool(found["broker_connected"] and found["broker"] == broker)


@pytest.fixture
def fleet(brokers: Brokers, tmp_path: Path) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    """The hub and three nodes, all with the list A,B; stopped after the test."""
    hub = hub_proc(tmp_path, brokers.hub_creds(), mqtt_brokers=brokers.setting,
                   hub_presence_seconds=str(PRESENCE))
    edges = {store: edge_proc(tmp_path, store, "n1", brokers.node_creds(store, "n1"),
                              mqtt_brokers=brokers.setting, hub_wait_seconds=str(HUB_WAIT))
             for store in STORES}
    try:
        hub.start(timeout=STARTUP)
        for edge in edges.values():
            edge.start(wait=False)
        for edge in edges.values():
            edge.wait_healthy(STARTUP)
        yield hub, edges
    finally:
        stop_all([hub, *edges.values()])


def test_broker_a_killed_mid_stream_everyone_ends_on_b_and_nothing_is_lost_or_doubled(
        brokers: Brokers, fleet: tuple[Proc, dict[str, Proc]], tmp_path: Path) -> None:
    hub, edges = fleet
    a, b = (str(address) for address in brokers.addresses)
    wait_for(lambda: on(hub, a, hub=True) and all(on(e, a) for e in edges.values()), 30,
             "the hub and every node on broker A")
    stop = threading.Event()
    counters = {store: Counter(edge, RETURNS_PER_STORE, stop) for store, edge in edges.items()}
    for counter in counters.values():
        counter.start()
    try:
        wait_for(lambda: all(len(c.ids) >= 15 for c in counters.values()), 60,
                 "traffic through broker A")
        written = {store: health(edge)["next_seq"] - 1 for store, edge in edges.items()}
        brokers.a.kill()
        killed = time.monotonic()
        wait_for(lambda: on(hub, b, hub=True), 30, "the hub on broker B")
        hub_moved = time.monotonic() - killed
        wait_for(lambda: all(on(e, b) for e in edges.values()), 30, "every node on broker B")
        nodes_moved = time.monotonic() - killed
        wait_for(lambda: all(health(edge)["last_acked_seq"] >= written[store]
                             for store, edge in edges.items()), 60,
                 "what the nodes had written before the kill acked through B")
        acked = time.monotonic() - killed
        for counter in counters.values():
            counter.join(timeout=180)
            assert not counter.is_alive(), "a counter never finished its returns"
            assert counter.error is None, f"{counter.name}: {counter.error!r}"
    finally:
        stop.set()
    for edge in edges.values():
        wait_for(lambda edge=edge: drained(edge), 60, f"{edge.name}'s outbox to drain")
    print(f"\nfailover after SIGKILL of A (seen through /api/health polls): hub on B in "
          f"{hub_moved:.1f} s, every node on B in {nodes_moved:.1f} s, everything written before "
          f"the kill acked through B {acked:.1f} s after it (hub_wait {HUB_WAIT:g} s, presence "
          f"every {PRESENCE:g} s)")
    for store, counter in counters.items():
        assert_exactly_once(tmp_path, store, counter.ids)

    # A comes back: the hub stays on B, and so does every node; traffic keeps flowing through B
    brokers.a.start()
    came_back = time.monotonic()
    more = Counter(edges["store-a"], 5, threading.Event())
    more.start()
    more.join(60)
    assert more.error is None and len(more.ids) == 5
    while time.monotonic() - came_back < 3 * HUB_WAIT:
        assert on(hub, b, hub=True), "the hub left broker B when A came back"
        assert all(on(e, b) for e in edges.values()), "a node left broker B when A came back"
        time.sleep(0.5)
    wait_for(lambda: drained(edges["store-a"]), 30, "store-a's new returns acked")
    assert_exactly_once(tmp_path, "store-a", counters["store-a"].ids + more.ids)


def test_a_node_starting_on_a_broker_with_a_stale_hub_presence_still_finds_the_hub(
        brokers: Brokers, fleet: tuple[Proc, dict[str, Proc]], tmp_path: Path) -> None:
    """A retained "online" on A that no hub is behind (as a broker restored from its persistence
    file may hold) does not keep a node on A: it waits for a live refresh, then moves to B."""
    hub, edges = fleet
    a, b = (str(address) for address in brokers.addresses)
    brokers.a.kill()
    wait_for(lambda: on(hub, b, hub=True) and all(on(e, b) for e in edges.values()), 30,
             "everyone on broker B")
    brokers.a.start()
    plant_stale_presence(brokers)
    edge = edges["store-c"]
    edge.stop()
    edge.start(wait=False)
    wait_for(lambda: on(edge, a), 30, "the restarted node trying A first")
    counter = Counter(edge, 5, threading.Event())
    counter.start()
    counter.join(60)
    assert counter.error is None and len(counter.ids) == 5
    wait_for(lambda: on(edge, b) and drained(edge), 4 * HUB_WAIT + 10,
             "the restarted node on B with its returns acked")
    inbox = hub_inbox(tmp_path, "store-c")
    assert [row["return_id"] for row in inbox if row["kind"] == "return.received"] == counter.ids


def plant_stale_presence(brokers: Brokers) -> None:
    """A retained online presence on A, published by a stand-in with the hub's role."""
    with brokers.admins() as admins:
        admins.run([{"command": "createClient", "username": "stale-hub", "password": "pw-stale",
                     "roles": [{"rolename": HUB_ROLE}]}])
    probe = Probe(MqttCreds(brokers.a.host, brokers.a.port, "stale-hub", "pw-stale"))
    try:
        body = HubPresence(state="online", hub="acorn-hub", interval_seconds=PRESENCE)
        probe.publish(HUB_PRESENCE_TOPIC, encode(make_envelope(HUB_PRESENCE_ID, HUB_PRESENCE_ID,
                                                               0, body)), retain=True)
    finally:
        probe.close()


def assert_exactly_once(tmp: Path, store: str, ids: list[str]) -> None:
    """The hub holds each confirmed return once, in counter order, with no gap in the seqs."""
    inbox = hub_inbox(tmp, store)
    seqs = [row["seq"] for row in inbox]
    assert seqs == list(range(1, len(seqs) + 1)), f"{store}: hub inbox has gaps or duplicates"
    received = [row["return_id"] for row in inbox if row["kind"] == "return.received"]
    assert received == ids, f"{store}: returns at the hub differ from the counter's"
