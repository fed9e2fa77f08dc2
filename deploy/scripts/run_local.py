"""`make run`: the whole ACORN system on this machine, for trying it out and for development.

Starts a private Mosquitto (dynamic security, own credentials per process), the Amazon SP-API
simulator, the hub, and two store agents with simulated devices; prints the URLs and an admin
token; Ctrl-C stops everything in reverse order. State lives in ``var/dev/`` and survives
restarts (``make clean`` removes it).

Simulated devices, per store (``hardware.sim``): a serial scanner made of a socat pty pair (the
agent reads ``var/dev/scanner-STORE/scanner``; type codes into ``…/scanner-keyboard``) and a
network printer on a free loopback port that writes each job as text to
``var/dev/printer-STORE/NNNN.txt``. ``ACORN_DEV_POS_EVERY=SECONDS`` also starts a POS terminal
simulator per store (``python -m edge_agent.pos.simulator``) posting a sale return that often.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from hardware.errors import HardwareError
from hardware.sim.printer import PrinterStandIn
from hardware.sim.scanner import PtyScanner
from hub.fleet.local_broker import BrokerError, LocalBroker, free_port

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


def port_or_free(wanted: int) -> int:
    """``wanted`` if nothing listens there on loopback, else a free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", wanted))
        except OSError:
            return free_port()
    return wanted


def secrets_file() -> dict[str, str]:
    """Passwords kept across restarts of make run (the broker keeps their hashes)."""
    path = STATE / "secrets.json"
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for key in ["hub", "desk-admin"] + [f"{s['store_id']}.{s['node_id']}" for s in STORES]:
        data.setdefault(key, secrets.token_urlsafe(18))
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return data


