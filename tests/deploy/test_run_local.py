"""``make run`` (deploy/scripts/run_local.py) for real, in a temporary state directory and on
ports of its own, so it never meets a developer's ``make run``.

One port is held before it starts by a server answering 200 to every request (what took 8081
from the Berlin agent): the agent must serve on another port and the banner must say which. Then
a store agent and the broker are killed, and each must come back on its port, with a line saying
so. The admin token is printed on every start: the same one while the hub takes it, else a new
one (the one before revoked). The demo returns are queued on the first start only.
Nothing waits on the clock: every wait is for a condition, with a generous bound.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.support.http_calls import http_get
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "scripts" / "run_local.py"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def wait_for(what: str, check: Callable[[], object], timeout: float = 180.0) -> object:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not seen in {timeout:.0f}s: {what}")


def pid_listening(port: int) -> int | None:
    """The process holding the socket that listens on loopback ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


class Impostor(BaseHTTPRequestHandler):
    """Answers 200 with a health-like body to anything: only the port's owner tells it apart."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "store_id": "someone-else"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def impostor() -> Iterator[int]:
    """An HTTP server holding a port; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    thread = threading.Thread(target=server.serve_forever, name="impostor")
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Run:
    """One run of run_local.py, its output in a file."""

    def __init__(self, state: Path, ports: dict[str, int], out: Path) -> None:
        self.out = out
        self.ports = ports
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
        env["PYTHONPATH"] = str(ROOT)
        env["PYTHONUNBUFFERED"] = "1"
        with out.open("wb") as handle:
            self.popen = subprocess.Popen(
                [sys.executable, str(SCRIPT), "--state-dir", str(state),
                 "--broker-port", str(ports["broker"]), "--sim-port", str(ports["sim"]),
                 "--hub-port", str(ports["hub"]),
                 "--edge-ports", f"{ports['berlin']},{ports['nyc']}"],
                env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def banner(self) -> str:
        def seen() -> str | None:
            assert self.popen.poll() is None, f"run_local.py exited:\n{self.text()}"
            text = self.text()
            return text if "approvals desk" in text else None
        return str(wait_for("the banner", seen, timeout=300))

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise


def answers(url: str, token: str | None = None) -> dict[str, object] | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = http_get(url, timeout=5.0, headers=headers)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    data = answer.json()
    return data if isinstance(data, dict) else {"items": data}


def reconnected(agent: str) -> bool:
    """Whether the store agent at ``agent`` says its broker link is up."""
    return (answers(f"{agent}/api/health") or {}).get("broker_connected") is True


def field(banner: str, pattern: str) -> str:
    found = re.search(pattern, banner)
    assert found, f"{pattern!r} not in the banner:\n{banner}"
    return found.group(1)


def test_make_run_moves_off_a_held_port_restarts_what_dies_and_keeps_its_token(
        tmp_path: Path, impostor: int) -> None:
    ports = {"broker": free_port(), "sim": free_port(), "hub": free_port(),
             "berlin": impostor, "nyc": free_port()}
    run = Run(tmp_path / "state", ports, tmp_path / "out-1.txt")
    try:
        banner = run.banner()
        # the Berlin agent serves elsewhere, and the banner says where
        berlin = field(banner, r"counter Berlin Mitte\s+(http://127\.0\.0\.1:\d+)/")
        assert berlin != f"http://127.0.0.1:{impostor}"
        assert f"port {impostor} is held by another process" in banner
        assert (answers(f"{berlin}/api/health") or {}).get("store_id") == "store-berlin-1"
        nyc = field(banner, r"counter New York SoHo\s+(http://127\.0\.0\.1:\d+)/")
        assert nyc == f"http://127.0.0.1:{ports['nyc']}"
        hub = field(banner, r"hub API \+ docs\s+(http://127\.0\.0\.1:\d+)/docs")
        assert hub == f"http://127.0.0.1:{ports['hub']}"
        assert answers(f"{hub}/api/health") is not None
        sim = field(banner, r"SP-API simulator\s+(http://127\.0\.0\.1:\d+)/docs")
        assert answers(f"{sim}/_sim/health") is not None
        assert f"mqtt://127.0.0.1:{ports['broker']}" in banner
        token = field(banner, r"admin API token\s+(acorn_\S+)")
        assert answers(f"{hub}/api/stores", token) is not None
        saved = tmp_path / "state" / "admin-token"
        assert saved.stat().st_mode & 0o777 == 0o600

        # a store agent that dies comes back on its port
        agent = pid_listening(ports["nyc"])
        assert agent is not None
        os.kill(agent, signal.SIGKILL)
        wait_for("the agent's restart", lambda: re.search(
            r"edge-store-nyc-1 stopped \(exit -9\); restarting it in [\d.]+s", run.text()))
        wait_for("the agent back", lambda: f"edge-store-nyc-1 is serving again at {nyc}"
                 in run.text())
        assert (answers(f"{nyc}/api/health") or {}).get("store_id") == "store-nyc-1"
        assert "restarting it in" in (tmp_path / "state/logs/edge-store-nyc-1.log").read_text()

        # so does the broker, and the hub and the agents reconnect to it
        mosquitto = pid_listening(ports["broker"])
        assert mosquitto is not None
        os.kill(mosquitto, signal.SIGKILL)
        wait_for("the broker's restart", lambda: "broker stopped (exit -9)" in run.text())
        wait_for("the broker back", lambda: "broker is serving again at "
                 f"mqtt://127.0.0.1:{ports['broker']}" in run.text())
        assert pid_listening(ports["broker"]) not in (None, mosquitto)
        wait_for("the hub reconnected", lambda: '"connected": true' in json.dumps(
            (answers(f"{hub}/api/health") or {}).get("mqtt")))
        wait_for("both agents reconnected", lambda: reconnected(berlin) and reconnected(nyc))
    finally:
        run.stop()
    assert "all stopped" in run.text()
    for name in ("broker", "sim", "hub", "nyc"):
        assert pid_listening(ports[name]) is None, f"{name} still listening after the stop"

    # the demo returns were queued to the stores, once: a later start does not queue them again
    # (nor add the Amazon accounts or the desk user again)
    helper_log = tmp_path / "state/logs/hub-cli.log"
    first_log = helper_log.read_text()
    demo = [f"RMA-DEMO-{n}{k}" for n in range(2) for k in range(2)]
    for rma in demo:
        assert re.search(rf"acorn-hub returns expect .*--rma {rma} .*: exit 0\n", first_log)

    # a token the hub no longer takes is rotated: the one before revoked, a new one printed
    first = json.loads(saved.read_text())
    saved.write_text(json.dumps({"name": first["name"], "token": "acorn_not-a-token"}))
    second = start_again(tmp_path, ports, 2)
    assert second != token
    again = helper_log.read_text()[len(first_log):]
    for rma in demo:
        assert re.search(rf"--rma {rma} .*: not run, the hub's audit trail has rma "
                         rf"store-[a-z-]+1/{rma} already\n", again)
    redone = [line for line in again.splitlines() if ": exit" in line and any(
        what in line for what in ("returns expect", "accounts add", "users add"))]
    assert not redone, again
    # the next start prints the same token; it still works and the first one does not
    assert start_again(tmp_path, ports, 3, check=(second, token)) == second


def start_again(tmp_path: Path, ports: dict[str, int], n: int,
                check: tuple[str, str] | None = None) -> str:
    """Start run_local.py again in the same state; the admin token its banner prints (checked
    to work, and with ``check`` = (good, revoked): those two checked while it runs)."""
    run = Run(tmp_path / "state", ports, tmp_path / f"out-{n}.txt")
    hub = f"http://127.0.0.1:{ports['hub']}"
    try:
        token = field(run.banner(), r"admin API token\s+(acorn_\S+)")
        assert answers(f"{hub}/api/stores", token) is not None
        if check is not None:
            assert answers(f"{hub}/api/stores", check[0]) is not None
            assert answers(f"{hub}/api/stores", check[1]) is None
    finally:
        run.stop()
    assert "all stopped" in run.text()
    return token
