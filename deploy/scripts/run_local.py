"""`make run`: the whole ACORN system on this machine, for trying it out and for development.

Starts a private Mosquitto (dynamic security, own credentials per process), the Amazon SP-API
simulator, the hub, and two store agents with simulated devices; prints the URLs and an admin
token; Ctrl-C stops everything (the broker last). State lives in
``var/dev/`` and survives restarts (``make clean`` removes it).

Supervision (the rules this file keeps):

- Ports are not reserved ahead: each child is started on the port it is meant to have and must
  be seen serving there, by its own process (the listening socket is one of the child's, read
  from ``/proc``) and answering its health URL. A child that exits at start while something else
  holds its port is started again on a free port; nothing is printed for a port that does not
  serve.
- Every child, the broker included, is watched: one that stops is restarted on the same port
  after a back-off (0.25 s, doubling up to 30 s, back to 0.25 s once it has stayed up a minute),
  with a line on the console and in its own log, and another line when it serves again.
- The banner is printed only after each URL in it has answered.
- Startup does what it can side by side: the broker beside the simulator, the hub beside the
  store agents; the ``acorn-hub`` commands (migrations, Amazon accounts, desk user, demo returns,
  token) run in one helper process (``hub_session.py``) that imports the hub while the others
  start (each noted in ``logs/hub-cli.log``); what an earlier start added (demo returns,
  Amazon accounts, the desk user: entries in the hub's audit trail) is not added again.
- The dev admin token is kept 0600 in ``STATE/admin-token`` and printed on every start; when
  the hub no longer accepts it (a new database), it is rotated: the old one revoked, a new one
  created under a fresh name.
- ``--state-dir`` and the ``--*-port`` options let a second copy (the tests) run beside a
  developer's ``make run``.
- ``--hub-workers N --database-url postgresql+psycopg://...`` starts N hub workers sharing the
  ingest (README, Several hub workers): worker 1 is ``acorn-hub`` as always, worker n the broker
  user and client id ``acorn-hub-wn`` (every identity provisioned before any worker starts:
  changing the hub role later would make the broker kick the running ones), each serving the
  API on its own port (the (n - 1)th after ``--hub-port`` and the counters' ``--edge-ports``, to
  begin with: 8083 for worker 2); only worker 1 announces itself
  over mDNS. Without the options: one hub on ``STATE/hub.db``, as before.

Simulated devices, per store (``hardware.sim``): a serial scanner made of a socat pty pair (the
agent reads ``var/dev/scanner-STORE/scanner``; type codes into ``…/scanner-keyboard``) and a
network printer on a free loopback port that writes each job as text to
``var/dev/printer-STORE/NNNN.txt``. ``ACORN_DEV_POS_EVERY=SECONDS`` also starts a POS terminal
simulator per store (``python -m edge_agent.pos.simulator``) posting a sale return that often.

A second machine can join (``acorn-hub devices enrol``): the fleet CA lives in ``STATE/fleet``,
and the broker has a mutual-TLS listener (``--broker-tls-port``) beside its password listener
(which stays on loopback, for the hub and the two local agents). The address other machines
reach this one by is ``--lan-host`` (default 127.0.0.1: nothing is reachable from the network;
``auto``: this machine's address on its default route); unless it is a loopback address, the
TLS listener and the hub's HTTP
(enrolment stays on plain HTTP here: ``acorn-edge enrol --insecure-http``) listen on every
interface. The broker's server certificate names that address, 127.0.0.1, localhost and the
host name.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from hardware.errors import HardwareError
from hardware.sim.printer import PrinterStandIn
from hardware.sim.scanner import PtyScanner
from hub.fleet import pki
from hub.fleet.local_broker import (
    BrokerError,
    LocalBroker,
    TlsListener,
    find_mosquitto,
    free_port,
    write_tls_files,
)

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / "var" / "dev"
BIN = Path(sys.executable).parent
SIM_CREDENTIALS = STATE / "spapi-credentials.json"
SIM_RATE_FACTOR = 20
# the simulator's drop-off store ids -> the stores make run starts
AMAZON_STORE_MAP = {"store-de-ber-01": "store-berlin-1", "store-us-nyc-01": "store-nyc-1"}
STORES = [
    {
        "store_id": "store-berlin-1",
        "node_id": "counter-1",
        "name": "Berlin Mitte",
        "tz": "Europe/Berlin",
        "currency": "EUR",
        "language": "de",
        "port": 8081,
    },
    {
        "store_id": "store-nyc-1",
        "node_id": "counter-1",
        "name": "New York SoHo",
        "tz": "America/New_York",
        "currency": "USD",
        "language": "en",
        "port": 8082,
    },
]


@dataclass(frozen=True)
class Lan:
    """How other machines reach this one: ``host`` names it, ``bind`` is what listens for them
    (every interface, or loopback when ``host`` is a loopback address)."""

    host: str

    @property
    def bind(self) -> str:
        """The listening address of the hub's HTTP and the broker's TLS listener."""
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        return "127.0.0.1" if loopback else "0.0.0.0"


def lan_address() -> str:
    """This machine's address on its default route (no packet is sent), else 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route is looked up
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@dataclass(frozen=True)
class OpenTlsListener(TlsListener):
    """The broker's mutual-TLS listener on ``bind`` (the password listener stays on loopback)."""

    bind: str = "127.0.0.1"

    def lines(self, host: str) -> list[str]:
        """The listener's mosquitto.conf lines, on ``bind`` rather than the broker's host."""
        return super().lines(self.bind)