@dataclass
class Child:
    """One child process and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path


def spawn(name: str, argv: list[str], env: dict[str, str]) -> Child:
    """Start a child in its own process group, logging to var/dev/logs/NAME.log."""
    log = STATE / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = log.open("ab")
    popen = subprocess.Popen(
        argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Child(name, popen, log)


def wait_http(child: Child, url: str, timeout: float = 40.0) -> None:
    """Wait until ``url`` answers, or exit with the child's log tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.popen.poll() is not None:
            sys.exit(
                f"{child.name} stopped at start; its log ({child.log}):\n"
                f"{child.log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"{child.name} did not answer at {url} in {timeout:.0f}s; see {child.log}")


def base_env() -> dict[str, str]:
    """The environment for children, without stray ACORN_ settings from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_broker(passwords: dict[str, str]) -> LocalBroker:
    """Start the private broker and give the hub and every node its own credentials."""
    broker = LocalBroker(STATE / "mosquitto", port=port_or_free(18830))
    broker.prepare()
    broker.start()
    with broker.admin() as admin:
        admin.provision_hub(passwords["hub"])
        for store in STORES:
            admin.provision_node(
                store["store_id"],
                store["node_id"],
                passwords[f"{store['store_id']}.{store['node_id']}"],
            )
    return broker


def hub_env(broker: LocalBroker, password: str, http_port: int) -> dict[str, str]:
    """Environment of the hub process."""
    return base_env() | {
        "ACORN_HUB_DATABASE_URL": f"sqlite:///{STATE / 'hub.db'}",
        "ACORN_HUB_MQTT_HOST": broker.host,
        "ACORN_HUB_MQTT_PORT": str(broker.port),
        "ACORN_HUB_MQTT_USERNAME": "acorn-hub",
        # the broker user is bound to this client id by provision_hub (HUB_CLIENT_ID)
        "ACORN_HUB_MQTT_CLIENT_ID": "acorn-hub",
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
        "ACORN_HUB_ADVERTISE": "true",
        "ACORN_HUB_ADVERTISE_INTERFACES": '["127.0.0.1"]',
    }


def register_amazon_accounts(env: dict[str, str], sim_url: str) -> list[str]:
    """Add the simulator's seeded sellers as hub accounts (once; later runs keep them)."""
    from hub.amazon.marketplaces import by_id

    deadline = time.monotonic() + 30
    while not SIM_CREDENTIALS.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if not SIM_CREDENTIALS.exists():
        return []
    names = []
    for account in json.loads(SIM_CREDENTIALS.read_text())["accounts"]:
        name = f"sim-{account['region'].lower()}-{account['seller_id'][-4:].lower()}"
        codes = [by_id(m).code for m in account["marketplace_ids"]]
        argv = [str(BIN / "acorn-hub"), "amazon", "accounts", "add", name, "--seller-id",
                account["seller_id"], "--region", account["region"], "--endpoint", sim_url]
        for code in codes:
            argv += ["--marketplace", code]
        subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        names.append(f"{name} ({', '.join(codes)})")
    return names


def create_desk_user(env: dict[str, str]) -> str:
    """An admin who can sign in to the approvals desk (password kept in var/dev/secrets.json)."""
    password = secrets_file()["desk-admin"]
    pw_file = STATE / "desk-admin.password"
    pw_file.write_text(password + "\n")
    pw_file.chmod(0o600)
    subprocess.run([str(BIN / "acorn-hub"), "users", "add", "admin", "--role", "admin", "--name",
                    "Dev Admin", "--password-file", str(pw_file)], env=env, capture_output=True,
                   text=True, check=False)
    pw_file.unlink()
    return password


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


Edge = tuple[dict[str, object], int, Child, Devices]  # store, HTTP port, agent, its devices


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


def create_token(env: dict[str, str]) -> str:
    """An admin API token for this run (printed once)."""
    out = subprocess.run(
        [str(BIN / "acorn-hub"), "token", "create", "--name", "dev-admin", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return f"(could not create a token: {out.stderr.strip() or out.stdout.strip()})"
    return out.stdout.strip().splitlines()[-1]


def seed_expected_returns(env: dict[str, str]) -> None:
    """Queue two expected returns per store so the counter has something to scan."""
    for n, store in enumerate(STORES):
        currency = str(store["currency"])
        for k, (sku, price) in enumerate([("SKU-TOASTER-2", "39.99"), ("SKU-DRILL-18V", "129.00")]):
            rma = f"RMA-DEMO-{n}{k}"
            subprocess.run(
                [
                    str(BIN / "acorn-hub"),
                    "returns",
                    "expect",
                    "--store",
                    str(store["store_id"]),
                    "--node",
                    str(store["node_id"]),
                    "--rma",
                    rma,
                    "--order",
                    f"30{n}-000000{k}-1234567",
                    "--sku",
                    sku,
                    "--price",
                    price,
                    "--currency",
                    currency,
                ],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Start everything, print where it is, and stop it all on Ctrl-C (or SIGTERM)."""
    # A background start ignores SIGINT; SIGTERM (CI, a supervisor) must clean up too.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    STATE.mkdir(parents=True, exist_ok=True)
    passwords = secrets_file()
    children: list[Child] = []
    devices: list[Devices] = []
    broker: LocalBroker | None = None
    try:
        broker = start_broker(passwords)
        sim_port = port_or_free(8100)
        sim = spawn(
            "spapi-simulator",
            [str(BIN / "acorn-spapi-sim"), "--port", str(sim_port),
             "--rate-factor", str(SIM_RATE_FACTOR), "--accounts", "2",
             "--credentials-file", str(SIM_CREDENTIALS)],
            base_env(),
        )
        children.append(sim)
        hub_port = port_or_free(8080)
        env = hub_env(broker, passwords["hub"], hub_port)
        # accounts before `serve`, so its scheduler's first sync (after ~5 s) already sees them
        subprocess.run([str(BIN / "acorn-hub"), "db", "upgrade"], env=env, capture_output=True,
                       check=False)
        accounts = register_amazon_accounts(env, f"http://127.0.0.1:{sim_port}")
        hub = spawn("hub", [str(BIN / "acorn-hub"), "serve"], env)
        children.append(hub)
        wait_http(hub, f"http://127.0.0.1:{hub_port}/api/health")
        edges = []
        for store in STORES:
            port = port_or_free(int(str(store["port"])))
            key = f"{store['store_id']}.{store['node_id']}"
            store_devices = start_devices(store)
            devices.append(store_devices)
            child = spawn(
                f"edge-{store['store_id']}",
                [str(BIN / "acorn-edge"), "run"],
                edge_env(store, broker, passwords[key], port) | device_env(store, store_devices),
            )
            children.append(child)
            edges.append((store, port, child, store_devices))
        for _store, port, child, _devices in edges:
            wait_http(child, f"http://127.0.0.1:{port}/api/health")
        children += start_pos_simulators(edges)
        token = create_token(env)
        desk_password = create_desk_user(env)
        seed_expected_returns(env)
        print_banner(broker, hub_port, sim_port, edges, token)
        print(f"  approvals desk         http://127.0.0.1:{hub_port}/desk   "
              f"(user admin, password {desk_password})")
        if accounts:
            print(f"  Amazon accounts        {'; '.join(accounts)} — synced by the hub's "
                  "scheduler, or now: acorn-hub amazon sync (with var/dev/hub.env)")
        write_env_file(STATE / "hub.env", {k: v for k, v in env.items()
                                           if k.startswith("ACORN_HUB_")})
        print(flush=True)
        watch(children)
    except BrokerError as err:
        sys.exit(f"broker: {err}")
    except KeyboardInterrupt:
        print("\nstopping…")
    finally:
        for child in reversed(children):
            stop(child)
        for store_devices in devices:
            store_devices.close()
        if broker is not None:
            broker.stop()
        print("all stopped; state kept in var/dev (make clean removes it)")


def start_pos_simulators(edges: list[Edge]) -> list[Child]:
    """With ACORN_DEV_POS_EVERY=SECONDS, a POS terminal simulator per store (off by default)."""
    every = os.environ.get("ACORN_DEV_POS_EVERY", "")
    if not every:
        return []
    return [
        spawn(
            f"pos-{store['store_id']}",
            [
                sys.executable,
                "-m",
                "edge_agent.pos.simulator",
                "--url",
                f"http://127.0.0.1:{port}",
                "--count",
                "0",
                "--every",
                every,
                "--currency",
                str(store["currency"]),
            ],
            base_env(),
        )
        for store, port, _child, _devices in edges
    ]


def device_lines(store: dict[str, object], port: int, devices: Devices) -> list[str]:
    """Banner lines: where to type scans, where receipts land, how to post a POS return."""
    lines = []
    if devices.scanner is not None:
        keyboard = devices.scanner.keyboard.relative_to(ROOT)
        rma = f"RMA-DEMO-{STORES.index(store)}0"
        lines.append(
            f"    scanner: type codes into  socat - {keyboard}   (or: echo {rma} > {keyboard})"
        )
    printed = devices.printer.directory or STATE
    lines.append(
        f"    printer: {devices.printer.url}, receipts as text in "
        f"{printed.relative_to(ROOT)}/NNNN.txt"
    )
    lines.append(
        f"    POS:     .venv/bin/python -m edge_agent.pos.simulator --url http://127.0.0.1:{port}"
        f" --currency {store['currency']}"
    )
    return lines


def print_banner(
    broker: LocalBroker,
    hub_port: int,
    sim_port: int,
    edges: list[Edge],
    token: str,
) -> None:
    """Where everything is."""
    lines = [
        "",
        "ACORN is running — Ctrl-C stops everything",
        f"  broker (mosquitto)     mqtt://{broker.host}:{broker.port}",
        f"  hub API + docs         http://127.0.0.1:{hub_port}/docs",
        f"  SP-API simulator       http://127.0.0.1:{sim_port}/docs",
    ]
    for store, port, _child, devices in edges:
        lines.append(
            f"  counter {store['name']:<14} http://127.0.0.1:{port}/   (store {store['store_id']})"
        )
        lines += device_lines(store, port, devices)
    lines += [
        f"  admin API token        {token}",
        "  try scanning          RMA-DEMO-00 at Berlin, RMA-DEMO-10 at New York",
        f"  logs                   {STATE / 'logs'}",
        "",
    ]
    print("\n".join(lines), flush=True)


def watch(children: list[Child]) -> None:
    """Block until Ctrl-C; report a child that stops on its own."""
    while True:
        for child in children:
            if child.popen.poll() is not None:
                print(
                    f"{child.name} stopped (exit {child.popen.returncode}); see {child.log}",
                    flush=True,
                )
                children.remove(child)
                break
        time.sleep(1.0)


def stop(child: Child) -> None:
    """SIGTERM the child's group and wait a little, then SIGKILL."""
    if child.popen.poll() is not None:
        return
    os.killpg(child.popen.pid, signal.SIGTERM)
    try:
        child.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(child.popen.pid, signal.SIGKILL)
        child.popen.wait(timeout=5)


if __name__ == "__main__":
    main()
