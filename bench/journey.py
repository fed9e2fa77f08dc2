"""The technician's journey (issue 12): from a mini-PC with ACORN installed to its first return
at the hub, by following the README. Target: at most 3 commands and 5 minutes of the
technician's time.

What it runs, on real processes (``acorn-hub serve`` over HTTPS with the fleet CA's server
certificate, a Mosquitto with a mutual-TLS listener trusting that CA, ``acorn-edge``):

- the technician's commands are read from README.md's "Technician: set up a store machine"
  block, so this bench breaks when the README drifts; the ``acorn-store`` tool they call and the
  ``/etc/acorn/edge.env`` it starts from are read from ``deploy/install-edge.sh`` and run as
  written, with its fixed paths pointed at a temporary folder;
- command 1 (``sudo ./deploy/install-edge.sh``) needs root, apt-get and systemd: it is counted,
  not run and not timed;
- ``sudo`` is dropped; ``runuser -u acorn --`` and ``systemctl`` are stand-ins on PATH: the first
  runs the command as this user, the second records ``restart acorn-edge.service``, upon which
  the agent is started as the unit would (``acorn-edge run`` in the data folder with
  ``edge.env``'s settings);
- the store's receipt printer is a stand-in (``hardware.sim.printer``) whose URL is in
  ``edge.env``, as the README says to add it, and the agent's HTTP port is a free one there;
- HQ's ``acorn-hub devices enrol STORE --hub-url …`` makes the link (not the technician's time);
- the first return is what the counter page posts (``POST /api/returns``), and it counts once
  the hub's API answers ``GET /api/returns/{id}`` with it.

Times from the code made: enrolled (command 2 returns), connected (the agent's health says
``broker_connected``), checked (command 3 returns), the first return acknowledged at the hub.
Prints figures beside the targets; asserts nothing.
Run: ``.venv/bin/python -m bench journey``.
"""

from __future__ import annotations

import os
import re
import shlex
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from hardware.sim.printer import PrinterStandIn
from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.fleet import pki
from hub.fleet.local_broker import free_port
from hub.storage.engine import make_engine
from protocol import utc_now
from tests.e2e.conftest import a_return
from tests.fleet.conftest import TlsBroker
from tests.support.procs import BIN, Proc, hub_proc, wait_for

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
INSTALLER = ROOT / "deploy" / "install-edge.sh"
SECTION = "### Technician: set up a store machine"
STORE = "store-bench"
COMMANDS_TARGET = 3
MINUTES_TARGET = 5.0
STEP_TIMEOUT = 120.0


def readme_commands() -> list[str]:
    """The technician's commands: the first ``sh`` block after the section's heading."""
    readme = README.read_text()
    start = readme.index(SECTION)
    block = re.search(r"```sh\n(.*?)```", readme[start:], re.DOTALL)
    if block is None:
        raise SystemExit(f"README.md: no ```sh block under {SECTION!r}")
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def heredoc(script: str, tag: str) -> str:
    """The body of ``<<'TAG'`` … ``TAG`` in ``script``."""
    found = re.search(rf"<<'{tag}'\n(.*?)\n{tag}\n", script, re.DOTALL)
    if found is None:
        raise SystemExit(f"{INSTALLER.name}: no <<'{tag}' block")
    return found.group(1) + "\n"


