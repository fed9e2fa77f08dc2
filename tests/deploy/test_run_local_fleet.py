"""``make run`` (deploy/scripts/run_local.py) lets a second machine join over mutual TLS.

For real, in a temporary state directory and on ports of its own: the banner names the broker's
mutual-TLS listener and the hub at the address other machines use (``--lan-host``, else the one
this machine has on its default route), and an enrolment line; that line, run as printed, gives
a code; ``acorn-edge enrol`` with it (in an empty data folder of its own: the "second machine")
writes settings that point at that listener, and ``acorn-edge run`` with them connects with its
certificate: the hub's fleet page lists the new node online. The password listener stays on
loopback. Nothing waits on the clock: every wait is for a condition, with a generous bound.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.test_run_local import ROOT, SCRIPT, answers, field, wait_for
from tests.support.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
BIN = Path(sys.executable).parent


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
    env["PYTHONPATH"] = str(ROOT)  # the children run this checkout's code
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, dict[str, int]]]:
    """run_local.py on free ports (its TLS listener too), its output in a file; stopped after."""
    ports = {name: free_port() for name in ("broker", "tls", "sim", "hub", "berlin", "nyc")}
    out = tmp_path / "out.txt"
    with out.open("wb") as handle:
        popen = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--state-dir", str(tmp_path / "state"),
             "--broker-port", str(ports["broker"]), "--broker-tls-port", str(ports["tls"]),
             "--sim-port", str(ports["sim"]), "--hub-port", str(ports["hub"]),
             "--edge-ports", f"{ports['berlin']},{ports['nyc']}", "--lan-host", "auto"],
            env=clean_env(), stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        yield popen, out, ports
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
        popen.wait(timeout=120)


def banner(popen: subprocess.Popen[bytes], out: Path) -> str:
    def seen() -> str | None:
        text = out.read_text(errors="replace")
        assert popen.poll() is None, f"run_local.py exited:\n{text}"
        return text if "enrol a second machine" in text else None
    return str(wait_for("the banner's enrolment line", seen, timeout=300))


def run(argv: list[str] | str, **extra: str) -> str:
    """A command as a technician runs it (a string: through bash, as printed); its output."""
    done = subprocess.run(argv, shell=isinstance(argv, str), executable=None,
                          env=clean_env() | extra, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_code_from_make_run_enrols_a_second_machine_that_connects_over_mutual_tls(
        make_run: tuple[subprocess.Popen[bytes], Path, dict[str, int]], tmp_path: Path) -> None:
    popen, out, ports = make_run
    text = banner(popen, out)
    tls = field(text, r"broker mutual TLS\s+mqtts://(\S+)\s")
    lan_host, tls_port = tls.rsplit(":", 1)
    assert int(tls_port) == ports["tls"]
    hub_url = field(text, r"hub for other machines (http://\S+)\s")
    assert hub_url == f"http://{lan_host}:{ports['hub']}"
    assert answers(f"{hub_url}/api/health") is not None
    token = field(text, r"admin API token\s+(acorn_\S+)")
    # the password listener is for this machine only
    assert f"mqtt://127.0.0.1:{ports['broker']}" in text
    conf = (tmp_path / "state/mosquitto/mosquitto.conf").read_text()
    assert f"listener {ports['broker']} 127.0.0.1" in conf
    assert "require_certificate true" in conf

    # the enrolment line, run as printed (bash: it sources the hub's settings)
    line = field(text, r"enrol a second machine (set -a;.*)")
    printed = run(["bash", "-c", f"{line} --no-qr"])
    link = field(printed, r"or: acorn-edge enrol --insecure-http '(acorn://enrol\?\S+)'")

    machine = tmp_path / "second-machine"
    settings = machine / "edge.env"
    said = run([str(BIN / "acorn-edge"), "enrol", "--insecure-http", "--data-dir",
                str(machine / "data"), "--settings-file", str(settings), link])
    node = field(said, r"enrolled as store store-berlin-1 node (\S+);")
    written = settings.read_text()
    assert f'ACORN_EDGE_MQTT_HOST="{lan_host}"' in written
    assert f'ACORN_EDGE_MQTT_PORT="{ports["tls"]}"' in written
    assert "ACORN_EDGE_MQTT_PASSWORD" not in written  # a certificate login only

    http_port = free_port()
    log = tmp_path / "second-machine.log"
    with log.open("wb") as handle:
        agent = subprocess.Popen(
            [str(BIN / "acorn-edge"), "run", "--config", str(settings)],
            env=clean_env() | {"ACORN_EDGE_HTTP_PORT": str(http_port)},
            stdout=handle, stderr=subprocess.STDOUT, cwd=machine, start_new_session=True)
    try:
        def connected() -> bool:
            assert agent.poll() is None, log.read_text(errors="replace")
            health = answers(f"http://127.0.0.1:{http_port}/api/health") or {}
            return health.get("broker_connected") is True
        wait_for("the second machine connected over mutual TLS", connected)

        def online() -> bool:
            page = answers(f"{hub_url}/api/fleet/nodes?store=store-berlin-1", token) or {}
            items = page.get("items")
            return isinstance(items, list) and any(
                i["node_id"] == node and i["state"] == "online" for i in items)
        wait_for("the hub's fleet page lists the new node online", online)
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGTERM)
        agent.wait(timeout=60)
    assert re.search(r"certificate valid until", said)
