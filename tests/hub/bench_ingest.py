"""Ingest benchmark (not a test): N buffered events drained to hub-confirmed, through a real
broker into a real ``acorn-hub serve`` subprocess.

    .venv/bin/python -m tests.hub.bench_ingest [--events 10000] [--db-url URL]

A node identity publishes N return.received events as fast as the broker takes them (like an
edge outbox draining a backlog); the clock stops when the hub's retained ack covers seq N, i.e.
every event is committed. Target (issue 2): 10,000 events in at most 5 s (>= 2,000 events/s).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.storage.engine import make_engine
from protocol import TopicKind, decode, encode, node_topic
from tests.hub.helpers import received
from tests.support.broker import TestBroker
from tests.support.http_calls import http_get
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_hub(broker: TestBroker, db_url: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``acorn-hub serve`` configured by env vars; returns once it is connected."""
    creds, port = broker.hub_creds(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url,
           "ACORN_HUB_MQTT_HOST": creds.host, "ACORN_HUB_MQTT_PORT": str(creds.port),
           "ACORN_HUB_MQTT_USERNAME": creds.username, "ACORN_HUB_MQTT_PASSWORD": creds.password,
           "ACORN_HUB_MQTT_CLIENT_ID": creds.client_id or "acorn-hub",
           "ACORN_HUB_HTTP_PORT": str(port), "ACORN_HUB_LOG_LEVEL": "WARNING"}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if http_get(f"http://127.0.0.1:{port}/api/health").json()["mqtt"]["connected"]:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"hub did not start: {log.read_text()}")


def drain(broker: TestBroker, events: int) -> float:
    """Publish ``events`` as node s1/n1; seconds until the hub's ack covers them all."""
    creds = broker.node_creds("bench", "n1")
    payloads = [encode(received("bench", "n1", n, f"R{n}")) for n in range(1, events + 1)]
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=creds.client_id)
    client.username_pw_set(creds.username, creds.password)
    client.max_inflight_messages_set(1000)

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if decode(message.payload).body.up_to_seq >= events:  # type: ignore[attr-defined]
            done.set()

    client.on_message = on_message
    client.connect(creds.host, creds.port)
    client.loop_start()
    client.subscribe(node_topic("bench", "n1", TopicKind.ACKS), qos=1)
    time.sleep(0.5)  # the retained ack of an earlier run, if any, arrives first
    topic = node_topic("bench", "n1", TopicKind.EVENTS)
    started = time.perf_counter()
    for payload in payloads:
        client.publish(topic, payload, qos=1)
    if not done.wait(120):
        raise SystemExit("the hub did not confirm every event within 120 s")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def _batch_stats(port: int, db_url: str) -> str:
    engine = make_engine(db_url)  # /metrics needs a token: make one for this read
    try:
        token = create_token(engine, f"bench-{os.getpid()}-{time.time_ns()}", Role.VIEWER)
    finally:
        engine.dispose()
    text = http_get(f"http://127.0.0.1:{port}/metrics",
                    headers={"Authorization": f"Bearer {token}"}).text
    value = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
             if line.startswith(("acorn_hub_ingest_batch_size_", "acorn_hub_ingest_batch_seconds_"))
             and " " in line and "{" not in line}
    n = value.get("acorn_hub_ingest_batch_size_count", 0) or 1
    return (f"{n:.0f} batches, {value.get('acorn_hub_ingest_batch_size_sum', 0) / n:.0f} "
            f"messages and {value.get('acorn_hub_ingest_batch_seconds_sum', 0) / n * 1000:.1f} ms "
            "each on average")


def main() -> None:
    """Run the benchmark and print the figure beside its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--db-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = TestBroker(Path(tmp) / "mosquitto")
        db_url = args.db_url or f"sqlite:///{tmp}/hub.db"
        try:
            hub, port = start_hub(broker, db_url, Path(tmp) / "hub.log")
            try:
                seconds = drain(broker, args.events)
                batches = _batch_stats(port, db_url)
            finally:
                hub.send_signal(signal.SIGTERM)
                hub.wait(30)
        finally:
            broker.kill()
    print(batches)
    rate = args.events / seconds
    verdict = "OK" if seconds <= 5 * args.events / 10_000 else "MISSED"
    print(f"hub ingest: {args.events} events drained to hub-confirmed in {seconds:.2f} s "
          f"({rate:,.0f} events/s) on {db_url.split(':')[0]}; target <= 5 s per 10,000 "
          f"(>= 2,000/s): {verdict}")


if __name__ == "__main__":
    main()