def fleet_tls(broker: LocalBroker, lan: Lan, port: int) -> pki.FleetCa:
    """The fleet CA (kept in STATE/fleet) and a new broker server certificate for ``lan``;
    the broker gets its mutual-TLS listener on ``port``."""
    ca, _ = pki.load_or_create_ca(STATE / "fleet", datetime.now(UTC))
    hosts = list(dict.fromkeys([lan.host, "127.0.0.1", "localhost", socket.gethostname()]))
    listener = write_tls_files(broker.state_dir / "tls", ca, hosts, port, datetime.now(UTC))
    broker.tls = OpenTlsListener(**asdict(listener), bind=lan.bind)
    return ca


def hub_identity(worker: int) -> str:
    """The broker user and client id of hub worker ``worker`` (1: the hub's usual one)."""
    return "acorn-hub" if worker == 1 else f"acorn-hub-w{worker}"


def secrets_file(hub_workers: int = 1) -> dict[str, str]:
    """Passwords kept across restarts of make run (the broker keeps their hashes)."""
    path = STATE / "secrets.json"
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    workers = [f"hub-w{n}" for n in range(2, hub_workers + 1)]
    for key in ["hub", "desk-admin", *workers] + [f"{s['store_id']}.{s['node_id']}"
                                                    for s in STORES]:
        data.setdefault(key, secrets.token_urlsafe(18))
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return data


BACKOFF_FIRST = 0.25  # a child that died once is back at once; a crash loop still backs off
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # seconds up after which the back-off starts again from BACKOFF_FIRST
START_TIMEOUT = 60.0
START_ATTEMPTS = 5


@dataclass
class Child:
    """One supervised child: how to start it on a port, its process, its back-off.

    ``build(port)`` gives the argv and environment for ``port``; ``port`` is None for a child
    that listens on nothing (a POS simulator), whose only sign of life is running. ``health`` is
    the path that answers over HTTP when it serves ("" for the broker, which speaks MQTT).
    """

    name: str
    build: Callable[[int | None], tuple[list[str], dict[str, str]]]
    port: int | None = None
    health: str = ""
    popen: subprocess.Popen[bytes] | None = None
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    up_since: float | None = None
    coming_back: bool = False
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        """Its log file (stdout and stderr), kept across restarts."""
        return STATE / "logs" / f"{self.name}.log"

    @property
    def url(self) -> str:
        """Where it serves."""
        if self.port is None:
            return "(no port)"
        return f"{'http' if self.health else 'mqtt'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while its process is alive."""
        return self.popen is not None and self.popen.poll() is None


def spawn(child: Child) -> None:
    """Start ``child`` on its port in its own process group, logging to STATE/logs/NAME.log."""
    argv, env = child.build(child.port)
    child.env = env
    child.log.parent.mkdir(parents=True, exist_ok=True)
    with child.log.open("ab") as handle:
        child.popen = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def note(child: Child, text: str) -> None:
    """A supervision line, on the console and in the child's own log."""
    line = f"[{datetime.now(UTC):%H:%M:%SZ}] {text}"
    print(line, flush=True)
    child.log.parent.mkdir(parents=True, exist_ok=True)
    with child.log.open("a") as handle:
        handle.write(f"--- run_local: {line}\n")


def listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on TCP ``port`` (None where /proc/net/tcp is not there)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    found: set[str] = set()
    for table in tables:
        if not table.exists():
            continue
        for row in table.read_text().splitlines()[1:]:
            cols = row.split()
            # local_address is HEXIP:HEXPORT, st 0A is LISTEN, the 10th column the inode
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                found.add(cols[9])
    return found


