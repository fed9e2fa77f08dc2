"""Checking PINs (scrypt, 16 MiB each) leaves the running agent's memory where it was."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from protocol import config_topic
from tests.edge.bench_edge import agent_process
from tests.edge.conftest import wait_until
from tests.edge_auth.conftest import STORE, config_payload
from tests.support.broker import Probe, TestBroker
from tests.support.http_calls import http_post
from tests.support.procs import polling_client


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmRSS")) / 1024


def test_sign_ins_do_not_grow_the_agent_s_memory(tmp_path: Path, broker: TestBroker) -> None:
    hub = Probe(broker.hub_creds())
    try:
        hub.publish(config_topic(STORE), config_payload(1), retain=True)
        with agent_process(tmp_path, broker, "counter-9") as (url, pid):
            health = f"{url}/api/health"
            wait_until(lambda: polling_client().get(health).json()["config_version"] == 1)
            time.sleep(0.5)
            before = rss_mb(pid)

            def sign_ins() -> None:
                for pin in ("0000", "8080", "0001"):
                    http_post(f"{url}/api/session", json={"staff_id": "max", "pin": pin})

            threads = [threading.Thread(target=sign_ins) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            after = rss_mb(pid)
        assert after < before + 8, (before, after)  # not 16 MiB kept per server thread
        assert after <= 96  # the whole agent (returns, stock, self-test, pairing) on a mini-PC
    finally:
        hub.close()
