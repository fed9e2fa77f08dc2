"""Pairing: a machine with no identity asks the hub for a code, shows it, and waits for a
technician to enter it on the desk (``acorn-edge pair``).

Rules:
- the key is made here and never sent (as at enrolment); the hub gets a CSR and the hardware
  serial (``POST /api/fleet/pairings``) and answers a code and a poll token; the token stays in
  memory only: a machine restarted mid-pairing asks for a new code;
- the hub is reached as at enrolment (``hub_link.open_hub``): HTTPS pinned to the fleet CA, or
  plain HTTP only with ``insecure_http``;
- the code is printed on the receipt printer (``hardware.printing.pairing_page``) when one is
  configured, and published in ``PairingStatus`` for the setup page; a printer that fails is
  reported on the status and the screen still shows the code;
- the node polls (``POST /api/fleet/pairings/poll``) every ``poll_seconds`` the hub asked for.
  Polling, not being told: until it is paired the node has no broker identity, so HTTP from the
  node is its only way to hear from the hub;
- once paired, the answer is checked and written exactly as at enrolment (``client.install``);
  an expired or refused code is an ``EnrolmentError``; ``stop`` ends the wait early.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.enrolment.client import (
    Enrolled,
    hardware_serial,
    install,
    make_csr,
    refuse_existing,
)
from edge_agent.enrolment.hub_link import EnrolmentError, open_hub, reason
from hardware.errors import HardwareError

log = logging.getLogger(__name__)

PAIR_PATH = "/api/fleet/pairings"
POLL_PATH = "/api/fleet/pairings/poll"
MIN_POLL, MAX_POLL = 0.2, 30.0


@dataclass(frozen=True)
class Snapshot:
    """What the setup page shows."""

    state: str = "starting"  # starting | waiting | paired | failed
    code: str | None = None
    hub: str | None = None
    expires_at: str | None = None
    serial: str | None = None
    printed: bool | None = None
    store_id: str | None = None
    node_id: str | None = None
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        """The snapshot as the setup page reads it."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class PairingStatus:
    """The pairing's current snapshot, shared between the pairing and the setup page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = Snapshot()

    def update(self, **changes: Any) -> None:
        """Change some fields."""
        with self._lock:
            self._now = replace(self._now, **changes)

    def snapshot(self) -> Snapshot:
        """The current snapshot."""
        with self._lock:
            return self._now


@dataclass(frozen=True)
class Pairing:
    """Where and how to pair."""

    hub: str
    ca_fingerprint: str | None
    data_dir: Path
    settings_file: Path
    insecure_http: bool = False
    force: bool = False
    printer_url: str = ""
    printer_paper: str = "80mm"
    serial: str | None = None


def ask_code(client: httpx.Client, csr: str, serial: str) -> dict[str, Any]:
    """The hub's pairing code, poll token and expiry for our CSR (EnrolmentError if refused)."""
    answer = _post(client, PAIR_PATH, {"csr": csr, "serial": serial})
    if answer.status_code != 201:
        raise EnrolmentError(f"the hub refused a pairing code ({answer.status_code}): "
                             f"{reason(answer)}")
    return _json(answer)


def wait_paired(client: httpx.Client, token: str, every: float, stop: threading.Event
                ) -> dict[str, Any]:
    """Poll until the code is entered on the desk; the enrolment the hub then answers."""
    every = min(max(every, MIN_POLL), MAX_POLL)
    while not stop.wait(every):
        answer = _post(client, POLL_PATH, {"token": token})
        if answer.status_code != 200:
            raise EnrolmentError(f"the hub ended the pairing ({answer.status_code}): "
                                 f"{reason(answer)}")
        data = _json(answer)
        if data.get("state") == "paired" and isinstance(data.get("enrolment"), dict):
            enrolled: dict[str, Any] = data["enrolment"]
            return enrolled
    raise EnrolmentError("pairing stopped before the code was entered")


def _post(client: httpx.Client, path: str, body: dict[str, str]) -> httpx.Response:
    try:
        return client.post(path, json=body)
    except httpx.HTTPError as err:
        raise EnrolmentError(f"cannot reach the hub at {client.base_url}: {err}") from err


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data: dict[str, Any] = answer.json()
    except ValueError as err:
        raise EnrolmentError("the hub's answer is not JSON") from err
    return data


def print_code(printer_url: str, paper: str, code: str, hub: str, expires: str,
               serial: str) -> None:
    """Print the pairing page (HardwareError if the printer cannot take it)."""
    # imported here: an agent that never pairs loads no printer library (python-escpos, PIL)
    from hardware.printing import make_profile, open_sink
    from hardware.printing.pairing_page import render_pairing_page

    page = render_pairing_page(code, hub, expires, serial, make_profile(paper))
    open_sink(printer_url).write(page)


def _show(how: Pairing, status: PairingStatus, code: str, expires: str, serial: str) -> None:
    printed: bool | None = None
    if how.printer_url:
        try:
            print_code(how.printer_url, how.printer_paper, code, how.hub, expires, serial)
            printed = True
        except HardwareError as err:
            log.warning("the pairing code could not be printed: %s", err)
            printed = False
    status.update(state="waiting", code=code, hub=how.hub, expires_at=expires, serial=serial,
                  printed=printed,
                  message="enter this code on the HQ desk (Fleet, Pair a machine)")


def pair(how: Pairing, status: PairingStatus, stop: threading.Event,
         transport: httpx.BaseTransport | None = None,
         on_code: Callable[[Snapshot], None] | None = None) -> Enrolled:
    """Ask for a code, show it, wait for the technician, then write identity and settings."""
    try:
        refuse_existing(how.data_dir / "identity", how.force)
        key = ec.generate_private_key(ec.SECP256R1())
        serial = how.serial or hardware_serial()
        with open_hub(how.hub, how.ca_fingerprint, how.insecure_http, transport) as client:
            opened = ask_code(client, make_csr(key), serial)
            try:
                code, token = str(opened["code"]), str(opened["token"])
                expires, every = str(opened["expires_at"]), float(opened["poll_seconds"])
            except (KeyError, TypeError, ValueError) as err:
                raise EnrolmentError(f"the hub's pairing answer is malformed: {err}") from err
            _show(how, status, code, expires, serial)
            if on_code is not None:
                on_code(status.snapshot())
            started = time.monotonic()
            data = wait_paired(client, token, every, stop)
            log.info("paired after %.1f s", time.monotonic() - started)
        done = install(data, key, how.ca_fingerprint, how.data_dir, how.settings_file, how.hub)
    except EnrolmentError as err:
        status.update(state="failed", message=str(err))
        raise
    status.update(state="paired", store_id=done.store_id, node_id=done.node_id,
                  message=f"paired as store {done.store_id} node {done.node_id}")
    return done