def owns_port(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the socket listening on ``port`` (None: cannot tell here)."""
    inodes = listening_inodes(port)
    if inodes is None:
        return None
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def port_taken(port: int) -> bool:
    """True when something listens on loopback ``port`` (we cannot bind it)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def serving(child: Child) -> bool:
    """True when the child is alive, holds its port itself and answers there."""
    if child.popen is None or not child.running:
        return False
    if child.port is None:
        return True
    if owns_port(child.popen.pid, child.port) is False:
        return False  # someone else's socket, or ours is not bound yet
    try:
        if not child.health:
            with socket.create_connection(("127.0.0.1", child.port), timeout=1.0):
                return True
        return httpx.get(f"{child.url}{child.health}", timeout=2.0).status_code < 500
    except (OSError, httpx.HTTPError):
        return False


def log_tail(child: Child) -> str:
    """The end of the child's log."""
    return child.log.read_text(errors="replace")[-3000:] if child.log.exists() else ""


def start(*children: Child, timeout: float = START_TIMEOUT) -> None:
    """Start ``children`` together, each on its wanted port or, while another process holds
    that, on a free one; return once all serve, or exit with the log tail of one that did not."""
    for child in children:
        spawn(child)
    for child in children:
        settle(child, timeout)


def settle(child: Child, timeout: float) -> None:
    """Wait until the spawned ``child`` serves; move it to a free port if its own is held."""
    for attempt in range(START_ATTEMPTS):
        if attempt:
            spawn(child)
        deadline = time.monotonic() + timeout
        while child.running and not serving(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        if serving(child):
            child.up_since = time.monotonic()
            return
        if child.running:
            stop(child)
            sys.exit(f"{child.name} did not answer at {child.url} in {timeout:.0f}s; "
                     f"see {child.log}")
        if child.port is not None and port_taken(child.port):
            old, child.port = child.port, free_port()
            note(child, f"{child.name}: port {old} is held by another process; "
                        f"starting it on {child.port}")
            continue
        code = child.popen.returncode if child.popen is not None else None
        sys.exit(f"{child.name} stopped at start (exit {code}); its log ({child.log}):\n"
                 f"{log_tail(child)}")
    sys.exit(f"{child.name}: no port of its own after {START_ATTEMPTS} attempts; "
             f"see {child.log}")


def supervise(children: list[Child]) -> None:
    """One round of watching: note a child that stopped, restart it after its back-off, say
    when it serves again, and forgive its back-off once it has stayed up a while."""
    now = time.monotonic()
    for child in children:
        if child.popen is not None and not child.running:
            code = child.popen.returncode
            child.popen, child.up_since, child.coming_back = None, None, False
            child.restart_at = now + child.backoff
            note(child, f"{child.name} stopped (exit {code}); restarting it in "
                        f"{child.backoff:g}s; see {child.log}")
            child.backoff = min(child.backoff * 2, BACKOFF_MAX)
        elif child.popen is None and child.restart_at is not None and now >= child.restart_at:
            child.restart_at, child.coming_back = None, True
            spawn(child)
        elif child.coming_back and serving(child):
            child.coming_back, child.up_since = False, now
            note(child, f"{child.name} is serving again at {child.url}")
        elif child.up_since is not None and now - child.up_since > STABLE_AFTER:
            child.backoff = BACKOFF_FIRST


WATCH_EVERY = 0.1  # s; a round asks the kernel about our own children (no I/O unless one is
# coming back), so looking often costs nothing and a death is seen at once


def watch(children: list[Child]) -> None:
    """Block until Ctrl-C, keeping every child up."""
    while True:
        supervise(children)
        time.sleep(WATCH_EVERY)


def stop(*children: Child) -> None:
    """SIGTERM each child's group, give them all a little while together, then SIGKILL."""
    alive = [c for c in children if c.popen is not None and c.popen.poll() is None]
    for child in alive:
        assert child.popen is not None
        with contextlib.suppress(ProcessLookupError):  # it went meanwhile
            os.killpg(child.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in alive:
        assert child.popen is not None
        try:
            child.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.popen.pid, signal.SIGKILL)
            child.popen.wait(timeout=5)


def stop_all(children: list[Child]) -> None:
    """Stop every child but the broker at once, then the broker. Nothing sent while the agents
    and the hub stop side by side is lost: the broker keeps it for the other's persistent
    session (QoS 1), and an agent sends again the events no hub ack covers."""
    broker = [c for c in children if c.name == "broker"]
    stop(*[c for c in children if c not in broker])
    stop(*broker)


def base_env() -> dict[str, str]:
    """The environment for children, without stray ACORN_ settings from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass(frozen=True)
class CliResult:
    """What one ``acorn-hub`` command did."""

    returncode: int
    stdout: str
    stderr: str
    skipped: bool = False


class HubCli:
    """``acorn-hub`` commands run by one helper process (``hub_session.py`` beside this file),
    started first so that the hub's code is imported while the other children start, and once
    rather than per command. Requests are answered in order; ``submit`` does not wait, so
    commands run while the hub and the agents start; ``wait`` gives one's result."""

    def __init__(self) -> None:
        log = STATE / "logs" / "hub-cli.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            self.popen = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("hub_session.py"))],
                env=base_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=handle,
                text=True, start_new_session=True)
        self.log = log
        self._sent = 0
        self._read = 0
        self._answers: dict[int, CliResult] = {}
        self._asked: dict[int, tuple[list[str], tuple[str, str] | None]] = {}

    def submit(self, argv: list[str], env: dict[str, str],
               unless_audited: tuple[str, str] | None = None) -> int:
        """Queue ``acorn-hub ARGV`` in ``env`` (skipped when the audit trail already has an
        entry about ``unless_audited``); the ticket to ``wait`` for."""
        request = {"argv": argv, "env": env, "unless_audited": unless_audited}
        assert self.popen.stdin is not None
        try:
            self.popen.stdin.write(json.dumps(request) + "\n")
            self.popen.stdin.flush()
        except OSError:
            pass  # it stopped: wait() says so
        self._asked[self._sent] = (argv, unless_audited)
        self._sent += 1
        return self._sent - 1

    def wait(self, ticket: int) -> CliResult:
        """The result of the command ``ticket`` (a failure if the helper stopped)."""
        assert self.popen.stdout is not None
        while self._read <= ticket:
            line = self.popen.stdout.readline()
            try:
                data = json.loads(line) if line else None
            except ValueError:
                data = None
            result = (CliResult(int(data["code"]), str(data["out"]), str(data["err"]),
                                bool(data["skipped"])) if isinstance(data, dict)
                      else CliResult(2, "", f"the acorn-hub helper stopped; see {self.log}"))
            self._answers[self._read] = result
            self._note(*self._asked.pop(self._read), result)
            self._read += 1
        return self._answers.pop(ticket)

    def _note(self, argv: list[str], unless: tuple[str, str] | None, result: CliResult) -> None:
        """A line in the helper's log for each command (its errors too; never its output,
        which may be a token)."""
        if result.skipped and unless is not None:
            said = f"not run, the hub's audit trail has {unless[0]} {unless[1]} already"
        else:
            said = f"exit {result.returncode}"
            if result.returncode and result.stderr.strip():
                said += f": {result.stderr.strip()}"
        with self.log.open("a") as handle:
            handle.write(f"[{datetime.now(UTC):%H:%M:%SZ}] acorn-hub {' '.join(argv)}: {said}\n")

    def run(self, argv: list[str], env: dict[str, str],
            unless_audited: tuple[str, str] | None = None) -> CliResult:
        """``acorn-hub ARGV`` in ``env``, waited for."""
        return self.wait(self.submit(argv, env, unless_audited))

    def close(self) -> None:
        """End the helper (end of its input), killing it if it does not go."""
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):  # it stopped already: nothing to tell it
                self.popen.stdin.close()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