class Machine:
    """A store machine's folders under ``root``, as install-edge.sh lays them down."""

    def __init__(self, root: Path, printer_url: str, http_port: int) -> None:
        self.root = root
        self.data = root / "var" / "lib" / "acorn"
        self.etc = root / "etc" / "acorn"
        self.bin = root / "usr" / "local" / "bin"
        self.calls = root / "systemctl.calls"
        self.http_port = http_port
        for folder in (self.data, self.etc, self.bin):
            folder.mkdir(parents=True)
        installer = INSTALLER.read_text()
        self.env_file = self.etc / "edge.env"
        self.env_file.write_text(
            self._paths(heredoc(installer, "ENV"))
            + f'ACORN_EDGE_PRINTER_URL="{printer_url}"\nACORN_EDGE_HTTP_PORT="{http_port}"\n')
        self._tool("acorn-store", self._paths(heredoc(installer, "TOOL")))
        self._tool("runuser", '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift\n'
                              'exec "$@"\n')
        self._tool("systemctl", f'#!/bin/sh\necho "$*" >> {shlex.quote(str(self.calls))}\n')

    def _paths(self, text: str) -> str:
        return (text.replace("/opt/acorn/venv/bin/acorn-edge", str(BIN / "acorn-edge"))
                .replace("/var/lib/acorn", str(self.data))
                .replace("/etc/acorn/edge.env", str(self.env_file)))

    def _tool(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text(body)
        path.chmod(0o755)

    def env(self) -> dict[str, str]:
        """A shell on the machine: no ACORN_* setting, the stand-ins first on PATH."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
        return env | {"PATH": f"{self.bin}:{env.get('PATH', '/usr/bin:/bin')}",
                      "PYTHONUNBUFFERED": "1"}

    def run(self, command: str, link: str) -> subprocess.CompletedProcess[str]:
        """One README command: ``sudo`` dropped, the README's placeholder link replaced."""
        argv = [link if arg.startswith("acorn://enrol?") else arg
                for arg in shlex.split(command) if arg != "sudo"]
        return subprocess.run(argv, env=self.env(), cwd=self.root, capture_output=True,
                              text=True, timeout=STEP_TIMEOUT, check=False)

    def unit(self) -> Proc | None:
        """The agent as acorn-edge.service runs it, once ``systemctl restart`` asked for it."""
        asked = self.calls.read_text() if self.calls.exists() else ""
        if "restart acorn-edge.service" not in asked:
            return None
        env = self.env()
        for line in self.env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                env[name.strip()] = value.strip().strip('"')
        command = f"cd {shlex.quote(str(self.data))} && exec {shlex.quote(str(BIN))}/acorn-edge run"
        return Proc("acorn-edge.service", ["/bin/sh", "-c", command], env, self.http_port,
                    self.root / "acorn-edge.log")


def timed(marks: dict[str, float], name: str, t0: float, step: Callable[[], Any]) -> Any:
    """Run ``step``; record seconds since ``t0`` under ``name``."""
    result = step()
    marks[name] = time.monotonic() - t0
    return result


def connected(agent: Proc) -> bool:
    try:
        health = httpx.get(f"{agent.url}/api/health", timeout=2)
        return health.status_code == 200 and bool(health.json().get("broker_connected"))
    except httpx.HTTPError:
        return False


def watch(agent: Proc, marks: dict[str, float], t0: float) -> None:
    """Record when the agent's health first says ``broker_connected`` (while commands run)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline and not connected(agent):
        time.sleep(0.1)
    if time.monotonic() < deadline:
        marks["connected"] = time.monotonic() - t0


def journey(tmp: Path) -> None:
    """Everything up, the journey followed, the figures printed; everything stopped."""
    commands = readme_commands()
    print(f"README.md's commands ({len(commands)}):")
    for number, command in enumerate(commands, 1):
        print(f"  {number}. {command}")
    fleet_dir = tmp / "fleet"
    ca, _ = pki.load_or_create_ca(fleet_dir, utc_now())
    broker = TlsBroker(tmp / "mosquitto", ca)
    printer = PrinterStandIn(tmp / "printer").start()
    hub: Proc | None = None
    agent: Proc | None = None
    try:
        hub = hub_proc(tmp, broker.hub_creds(), fleet_dir=str(fleet_dir),
                       fleet_mqtts_host="127.0.0.1", fleet_mqtts_port=str(broker.tls_port),
                       broker_admin_username=broker.local.admin_user,
                       broker_admin_password=broker.local.admin_password)
        hq = subprocess.run([str(BIN / "acorn-hub"), "fleet", "server-cert", str(tmp / "hub-tls"),
                             "--host", "127.0.0.1"], env=hub.env, capture_output=True,
                            text=True, check=True).stdout
        for name in ("ACORN_HUB_HTTPS_CERT_FILE", "ACORN_HUB_HTTPS_KEY_FILE"):
            found = re.search(rf"^{name}=(.+)$", hq, re.MULTILINE)
            if found is None:
                raise SystemExit(f"acorn-hub fleet server-cert printed no {name}:\n{hq}")
            hub.env[name] = found.group(1)
        hub_url = f"https://127.0.0.1:{hub.port}"
        verify = ssl.create_default_context(cafile=str(fleet_dir / pki.CA_CERT_FILE))
        hub.start(wait=False)
        wait_for(lambda: _answers(f"{hub_url}/api/health", verify), 60, "the hub over HTTPS")
        subprocess.run([str(BIN / "acorn-hub"), "stores", "set", STORE, "--name", "Bench store",
                        "--currency", "EUR", "--time-zone", "Europe/Berlin", "--language", "de",
                        "--printer-paper", "80mm"], env=hub.env, capture_output=True, check=True)
        engine = make_engine(hub.env["ACORN_HUB_DATABASE_URL"])
        try:
            token = create_token(engine, "bench-journey", Role.ADMIN)
        finally:
            engine.dispose()
        machine = Machine(tmp / "store-pc", printer.url, free_port())

        # HQ makes the link; the technician's clock starts when it is handed over
        made = subprocess.run([str(BIN / "acorn-hub"), "devices", "enrol", STORE, "--hub-url",
                               hub_url], env=hub.env, capture_output=True, text=True, check=True)
        link_found = re.search(r"acorn-edge enrol '(acorn://enrol\?[^']+)'", made.stdout)
        if link_found is None:
            raise SystemExit(f"acorn-hub devices enrol printed no link:\n{made.stdout}")
        link = link_found.group(1)
        marks: dict[str, float] = {}
        outputs: list[tuple[str, subprocess.CompletedProcess[str] | None]] = []
        t0 = time.monotonic()
        for command in commands:
            if "install-edge.sh" in command:
                outputs.append((command, None))  # root, apt-get and systemd: not run here
                continue
            done = timed(marks, command, t0, partial(machine.run, command, link))
            outputs.append((command, done))
            if agent is None and (agent := machine.unit()) is not None:
                agent.start(wait=False)
                watcher = threading.Thread(target=watch, args=(agent, marks, t0), daemon=True)
                watcher.start()
            if done.returncode != 0:
                break
        if agent is not None:
            watcher.join(STEP_TIMEOUT)
            created = httpx.post(f"{agent.url}/api/returns", json=a_return(1, currency="EUR"),
                                 timeout=10)
            created.raise_for_status()
            return_id = created.json()["return_id"]
            timed(marks, "first return at the hub", t0, lambda: wait_for(
                lambda: _answers(f"{hub_url}/api/returns/{return_id}", verify, token),
                STEP_TIMEOUT, "the first return at the hub's API"))
        report(outputs, marks)
        print(f"  printed on the stand-in printer: {len(printer.jobs)} job(s)")
    finally:
        if agent is not None:
            agent.stop()
        if hub is not None:
            hub.stop()
        printer.close()
        broker.kill()


def _answers(url: str, verify: ssl.SSLContext, token: str | None = None) -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(url, verify=verify, headers=headers, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def report(outputs: list[tuple[str, subprocess.CompletedProcess[str] | None]],
           marks: dict[str, float]) -> None:
    """Each command's outcome, the times from the code made, the figures beside the targets."""
    print("\nfollowing them (times from the enrolment link handed over):")
    for number, (command, done) in enumerate(outputs, 1):
        if done is None:
            print(f"  {number}. {command}\n     not run: needs root, apt-get and systemd "
                  "(counted as a command, not timed)")
            continue
        print(f"  {number}. {command}   exit {done.returncode}, done at {marks[command]:.1f} s")
        for line in (done.stdout + done.stderr).strip().splitlines():
            print(f"       | {line}")
    print("\n  timeline: 0.0 s  enrolment link handed over (HQ: acorn-hub devices enrol)")
    for name, at in sorted(marks.items(), key=lambda item: item[1]):
        label = {"connected": "agent connected to the broker (mutual TLS)"}.get(name, name)
        print(f"  {at:>10.1f} s  {label}")
    failed = [c for c, d in outputs if d is not None and d.returncode != 0]
    total = max(marks.values(), default=0.0)
    reached = "first return at the hub" in marks and not failed
    print(f"\n  technician's commands: {len(outputs)}   (target <= {COMMANDS_TARGET})")
    print(f"  machine time, link to first return at the hub: {total:.1f} s "
          f"(target <= {MINUTES_TARGET:.0f} min of the technician's time; install not timed, "
          "typing and reading not included)")
    print("  journey completed" if reached else
          f"  journey NOT completed (failed: {failed or 'the first return did not arrive'})")


def main() -> None:
    """Run the journey once in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="acorn-bench-journey-") as tmp:
        journey(Path(tmp))


if __name__ == "__main__":
    main()
