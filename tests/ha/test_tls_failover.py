"""Certificate nodes follow the hub too: one fleet CA trusted by both brokers' TLS listeners.

Promise protected: a node that logs in by certificate (mutual TLS) over the list A,B works on
either broker; when A is killed it moves to B with the same certificate and what it recorded
reaches the hub exactly once. Real processes, real Mosquittos with mutual-TLS listeners.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hub.fleet import pki
from hub.fleet.acl import node_username
from tests.fleet.conftest import sign_file
from tests.ha.conftest import Brokers
from tests.ha.test_failover import STARTUP, assert_exactly_once, on
from tests.reliability.test_crashes import Counter, drained
from tests.support.broker import MqttCreds
from tests.support.procs import edge_proc, hub_proc, stop_all, wait_for

pytestmark = pytest.mark.slow


def test_a_certificate_node_moves_to_b_with_its_certificate_and_loses_nothing(
        tls_brokers: Brokers, fleet_ca: pki.FleetCa, tmp_path: Path) -> None:
    brokers = tls_brokers
    assert brokers.a.tls is not None and brokers.b.tls is not None
    name = node_username("store-t", "n1")
    with brokers.admins(require_all=True) as admins:  # what enrolment does, on every broker
        admins.provision_cert_node("store-t", "n1")
    key_file, cert_file = sign_file(fleet_ca, tmp_path / "node", name)
    hub = hub_proc(tmp_path, brokers.hub_creds(), mqtt_brokers=brokers.setting,
                   hub_presence_seconds="1")
    edge = edge_proc(tmp_path, "store-t", "n1",
                     MqttCreds(brokers.a.host, brokers.a.tls.port, name, "unused"),
                     mqtt_brokers=brokers.tls_setting, hub_wait_seconds="3",
                     mqtt_tls_ca_file=str(brokers.a.tls.cafile),
                     mqtt_tls_cert_file=str(cert_file), mqtt_tls_key_file=str(key_file))
    a_tls = f"{brokers.a.host}:{brokers.a.tls.port}"
    b_tls = f"{brokers.b.host}:{brokers.b.tls.port}"
    try:
        hub.start(timeout=STARTUP)
        edge.start(timeout=STARTUP)
        wait_for(lambda: on(edge, a_tls), 30, "the certificate node on A")
        before = Counter(edge, 5, threading.Event())
        before.start()
        before.join(60)
        brokers.a.kill()
        wait_for(lambda: on(edge, b_tls), 30, "the certificate node on B")
        after = Counter(edge, 5, threading.Event())
        after.start()
        after.join(60)
        assert before.error is None and after.error is None
        wait_for(lambda: drained(edge), 60, "the node's returns acked through B")
        assert_exactly_once(tmp_path, "store-t", before.ids + after.ids)
    finally:
        stop_all([hub, edge])