def broker_child(broker: LocalBroker) -> Child:
    """The private broker as a supervised child (its config rewritten for the port it gets)."""

    def build(port: int | None) -> tuple[list[str], dict[str, str]]:
        broker.port = port or free_port()
        tls = broker.tls
        if tls is not None and port_taken(tls.port):
            broker.tls = replace(tls, port=free_port())
            note(child, f"broker: TLS port {tls.port} is held by another process; "
                        f"its mutual-TLS listener goes on {broker.tls.port}")
        broker.prepare()  # keeps the dynamic-security file and admin password of earlier runs
        return [find_mosquitto(), "-c", str(broker.state_dir / "mosquitto.conf")], base_env()

    child = Child("broker", build, port=broker.port)  # build() names it in its notes
    return child


def provision(broker: LocalBroker, passwords: dict[str, str], hub_workers: int = 1) -> None:
    """Give the hub (each of its workers) and every node its own credentials on the broker."""
    with broker.admin() as admin:
        admin.provision_hub(passwords["hub"])
        for n in range(2, hub_workers + 1):
            admin.provision_hub(passwords[f"hub-w{n}"], hub_identity(n), hub_identity(n))
        for store in STORES:
            admin.provision_node(
                str(store["store_id"]),
                str(store["node_id"]),
                passwords[f"{store['store_id']}.{store['node_id']}"],
            )


def hub_env(broker: LocalBroker, password: str, http_port: int,
            lan: Lan | None = None, database_url: str | None = None, worker: int = 1,
            workers: int = 1) -> dict[str, str]:
    """Environment of the hub process (with ``lan``: its HTTP for other machines, the fleet CA
    and the broker's mutual-TLS listener that enrolled machines are told); ``worker`` of
    ``workers`` sharing the ingest on ``database_url`` (default: one hub on STATE/hub.db)."""
    fleet: dict[str, str] = {}
    if lan is not None and broker.tls is not None:
        fleet = {"ACORN_HUB_HTTP_HOST": lan.bind,
                 "ACORN_HUB_FLEET_DIR": str(STATE / "fleet"),
                 "ACORN_HUB_FLEET_MQTTS_HOST": lan.host,
                 "ACORN_HUB_FLEET_MQTTS_PORT": str(broker.tls.port)}
    return base_env() | fleet | {
        "ACORN_HUB_DATABASE_URL": database_url or f"sqlite:///{STATE / 'hub.db'}",
        "ACORN_HUB_HUB_WORKERS": str(workers),
        "ACORN_HUB_MQTT_HOST": broker.host,
        "ACORN_HUB_MQTT_PORT": str(broker.port),
        "ACORN_HUB_MQTT_USERNAME": hub_identity(worker),
        # the broker user is bound to this client id by provision_hub (HUB_CLIENT_ID)
        "ACORN_HUB_MQTT_CLIENT_ID": hub_identity(worker),
        "ACORN_HUB_MQTT_PASSWORD": password,
        "ACORN_HUB_HTTP_PORT": str(http_port),
        "ACORN_HUB_BROKER_ADMIN_USERNAME": broker.admin_user,
        "ACORN_HUB_BROKER_ADMIN_PASSWORD": broker.admin_password,
        # Amazon: the simulator's seeded sellers, at 20x Amazon's documented rates
        "ACORN_HUB_AMAZON_SECRETS_FILE": str(SIM_CREDENTIALS),
        "ACORN_HUB_AMAZON_RATE_FACTOR": str(SIM_RATE_FACTOR),
        "ACORN_HUB_AMAZON_BACKFILL_DAYS": "14",
        "ACORN_HUB_AMAZON_STORE_MAP": json.dumps(AMAZON_STORE_MAP),
        # announce the hub on loopback, so `acorn-edge devices --interface 127.0.0.1` finds it
        "ACORN_HUB_ADVERTISE": "true" if worker == 1 else "false",
        "ACORN_HUB_ADVERTISE_INTERFACES": '["127.0.0.1"]',
    }


