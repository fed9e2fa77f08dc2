"""A private Mosquitto for one machine: config, dynamic-security file, process.

Used by ``acorn-hub broker run`` for single-machine installs, by ``make run`` and by the tests
(each test session starts its own on a free port). The broker keeps nothing we rely on: the edge
outbox and the hub's acks make delivery durable.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from hub.fleet.dynsec import DynSecAdmin
from hub.fleet.pki import FleetCa, cert_pem, sign_server, write_private
from protocol.limits import MAX_PAYLOAD_BYTES

PLUGIN_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)


class BrokerError(RuntimeError):
    """The local broker could not be set up or started."""


def find_plugin() -> str:
    """Path of the dynamic-security plugin, or BrokerError saying how to install it."""
    for path in PLUGIN_CANDIDATES:
        if Path(path).exists():
            return path
    raise BrokerError(
        "mosquitto's dynamic-security plugin was not found; "
        "install it with: apt-get install mosquitto"
    )


def find_mosquitto() -> str:
    """Path of the mosquitto binary, or BrokerError saying how to install it."""
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise BrokerError("mosquitto is not installed; install it with: apt-get install mosquitto")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TlsListener:
    """A mutual-TLS listener: nodes log in with a certificate the fleet CA signed.

    Checked on Mosquitto 2.0.11: with ``use_identity_as_username`` the certificate's CN is the
    user name and the dynamic-security client-id binding is not checked, so
    ``use_username_as_clientid`` forces the client id to the CN on this listener (a node cannot
    take over another identity's session; the password listener keeps its client ids).
    """

    port: int
    cafile: Path
    certfile: Path
    keyfile: Path

    def lines(self, host: str) -> list[str]:
        """The listener's mosquitto.conf lines."""
        return [
            f"listener {self.port} {host}",
            f"cafile {self.cafile}",
            f"certfile {self.certfile}",
            f"keyfile {self.keyfile}",
            "require_certificate true",
            "use_identity_as_username true",
            "use_username_as_clientid true",
        ]


def write_tls_files(state_dir: Path, ca: FleetCa, hosts: list[str], port: int,
                    now: datetime) -> TlsListener:
    """Write the fleet CA and a broker server certificate for ``hosts`` into ``state_dir``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    key, cert = sign_server(ca, hosts, now)
    listener = TlsListener(port or free_port(), state_dir / "fleet-ca.pem",
                           state_dir / "broker.pem", state_dir / "broker.key")
    listener.cafile.write_text(ca.pem)
    listener.certfile.write_text(cert_pem(cert))
    write_private(listener.keyfile, key)
    return listener


def render_config(state_dir: Path, host: str, port: int, plugin: str,
                  tls: TlsListener | None = None) -> str:
    """The mosquitto.conf text for a private broker (and its TLS listener, if any)."""
    return "\n".join(
        [
            f"listener {port} {host}",
            "allow_anonymous false",
            f"plugin {plugin}",
            f"plugin_opt_config_file {state_dir / 'dynamic-security.json'}",
            "persistence true",
            f"persistence_location {state_dir}/",
            "autosave_interval 60",
            "max_queued_messages 20000",
            "max_inflight_messages 100",  # the hub asks for more in its CONNECT (hub.sync.mqtt)
            # the codec's bound, so an oversized message never reaches the hub (nor its disk)
            f"message_size_limit {MAX_PAYLOAD_BYTES}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            f"log_dest file {state_dir / 'mosquitto.log'}",
            f"user {getpass.getuser()}",  # only used when started as root: keep files writable
            # listener options below apply to the last listener named
            *(tls.lines(host) if tls else []),
            "",
        ]
    )


@dataclass
class LocalBroker:
    """A mosquitto process with dynamic security, in its own state directory."""

    state_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    admin_user: str = "acorn-admin"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    process: subprocess.Popen[bytes] | None = None
    tls: TlsListener | None = None

    def prepare(self) -> None:
        """Write the config and create the dynamic-security file with the admin user."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        dynsec = self.state_dir / "dynamic-security.json"
        secret_file = self.state_dir / "admin-password"
        if dynsec.exists() and secret_file.exists():
            self.admin_password = secret_file.read_text().strip()
        else:
            dynsec.unlink(missing_ok=True)
            result = subprocess.run(
                [
                    "mosquitto_ctrl",
                    "dynsec",
                    "init",
                    str(dynsec),
                    self.admin_user,
                    self.admin_password,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise BrokerError(f"mosquitto_ctrl dynsec init failed: {result.stderr.strip()}")
            secret_file.write_text(self.admin_password + "\n")
            secret_file.chmod(0o600)
        conf = render_config(self.state_dir, self.host, self.port, find_plugin(), self.tls)
        (self.state_dir / "mosquitto.conf").write_text(conf)

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections."""
        if not (self.state_dir / "mosquitto.conf").exists():
            self.prepare()
        self.process = subprocess.Popen(
            [find_mosquitto(), "-c", str(self.state_dir / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise BrokerError(f"mosquitto exited at start: {err.strip() or self._log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} in {timeout}s")

    def _log_tail(self) -> str:
        log = self.state_dir / "mosquitto.log"
        return log.read_text()[-2000:] if log.exists() else ""

    def stop(self) -> None:
        """Stop mosquitto gracefully (it saves its state)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """Kill mosquitto at once (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def admin(self) -> DynSecAdmin:
        """An admin connection for provisioning (use as a context manager)."""
        return DynSecAdmin(self.host, self.port, self.admin_user, self.admin_password)
