"""Edge benchmarks (not tests): drain rate, API latency, idle memory. Prints one line per figure.

    .venv/bin/python -m tests.edge.bench_edge

Targets (issue 2): 10,000 buffered events drained to hub-acked in <= 5 s; recording a return
through the local API, durable before the answer, p99 <= 10 ms; the idle agent <= 80 MB resident.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.edge.conftest import NODE, STORE, make_settings, running_agent, wait_until
from tests.edge.hub_standin import HubStandIn
from tests.edge.test_link import _buffer
from tests.support.broker import TestBroker
from tests.support.http_calls import http_get

RETURN = {"channel": "pos", "reason": "changed mind", "staff_id": "ann",
          "items": [{"sku": "SKU-1", "quantity": 2,
                     "unit_price": {"amount": "9.99", "currency": "USD"}}]}


def drain(root: Path, broker: TestBroker, count: int = 10_000) -> float:
    """Seconds from agent start to the hub stand-in's ack covering ``count`` buffered events."""
    settings = make_settings(root / "drain", broker.node_creds(STORE, NODE))
    _buffer(settings.db_path, count)
    hub = HubStandIn(broker.hub_creds(), STORE, NODE)
    try:
        with running_agent(settings) as run:
            started = time.monotonic()
            wait_until(lambda: run.agent.counter.figures().pending == 0, timeout=60,
                       interval=0.005)
            return time.monotonic() - started
    finally:
        hub.close()


def api_latency(root: Path, broker: TestBroker, n: int = 1000) -> list[float]:
    """Milliseconds per POST /api/returns to ``acorn-edge run`` (its own process), sequentially."""
    creds = broker.hub_creds()
    hub = subprocess.Popen(  # in its own process, as the real hub is
        [sys.executable, "-m", "tests.edge.hub_standin", creds.host, str(creds.port),
         creds.username, creds.password, STORE, "latency"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert hub.stdout is not None and hub.stdout.readline().strip() == "ready"
    with agent_process(root, broker, "latency") as (url, _pid), \
            httpx.Client(base_url=url) as http:
        for _ in range(50):  # warm up
            http.post("/api/returns", json=RETURN)
        times = []
        for _ in range(n):
            started = time.perf_counter()
            assert http.post("/api/returns", json=RETURN).status_code == 201
            times.append((time.perf_counter() - started) * 1000)
    hub.communicate("", timeout=10)
    return times


def idle_rss(root: Path, broker: TestBroker) -> float:
    """Resident MB of ``acorn-edge run`` with its web server and MQTT link up, idle."""
    with agent_process(root, broker, "idle") as (url, pid):
        http_get(f"{url}/", timeout=2)
        time.sleep(2)  # idle for a moment
        status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmRSS")) / 1024


@contextmanager
def agent_process(root: Path, broker: TestBroker, node: str) -> Iterator[tuple[str, int]]:
    """``acorn-edge run`` for ``node`` with its link up; yields (URL, pid); SIGTERM afterwards."""
    creds = broker.node_creds(STORE, node)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "ACORN_EDGE_STORE_ID": STORE, "ACORN_EDGE_NODE_ID": node,
           "ACORN_EDGE_DATA_DIR": str(root / node), "ACORN_EDGE_HTTP_PORT": str(port),
           "ACORN_EDGE_MQTT_PORT": str(creds.port), "ACORN_EDGE_MQTT_PASSWORD": creds.password}
    process = subprocess.Popen([str(Path(sys.executable).parent / "acorn-edge"), "run"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _connected(f"{url}/api/health"), timeout=20)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def _connected(url: str) -> bool:
    try:
        return bool(http_get(url, timeout=0.5).json()["broker_connected"])
    except httpx.HTTPError:
        return False


def main() -> None:
    """Run each benchmark and print its figure beside its target."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = TestBroker(root / "mosquitto")
        try:
            seconds = drain(root, broker)
            print(f"edge drain: 10,000 events hub-acked in {seconds:.2f} s "
                  f"({10_000 / seconds:,.0f}/s)  target <= 5 s")
            times = sorted(api_latency(root, broker))
            p99 = times[int(len(times) * 0.99) - 1]
            print(f"edge API POST /api/returns: p50 {statistics.median(times):.2f} ms, "
                  f"p99 {p99:.2f} ms over {len(times)}  target p99 <= 10 ms")
            print(f"edge idle RSS: {idle_rss(root, broker):.1f} MB  target <= 80 MB")
        finally:
            broker.kill()


if __name__ == "__main__":
    main()