def register_amazon_accounts(cli: HubCli, env: dict[str, str], sim_url: str) -> list[str]:
    """Add the simulator's seeded sellers as hub accounts, once: not again on a later start (nor
    one removed since)."""
    from hub.amazon.marketplaces import by_id

    deadline = time.monotonic() + 30
    while not SIM_CREDENTIALS.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not SIM_CREDENTIALS.exists():
        return []
    names, tickets = [], []
    for account in json.loads(SIM_CREDENTIALS.read_text())["accounts"]:
        name = f"sim-{account['region'].lower()}-{account['seller_id'][-4:].lower()}"
        codes = [by_id(m).code for m in account["marketplace_ids"]]
        argv = ["amazon", "accounts", "add", name, "--seller-id", account["seller_id"],
                "--region", account["region"], "--endpoint", sim_url]
        for code in codes:
            argv += ["--marketplace", code]
        tickets.append(cli.submit(argv, env, ("amazon_account", name)))
        names.append(f"{name} ({', '.join(codes)})")
    for ticket in tickets:
        cli.wait(ticket)
    return names


DESK_USER = ["users", "add", "admin", "--role", "admin", "--name", "Dev Admin"]


def queue_seed(cli: HubCli, env: dict[str, str]) -> tuple[str, list[int]]:
    """Queue the approvals desk's admin (password kept in var/dev/secrets.json) and two expected
    returns per store, so the counter has something to scan: each only if the hub's audit trail
    does not have it from an earlier start. The password and the tickets; ``finish_seed`` waits
    for them."""
    password = secrets_file()["desk-admin"]
    pw_file = STATE / "desk-admin.password"
    pw_file.unlink(missing_ok=True)
    fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    tickets = [cli.submit([*DESK_USER, "--password-file", str(pw_file)], env, ("user", "admin"))]
    for n, store in enumerate(STORES):
        currency = str(store["currency"])
        for k, (sku, price) in enumerate([("SKU-TOASTER-2", "39.99"), ("SKU-DRILL-18V", "129.00")]):
            rma = f"RMA-DEMO-{n}{k}"
            argv = ["returns", "expect", "--store", str(store["store_id"]), "--node",
                    str(store["node_id"]), "--rma", rma, "--order", f"30{n}-000000{k}-1234567",
                    "--sku", sku, "--price", price, "--currency", currency]
            tickets.append(cli.submit(argv, env, ("rma", f"{store['store_id']}/{rma}")))
    return password, tickets


def finish_seed(cli: HubCli, tickets: list[int]) -> None:
    """Wait for what ``queue_seed`` queued; the desk password's file goes."""
    for ticket in tickets:
        cli.wait(ticket)
    (STATE / "desk-admin.password").unlink(missing_ok=True)


@dataclass
class Devices:
    """One store's simulated scanner (None without socat) and printer."""

    scanner: PtyScanner | None
    printer: PrinterStandIn

    def close(self) -> None:
        """Unplug the scanner and switch the printer off."""
        if self.scanner is not None:
            self.scanner.unplug()
        self.printer.close()


Edge = tuple[dict[str, object], Child, Devices]  # store, its agent, its devices


def start_devices(store: dict[str, object]) -> Devices:
    """A pty scanner and a printer stand-in for one store (the scanner needs socat)."""
    printer = PrinterStandIn(STATE / f"printer-{store['store_id']}").start()
    scanner = PtyScanner(STATE / f"scanner-{store['store_id']}")
    try:
        scanner.plug()
    except HardwareError as err:
        print(f"no simulated scanner for {store['store_id']}: {err}", flush=True)
        return Devices(None, printer)
    return Devices(scanner, printer)


def device_env(store: dict[str, object], devices: Devices) -> dict[str, str]:
    """The settings that point a store agent at its simulated devices."""
    env = {
        "ACORN_EDGE_STORE_LANGUAGE": str(store["language"]),
        "ACORN_EDGE_PRINTER_URL": devices.printer.url,
        "ACORN_EDGE_PRINT_RETRY_SECONDS": "2",
    }
    if devices.scanner is not None:
        env["ACORN_EDGE_SCANNER_URL"] = str(devices.scanner.port)
    return env


def edge_env(
    store: dict[str, object], broker: LocalBroker, password: str, http_port: int
) -> dict[str, str]:
    """Environment of one store agent."""
    return base_env() | {
        "ACORN_EDGE_STORE_ID": str(store["store_id"]),
        "ACORN_EDGE_NODE_ID": str(store["node_id"]),
        "ACORN_EDGE_STORE_NAME": str(store["name"]),
        "ACORN_EDGE_STORE_TIMEZONE": str(store["tz"]),
        "ACORN_EDGE_CURRENCY": str(store["currency"]),
        "ACORN_EDGE_DATA_DIR": str(STATE / f"edge-{store['store_id']}-{store['node_id']}"),
        "ACORN_EDGE_MQTT_HOST": broker.host,
        "ACORN_EDGE_MQTT_PORT": str(broker.port),
        "ACORN_EDGE_MQTT_USERNAME": f"edge.{store['store_id']}.{store['node_id']}",
        "ACORN_EDGE_MQTT_PASSWORD": password,
        "ACORN_EDGE_HTTP_PORT": str(http_port),
    }


