"""Several hub workers on two brokers: they end up on the leader's broker.

Promise protected (hub.sync.mqtt, docs/operations/broker-ha.md): with MQTT_BROKERS="A,B" and two
workers sharing the ingest on PostgreSQL, only the leader tells the nodes where the hub is, and
a follower that lost its connection and reconnected to B (where nobody leads) goes back to the
leader on A within a few presence intervals, instead of splitting the ingest between brokers;
it then stays there. Real processes, real Mosquittos, a real PostgreSQL database.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocol import HUB_PRESENCE_TOPIC, decode
from tests.ha.conftest import Brokers
from tests.ha.test_failover import on
from tests.reliability.test_crashes import health
from tests.support.broker import MqttCreds
from tests.support.databases import pg_database
from tests.support.procs import Proc, hub_proc, stop_all, wait_for

pytestmark = pytest.mark.slow

PRESENCE = 0.5  # the workers' hub_presence_seconds: a follower moves after 3 of them unheard
STARTUP = 90.0


def worker_creds(brokers: Brokers, name: str) -> MqttCreds:
    """A worker's own user on both brokers, bound to its own client id; host and port are A's."""
    password = secrets.token_urlsafe(12)
    with brokers.admins(require_all=True) as admins:
        admins.provision_hub(password, username=name, client_id=name)
    return MqttCreds(brokers.a.host, brokers.a.port, name, password, name)


@pytest.fixture
def workers(brokers: Brokers, tmp_path: Path) -> Iterator[tuple[Proc, Proc, MqttCreds]]:
    """The leader (started first) and a follower, both with the list A,B."""
    db_urls = pg_database()
    db_url = next(db_urls)
    procs: list[Proc] = []
    try:
        # both users first: changing the hub's role on a broker disconnects its clients there
        creds = {name: worker_creds(brokers, name) for name in ("acorn-hub-w1", "acorn-hub-w2")}
        for name in creds:
            proc = hub_proc(tmp_path, creds[name], db_url, mqtt_brokers=brokers.setting,
                            hub_workers="2", leader_poll_seconds="0.5",
                            hub_presence_seconds=str(PRESENCE))
            proc.name, proc.log_path = name, tmp_path / f"{name}.log"
            procs.append(proc.start(timeout=STARTUP))
        yield procs[0], procs[1], creds["acorn-hub-w2"]
    finally:
        stop_all(procs)
        db_urls.close()


def presences_on(brokers: Brokers, seconds: float) -> list[str]:
    """The hub names of the live presences heard on broker A for ``seconds``."""
    heard: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{secrets.token_hex(4)}")
    client.username_pw_set(brokers.a.admin_user, brokers.admin_password)
    subscribed = threading.Event()
    client.on_connect = lambda c, *_a: c.subscribe(HUB_PRESENCE_TOPIC, qos=0)
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_message = lambda _c, _u, m: (heard.append(decode(m.payload).body.hub)  # type: ignore[attr-defined]
                                           if not m.retain and m.payload else None)
    client.connect(brokers.a.host, brokers.a.port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "the presence probe never subscribed"
        time.sleep(seconds)
    finally:
        client.disconnect()
        client.loop_stop()
    return heard


def test_a_follower_knocked_onto_the_other_broker_returns_to_the_leaders(
        brokers: Brokers, workers: tuple[Proc, Proc, MqttCreds]) -> None:
    leader, follower, follower_creds = workers
    a, b = (str(address) for address in brokers.addresses)
    wait_for(lambda: on(leader, a, hub=True) and on(follower, a, hub=True), 30,
             "both workers on broker A")
    wait_for(lambda: health(leader)["ingest"]["leading"], 30, "the first worker leading")
    assert not health(follower)["ingest"]["leading"]
    # only the leader speaks for the hub: the nodes follow it, and so do the other workers
    assert set(presences_on(brokers, 4 * PRESENCE)) == {"acorn-hub-w1"}

    # the follower loses its connection to A (a client takes over its client id): paho's
    # reconnect goes to the next broker of the list, B, where no leader speaks
    thief = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=follower_creds.client_id,
                        protocol=mqtt.MQTTv5)
    thief.username_pw_set(follower_creds.username, follower_creds.password)
    thief.connect(brokers.a.host, brokers.a.port)
    thief.loop_start()
    try:
        wait_for(lambda: on(follower, b, hub=True), 30, "the follower knocked onto broker B")
    finally:
        thief.disconnect()
        thief.loop_stop()
    moved = time.monotonic()
    wait_for(lambda: on(follower, a, hub=True), 30, "the follower back on the leader's broker")
    print(f"\nthe follower went back to the leader's broker {time.monotonic() - moved:.1f} s "
          f"after landing on B (presence every {PRESENCE:g} s)")
    settled = time.monotonic()
    while time.monotonic() - settled < 6 * PRESENCE:  # and it stays with the leader
        assert on(follower, a, hub=True), "the follower left the leader's broker again"
        assert on(leader, a, hub=True), "the leader moved"
        time.sleep(0.3)
