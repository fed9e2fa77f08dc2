"""``acorn-edge`` as operators and the end-to-end tests use it: a subprocess configured by env."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from protocol import NodeStatus, TopicKind, decode, node_topic
from tests.edge.conftest import NODE, STORE, wait_until
from tests.support.broker import MqttCreds, Probe, TestBroker
from tests.support.http_calls import http_get, http_post
from tests.support.ports import free_port

ACORN_EDGE = str(Path(sys.executable).parent / "acorn-edge")


def edge_env(tmp_path: Path, creds: MqttCreds | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_EDGE_")}
    env.update(ACORN_EDGE_STORE_ID=STORE, ACORN_EDGE_NODE_ID=NODE,
               ACORN_EDGE_DATA_DIR=str(tmp_path / "edge"), ACORN_EDGE_HTTP_PORT=str(free_port()),
               ACORN_EDGE_LOG_JSON="true")
    if creds:
        env.update(ACORN_EDGE_MQTT_HOST=creds.host, ACORN_EDGE_MQTT_PORT=str(creds.port),
                   ACORN_EDGE_MQTT_PASSWORD=creds.password)
    env.update(extra)
    return env


def acorn_edge(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ACORN_EDGE, *args], env=env, capture_output=True, text=True,
                          timeout=30, check=False)


@contextmanager
def agent_process(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    url = f"http://127.0.0.1:{env['ACORN_EDGE_HTTP_PORT']}"
    process = subprocess.Popen([ACORN_EDGE, "run"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(timeout=0.5) as http:  # one client: each new one builds a TLS context
            wait_until(lambda: _answers(http, url) or process.poll() is not None, timeout=20,
                       interval=0.05)
        assert process.poll() is None, process.communicate()
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _answers(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(f"{url}/api/health").status_code == 200
    except httpx.HTTPError:
        return False


# each command's own --help (``run --help``, ``status --help``...) is read in-process by
# tests/test_cli_help.py; these two start the installed command as operators do
@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_every_command_has_help(args: list[str], tmp_path: Path) -> None:
    result = acorn_edge(*args, env=edge_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "acorn-edge" in result.stdout.lower() or "usage" in result.stdout.lower()


def test_missing_ids_are_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    # a broker password says this is a configured (password) node: run does not pair it
    env = {k: v for k, v in edge_env(tmp_path, ACORN_EDGE_MQTT_PASSWORD="a-password").items()
           if k not in ("ACORN_EDGE_STORE_ID", "ACORN_EDGE_NODE_ID")}
    for command in ("run", "status"):
        result = acorn_edge(command, env=env)
        assert result.returncode == 2
        assert "ACORN_EDGE_STORE_ID" in result.stderr and "Traceback" not in result.stderr


def test_run_with_no_identity_pairs_and_a_hub_it_cannot_use_is_one_line(tmp_path: Path) -> None:
    """No store, node, password or certificate: run pairs (tests/fleet/test_first_run.py); a
    plain http hub without ACORN_EDGE_HUB_INSECURE_HTTP is refused before anything is sent."""
    env = {k: v for k, v in edge_env(tmp_path, ACORN_EDGE_HUB_URL="http://127.0.0.1:9").items()
           if k not in ("ACORN_EDGE_STORE_ID", "ACORN_EDGE_NODE_ID")}
    result = subprocess.run([ACORN_EDGE, "run"], env=env, capture_output=True, text=True,
                            timeout=30, check=False, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "no identity yet" in result.stderr and "pairing failed" in result.stderr
    assert "insecure" in result.stderr.lower() and "Traceback" not in result.stderr
    assert not (tmp_path / ".env").exists() and not (tmp_path / "edge" / "identity").exists()


def test_status_without_agent_or_database(tmp_path: Path) -> None:
    result = acorn_edge("status", env=edge_env(tmp_path))
    assert result.returncode == 1 and "no database" in result.stderr


def test_run_serves_links_and_stops_cleanly_on_sigterm(tmp_path: Path,
                                                       broker: TestBroker) -> None:
    env = edge_env(tmp_path, broker.node_creds(STORE, NODE))
    watcher = Probe(broker.admin_creds())
    try:
        watcher.subscribe(node_topic(STORE, NODE, TopicKind.STATUS))
        with agent_process(env) as (process, url), httpx.Client(timeout=5) as http:
            wait_until(lambda: http.get(f"{url}/api/health").json()["broker_connected"],
                       interval=0.05)
            status = json.loads(acorn_edge("status", "--json", env=env).stdout)
            assert status["source"].startswith("running agent") and status["broker"] == "connected"
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=15)
            assert process.returncode == 0, err
            assert url in out and "Traceback" not in err
        states = [b.state for b in (decode(bytes(m.payload)).body for m in watcher.messages)
                  if isinstance(b, NodeStatus)]
        assert states[-1] == "offline" and "online" in states
    finally:
        watcher.close()
    offline = acorn_edge("status", env=env)
    assert offline.returncode == 0 and "agent not running" in offline.stdout


def test_run_without_a_broker_still_records_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = edge_env(tmp_path, ACORN_EDGE_MQTT_PORT=str(free_port()))
    with agent_process(env) as (process, url):
        answer = http_post(f"{url}/api/returns", json={
            "channel": "pos", "reason": "changed mind",
            "items": [{"sku": "S", "quantity": 1,
                       "unit_price": {"amount": "5", "currency": "USD"}}]})
        assert answer.status_code == 201
        assert http_get(f"{url}/api/health").json()["broker_connected"] is False
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0 and "Traceback" not in err
    status = acorn_edge("status", env=env)
    assert "outbox pending: 3" in status.stdout  # the return, its stock move, its refund request