def env_line(name: str, value: str) -> str:
    """``NAME='value'``: read alike by systemd's ``EnvironmentFile=`` and by ``set -a; . file``.

    Single quotes keep everything literal in both (JSON, spaces, ``$``, backslashes); a value
    with a single quote is double-quoted with ``\\ " $ ` `` escaped, which both undo the same
    way (systemd.exec(5), "EnvironmentFile="). A line break is refused: no value needs one.
    """
    if not name.isidentifier() or "\n" in value or "\r" in value:
        raise ValueError(f"{name!r} cannot be written to an environment file")
    if "'" not in value:
        return f"{name}='{value}'\n"
    escaped = "".join("\\" + c if c in '\\"$`' else c for c in value)
    return f'{name}="{escaped}"\n'


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write ``env`` to ``path`` (owner-only: it holds passwords), one quoted line each."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(env_line(k, v) for k, v in env.items()))


def token_accepted(hub_url: str, token: str) -> bool:
    """Whether the running hub takes ``token``."""
    try:
        answer = httpx.get(f"{hub_url}/api/stores", timeout=5.0,
                           headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def admin_token(cli: HubCli, env: dict[str, str], hub_url: str) -> str:
    """The dev admin API token, printed on every start: the one kept in STATE/admin-token while
    the hub takes it, else a new one (under a fresh name, the earlier one revoked)."""
    path = STATE / "admin-token"
    saved: dict[str, str] = {}
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except ValueError:
            saved = {}
    if saved.get("token") and token_accepted(hub_url, saved["token"]):
        return saved["token"]
    # "dev-admin" is the name earlier versions of this script used (and could not reuse)
    for old in sorted({saved.get("name") or "dev-admin", "dev-admin"}):
        cli.run(["token", "revoke", "--name", old], env)
    name = f"dev-admin-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    out = cli.run(["token", "create", "--name", name, "--role", "admin"], env)
    if out.returncode != 0:
        return f"(could not create a token: {out.stderr.strip() or out.stdout.strip()})"
    token = out.stdout.strip().splitlines()[-1]
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"name": name, "token": token}, handle)
    return token


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Where the state lives and which ports to try first (each moves if it is taken)."""
    parser = argparse.ArgumentParser(description="make run: the whole ACORN system locally")
    parser.add_argument("--state-dir", type=Path, default=ROOT / "var" / "dev",
                        help="state directory (default var/dev)")
    parser.add_argument("--broker-port", type=int, default=18830)
    parser.add_argument("--broker-tls-port", type=int, default=18883,
                        help="the broker's mutual-TLS listener, for enrolled machines")
    parser.add_argument("--lan-host", default="127.0.0.1", help=(
        "the address other machines reach this one by; 'auto': this machine's address on its "
        "default route (the desk, whose admin password is printed, is then reachable from the "
        "network); default 127.0.0.1 keeps everything on this machine"))
    parser.add_argument("--sim-port", type=int, default=8100)
    parser.add_argument("--hub-port", type=int, default=8080)
    parser.add_argument("--edge-ports", default=",".join(str(s["port"]) for s in STORES),
                        help="the store agents' ports, comma-separated, in store order")
    parser.add_argument("--hub-workers", type=int, default=1, help=(
        "hub processes sharing the ingest (above 1 needs --database-url on PostgreSQL); worker "
        "n serves the API on the (n - 1)th port after --hub-port and --edge-ports to begin "
        "with"))
    parser.add_argument("--database-url", default=None, help=(
        "the hub's database (default: sqlite STATE/hub.db), e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/acorn_dev (it must exist)"))
    args = parser.parse_args(argv)
    if not 1 <= args.hub_workers <= 8:
        parser.error("--hub-workers takes 1 to 8")
    if args.hub_workers > 1 and not str(args.database_url or "").startswith("postgresql"):
        parser.error(f"--hub-workers {args.hub_workers} needs --database-url "
                     "postgresql+psycopg://... (on SQLite only one hub process may write)")
    ports = [int(p) for p in str(args.edge_ports).split(",")]
    if len(ports) != len(STORES):
        parser.error(f"--edge-ports takes {len(STORES)} ports")
    args.edge_ports = ports
    return args


def configure(state_dir: Path) -> None:
    """Point every path of this script at ``state_dir``."""
    global STATE, SIM_CREDENTIALS  # set once, before anything runs
    STATE = state_dir.resolve()
    SIM_CREDENTIALS = STATE / "spapi-credentials.json"


def main() -> None:
    """Start everything, print where it is, and stop it all on Ctrl-C (or SIGTERM)."""
    args = parse_args(sys.argv[1:])
    configure(args.state_dir)
    # A background start ignores SIGINT; SIGTERM (CI, a supervisor) must clean up too.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    STATE.mkdir(parents=True, exist_ok=True)
    passwords = secrets_file(args.hub_workers)
    children: list[Child] = []
    devices: list[Devices] = []
    cli: HubCli | None = None
    try:
        cli = HubCli()  # imports the hub's code while the broker and the simulator start
        broker = LocalBroker(STATE / "mosquitto", port=args.broker_port)
        lan = Lan(lan_address() if args.lan_host == "auto" else args.lan_host)
        try:
            ca = fleet_tls(broker, lan, args.broker_tls_port)
        except (pki.PkiError, ValueError) as err:
            sys.exit(f"fleet CA or broker certificate ({shown(STATE / 'fleet')}, --lan-host "
                     f"{lan.host}): {err}")
        broker_proc = broker_child(broker)
        sim = Child(
            "spapi-simulator",
            lambda port: (
                [str(BIN / "acorn-spapi-sim"), "--port", str(port),
                 "--rate-factor", str(SIM_RATE_FACTOR), "--accounts", "2",
                 "--credentials-file", str(SIM_CREDENTIALS)],
                base_env(),
            ),
            port=args.sim_port,
            health="/_sim/health",
        )
        children += [broker_proc, sim]
        # the broker and the simulator do not need each other: both start at once
        spawn(broker_proc)
        spawn(sim)
        settle(broker_proc, START_TIMEOUT)
        env = hub_env(broker, passwords["hub"], args.hub_port, lan, args.database_url,
                      workers=args.hub_workers)
        migrated = cli.submit(["db", "upgrade"], env)  # while the broker is provisioned
        provision(broker, passwords, args.hub_workers)
        hub = Child(
            "hub",
            lambda port: ([str(BIN / "acorn-hub"), "serve"],
                          hub_env(broker, passwords["hub"], int(port or 0), lan,
                                  args.database_url, workers=args.hub_workers)),
            port=args.hub_port,
            health="/api/health",
        )
        edges: list[Edge] = []
        for store, wanted in zip(STORES, args.edge_ports, strict=True):
            store_devices = start_devices(store)
            devices.append(store_devices)
            edges.append((store, edge_child(store, broker, passwords, store_devices, wanted),
                          store_devices))
        agents = [child for _store, child, _devices in edges]
        children += [hub, *agents]
        # the agents need only the broker: they start beside the hub, once the database is
        # migrated (not by two processes at once)
        cli.wait(migrated)
        for child in (hub, *agents):
            spawn(child)
        # while they start: the accounts (the hub's scheduler reads them at each round, the
        # first a few seconds after the hub has started), the desk user and the demo returns
        settle(sim, START_TIMEOUT)
        accounts = register_amazon_accounts(cli, env, sim.url)
        desk_password, seeding = queue_seed(cli, env)
        for child in (hub, *agents):
            settle(child, START_TIMEOUT)
        env = hub.env
        more_workers = hub_workers(broker, passwords, lan, args)
        children += more_workers
        start(*more_workers)
        pos = start_pos_simulators(edges)
        children += pos
        start(*pos)
        token = admin_token(cli, env, hub.url)
        finish_seed(cli, seeding)
        # before the banner: its enrolment line reads the hub's settings from this file
        write_env_file(STATE / "hub.env", {k: v for k, v in env.items()
                                           if k.startswith("ACORN_HUB_")})
        print_banner(broker_proc, hub, sim, edges, token, more_workers)
        print("\n".join(fleet_lines(broker, hub, lan, ca)))
        print(f"  approvals desk         {hub.url}/desk   "
              f"(user admin, password {desk_password})")
        if accounts:
            print(f"  Amazon accounts        {'; '.join(accounts)} — synced by the hub's "
                  f"scheduler, or now: acorn-hub amazon sync (with {shown(STATE)}/hub.env)")
        print(flush=True)
        cli.close()
        watch(children)
    except BrokerError as err:
        sys.exit(f"broker: {err}")
    except KeyboardInterrupt:
        print("\nstopping…")
    finally:
        # a second Ctrl-C (or SIGTERM) must not cut the cleanup short and leave children behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cli is not None:
            cli.close()
        stop_all(children)
        for store_devices in devices:
            store_devices.close()
        print(f"all stopped; state kept in {shown(STATE)} (make clean removes var/dev)")


def edge_child(store: dict[str, object], broker: LocalBroker, passwords: dict[str, str],
               devices: Devices, wanted: int) -> Child:
    """One store agent, to be started on ``wanted`` (or another port if that is taken)."""
    password = passwords[f"{store['store_id']}.{store['node_id']}"]

    def build(port: int | None) -> tuple[list[str], dict[str, str]]:
        env = edge_env(store, broker, password, int(port or 0)) | device_env(store, devices)
        return [str(BIN / "acorn-edge"), "run"], env

    return Child(f"edge-{store['store_id']}", build, port=wanted, health="/api/health")


def start_pos_simulators(edges: list[Edge]) -> list[Child]:
    """With ACORN_DEV_POS_EVERY=SECONDS, a POS terminal simulator per store (off by default)."""
    every = os.environ.get("ACORN_DEV_POS_EVERY", "")
    if not every:
        return []
    return [pos_child(store, edge.url, every) for store, edge, _devices in edges]


def pos_child(store: dict[str, object], url: str, every: str) -> Child:
    """A POS terminal simulator posting a sale return to the agent at ``url`` every so often."""
    argv = [sys.executable, "-m", "edge_agent.pos.simulator", "--url", url, "--count", "0",
            "--every", every, "--currency", str(store["currency"])]
    return Child(f"pos-{store['store_id']}", lambda _port: (argv, base_env()))


def shown(path: Path) -> Path:
    """``path`` relative to the checkout when it is inside it, else as it is."""
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def device_lines(store: dict[str, object], url: str, devices: Devices) -> list[str]:
    """Banner lines: where to type scans, where receipts land, how to post a POS return."""
    lines = []
    if devices.scanner is not None:
        keyboard = shown(devices.scanner.keyboard)
        rma = f"RMA-DEMO-{STORES.index(store)}0"
        lines.append(
            f"    scanner: type codes into  socat - {keyboard}   (or: echo {rma} > {keyboard})"
        )
    printed = devices.printer.directory or STATE
    lines.append(
        f"    printer: {devices.printer.url}, receipts as text in {shown(printed)}/NNNN.txt"
    )
    lines.append(
        f"    POS:     .venv/bin/python -m edge_agent.pos.simulator --url {url}"
        f" --currency {store['currency']}"
    )
    return lines


def answers_at(host: str, port: int, path: str | None = None) -> bool:
    """Whether ``host:port`` takes a TCP connection (with ``path``: answers it over HTTP)."""
    try:
        if path is None:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        return httpx.get(f"http://{host}:{port}{path}", timeout=2.0).status_code < 500
    except (OSError, httpx.HTTPError):
        return False


def fleet_lines(broker: LocalBroker, hub: Child, lan: Lan, ca: pki.FleetCa) -> list[str]:
    """Banner lines for a second machine: the broker's mutual-TLS listener and the hub as that
    machine reaches them (each only if it answered just now at that address), and how to enrol
    it; enrolment stays on the hub's plain HTTP in make run."""
    tls = broker.tls
    if tls is None or hub.port is None:
        return []
    hub_url = f"http://{lan.host}:{hub.port}"
    lines = [
        "  broker mutual TLS      "
        + (f"mqtts://{lan.host}:{tls.port}   (enrolled machines; fleet CA "
           f"{shown(STATE / 'fleet' / pki.CA_CERT_FILE)})" if answers_at(lan.host, tls.port)
           else f"(not answering at {lan.host}:{tls.port} now; see {broker.state_dir})"),
        "  hub for other machines "
        + (f"{hub_url}   (plain HTTP: enrol with --insecure-http)"
           if answers_at(lan.host, hub.port, "/api/health")
           else f"(not answering at {hub_url} now)"),
    ]
    if lan.bind == "127.0.0.1":
        lines.append(f"    only this machine reaches them ({lan.host}); for another machine: "
                     "deploy/scripts/run_local.py --lan-host auto (or ADDRESS)")
    lines += [
        f"  enrol a second machine set -a; . {shown(STATE)}/hub.env; set +a; "
        f"{shown(BIN)}/acorn-hub devices enrol {STORES[0]['store_id']} --hub-url {hub_url}",
        "    then on that machine: acorn-edge enrol --insecure-http '<the acorn://enrol?… "
        "link printed>' and acorn-edge run",
        f"    (fleet CA fingerprint {ca.fingerprint})",
        "",
    ]
    return lines


