"""``acorn-hub serve`` as a subprocess configured only by env vars: it ingests, SIGTERM ends it
cleanly (exit 0), and a restarted hub picks up exactly what the first one had not acked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hub.storage.engine import make_engine, reading
from hub.storage.tables.core import inbox, returns
from protocol import TopicKind, encode, node_topic
from tests.hub.helpers import NodeProbe, node_row, received, wait_for
from tests.support.broker import MqttCreds, TestBroker
from tests.support.databases import migrated
from tests.support.http_calls import http_get
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def hub_process(creds: MqttCreds, db_url: str, log_path: Path) -> Iterator[
        tuple[subprocess.Popen[bytes], int]]:
    """``python -m hub serve`` with env-only settings; killed if the test leaves it running."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url,
           "ACORN_HUB_MQTT_HOST": creds.host, "ACORN_HUB_MQTT_PORT": str(creds.port),
           "ACORN_HUB_MQTT_USERNAME": creds.username, "ACORN_HUB_MQTT_PASSWORD": creds.password,
           "ACORN_HUB_HTTP_PORT": str(port), "ACORN_HUB_LOG_JSON": "true"}
    with log_path.open("a") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        # a readiness wait, not a figure under test: a loaded machine needs more than 20 s
        wait_for(lambda: _connected(proc, port, log_path), 60, "the hub to serve and connect")
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _connected(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> bool:
    assert proc.poll() is None, log_path.read_text()
    try:
        health = http_get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()
    except httpx.HTTPError:
        return False
    return bool(health["mqtt"]["connected"])


def count(db_url: str, table: object) -> int:
    engine = make_engine(db_url)
    try:
        with reading(engine) as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def _publish_paced(node: NodeProbe, total: int, burst: int = 2000, chunk: int = 50,
                   pause: float = 0.2) -> None:
    """``total`` events of s1/n1 at QoS 1: ``burst`` at once (the hub is busy with them when
    the signal lands), then ``chunk`` at a time (2,000 more take about 8 s: still coming)."""
    for seq in range(1, total + 1):
        node.probe.client.publish(node_topic("s1", "n1", TopicKind.EVENTS),
                                  encode(received("s1", "n1", seq, f"R{seq}")), qos=1)
        if seq >= burst and (seq - burst) % chunk == 0:
            time.sleep(pause)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopped_mid_ingest_then_restarted_the_hub_holds_every_event_exactly_once(
        broker: TestBroker, db_url: str, tmp_path: Path, sig: signal.Signals) -> None:
    # a backlog still arriving when the signal lands, so the stop is mid-ingest: published
    # all at once, a loaded machine let the hub store most of it before the signal (five of
    # these tests at once stored 2,800-3,300 of 4,000 first, and a loaded `-n 4` run all)
    creds, log_path, total = broker.hub_creds(), tmp_path / "hub.log", 4000
    node = NodeProbe(broker, "s1", "n1")
    if sig is signal.SIGKILL:  # a clone of the migrated template; the SIGTERM case has `serve`
        migrated(db_url)  # migrate its empty database itself
    engine = make_engine(db_url)
    try:
        with hub_process(creds, db_url, log_path) as (hub, _port):
            publisher = threading.Thread(target=_publish_paced, args=(node, total), daemon=True)
            publisher.start()
            wait_for(lambda: (row := node_row(engine, "s1", "n1")) and row.contiguous_seq >= 100,
                     30, "the hub to be ingesting")  # a batch or so in, the rest still coming
            hub.send_signal(sig)
            code = hub.wait(20)
        assert code == (0 if sig is signal.SIGTERM else -signal.SIGKILL), log_path.read_text()
        first = count(db_url, inbox)
        assert 0 < first < total, "the hub was not stopped in the middle of its ingest"
        publisher.join(60)  # the rest waits in the hub's session on the broker
        with hub_process(creds, db_url, log_path):
            wait_for(lambda: node_row(engine, "s1", "n1").contiguous_seq == total, 60,
                     f"all {total} events after the restart")
    finally:
        engine.dispose()
        node.close()
    text = log_path.read_text()
    assert "Traceback" not in text
    assert count(db_url, inbox) == count(db_url, returns) == total
    print(f"\nfirst hub stored {first} of {total} before {sig.name}; the restart took the rest")
