"""Run `acorn-hub serve` and `acorn-edge run` as real subprocesses for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from tests.support.broker import MqttCreds
from tests.support.databases import migrated
from tests.support.ports import free_port

BIN = Path(sys.executable).parent


@dataclass
class Proc:
    """A running ACORN process with its HTTP base URL and its log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    _log: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True, timeout: float = 30.0) -> Proc:
        """Start the process (and by default wait until /api/health answers)."""
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        """Poll /api/health until it answers 200; fail with the log tail if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = health_of(self)  # one client: no TLS context a poll
            if health is not None:
                return health
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not healthy in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or power loss would."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        return self._signal(signal.SIGTERM, timeout)

    def _signal(self, sig: int, timeout: float = 15.0) -> int | None:
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.popen.returncode


def stop_all(procs: Iterable[Proc]) -> None:
    """SIGTERM every process and wait for them side by side (each shuts down on its own)."""
    procs = list(procs)
    if procs:
        with ThreadPoolExecutor(len(procs), thread_name_prefix="test-stop") as pool:
            list(pool.map(Proc.stop, procs))


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def hub_proc(tmp: Path, creds: MqttCreds, db_url: str | None = None, **extra: str) -> Proc:
    """An `acorn-hub serve` configured purely by environment variables."""
    port = free_port()
    if db_url is None and not (tmp / "hub.db").exists():
        migrated(f"sqlite:///{tmp / 'hub.db'}")  # a clone: `serve` finds its schema current
    env = _base_env() | {
        "ACORN_HUB_DATABASE_URL": db_url or f"sqlite:///{tmp / 'hub.db'}",
        "ACORN_HUB_MQTT_HOST": creds.host,
        "ACORN_HUB_MQTT_PORT": str(creds.port),
        "ACORN_HUB_MQTT_USERNAME": creds.username,
        "ACORN_HUB_MQTT_PASSWORD": creds.password,
        "ACORN_HUB_MQTT_CLIENT_ID": creds.client_id or "acorn-hub",
        "ACORN_HUB_HTTP_PORT": str(port),
        **{f"ACORN_HUB_{k.upper()}": v for k, v in extra.items()},
    }
    return Proc("hub", [str(BIN / "acorn-hub"), "serve"], env, port, tmp / "hub.log")


def edge_proc(tmp: Path, store_id: str, node_id: str, creds: MqttCreds, **extra: str) -> Proc:
    """An `acorn-edge run` configured purely by environment variables."""
    port = free_port()
    data_dir = tmp / f"edge-{store_id}-{node_id}"
    env = _base_env() | {
        "ACORN_EDGE_STORE_ID": store_id,
        "ACORN_EDGE_NODE_ID": node_id,
        "ACORN_EDGE_DATA_DIR": str(data_dir),
        "ACORN_EDGE_MQTT_HOST": creds.host,
        "ACORN_EDGE_MQTT_PORT": str(creds.port),
        "ACORN_EDGE_MQTT_USERNAME": creds.username,
        "ACORN_EDGE_MQTT_PASSWORD": creds.password,
        "ACORN_EDGE_HTTP_PORT": str(port),
        **{f"ACORN_EDGE_{k.upper()}": v for k, v in extra.items()},
    }
    return Proc(
        f"edge-{store_id}-{node_id}",
        [str(BIN / "acorn-edge"), "run"],
        env,
        port,
        tmp / f"edge-{store_id}-{node_id}.log",
    )


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.1,
             pause: Callable[[float], None] = time.sleep) -> Any:
    """Poll ``predicate`` until it returns a truthy value, ``pause``-ing ``interval`` seconds
    between tries; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        pause(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@cache
def polling_client() -> httpx.Client:
    """One HTTP client for the tests that poll a process's API (plain http): ``httpx.get`` makes
    a client, TLS context included, at every call (about 20 ms of CPU: polled every 0.1 s, a
    fifth of a core). Each request opens its own connection (no keep-alive), as ``httpx.get``
    does, so nothing is left open to a process that stops."""
    return httpx.Client(timeout=2.0, limits=httpx.Limits(max_keepalive_connections=0))


def answer_of(url: str) -> dict[str, Any] | None:
    """The JSON object ``GET url`` answers with 200; None when nothing answers or not 200."""
    try:
        answer = polling_client().get(url)
    except httpx.HTTPError:
        return None
    return dict(answer.json()) if answer.status_code == 200 else None


def health_of(proc: Proc) -> dict[str, Any] | None:
    """``proc``'s /api/health if it answers 200 now (None if not), through ``polling_client``:
    for ``wait_for``. Fails with the log tail if the process died, as ``Proc.wait_healthy``."""
    if proc.popen is not None and proc.popen.poll() is not None:
        raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_tail()}")
    return answer_of(f"{proc.url}/api/health")