def where(child: Child, path: str = "") -> str:
    """``child``'s URL (plus ``path``) if it answers now, else a note saying it does not."""
    if serving(child):
        return f"{child.url}{path}"
    return f"(not answering now; restarting, see {child.log})"


def hub_workers(broker: LocalBroker, passwords: dict[str, str], lan: Lan,
                args: argparse.Namespace) -> list[Child]:
    """Hub workers 2..N (after the first has migrated the database), each on its own port."""

    def build(n: int) -> Callable[[int | None], tuple[list[str], dict[str, str]]]:
        return lambda port: ([str(BIN / "acorn-hub"), "serve"], hub_env(
            broker, passwords[f"hub-w{n}"], int(port or 0), lan, args.database_url, worker=n,
            workers=args.hub_workers))

    after = max(args.hub_port, *args.edge_ports)  # not on a counter's port (8081 is Berlin's)
    return [Child(f"hub-w{n}", build(n), port=after + n - 1, health="/api/health")
            for n in range(2, args.hub_workers + 1)]


def print_banner(broker: Child, hub: Child, sim: Child, edges: list[Edge], token: str,
                 more_workers: list[Child] | None = None) -> None:
    """Where everything is: only URLs that answered just now."""
    lines = [
        "",
        "ACORN is running — Ctrl-C stops everything",
        f"  broker (mosquitto)     {where(broker)}",
        f"  hub API + docs         {where(hub, '/docs')}",
        *[f"  hub {w.name:<18} {where(w, '/docs')}" for w in more_workers or []],
        f"  SP-API simulator       {where(sim, '/docs')}",
    ]
    for store, edge, devices in edges:
        lines.append(
            f"  counter {store['name']:<14} {where(edge, '/')}   (store {store['store_id']})"
        )
        lines += device_lines(store, edge.url, devices)
    lines += [
        f"  admin API token        {token}",
        "  try scanning          RMA-DEMO-00 at Berlin, RMA-DEMO-10 at New York",
        f"  logs                   {STATE / 'logs'}",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
