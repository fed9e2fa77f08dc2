"""The self-test's checks: each asks one real thing and says what it found (never raises)."""

from __future__ import annotations

import shutil
import socket
import ssl
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from edge_agent.selftest.report import CheckResult, PosState, offset_of
from edge_agent.settings import pos_target
from protocol import to_utc, utc_now

HUB_TIMEOUT = 5.0
TIME_PATH = "/api/fleet/time"
POS_TIMEOUT = 3.0


def hub(hub_url: str | None, now: Callable[[], datetime] = utc_now,
        transport: httpx.BaseTransport | None = None,
        ca_file: Path | None = None) -> tuple[CheckResult, float | None]:
    """Reach the hub over HTTP and measure our clock against its time (round trip halved); an
    ``https://`` hub is verified by the fleet CA (``ca_file``, the node's MQTT_TLS_CA_FILE) when
    the node has one, as enrolment and renewal verify it, else by the system's trust store."""
    if not hub_url:
        return CheckResult(name="hub", outcome="skip", detail=(
            "no hub_url is set (acorn-edge enrol writes it)")), None
    url = hub_url.rstrip("/") + TIME_PATH
    try:
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=str(ca_file))
                                         if ca_file is not None else True)
        with httpx.Client(timeout=HUB_TIMEOUT, transport=transport, verify=verify) as client:
            sent = now()
            answer = client.get(url)
            received = now()
    except (httpx.HTTPError, OSError, ssl.SSLError) as err:
        return CheckResult(name="hub", outcome="fail",
                           detail=f"the hub at {hub_url} does not answer: {err}"), None
    hub_time = _hub_time(answer)
    if answer.status_code >= 500 or hub_time is None:
        return CheckResult(name="hub", outcome="fail", detail=(
            f"the hub at {hub_url} answered {answer.status_code} without its time")), None
    millis = (received - sent).total_seconds() * 1000
    return (CheckResult(name="hub", outcome="pass",
                        detail=f"{hub_url} answers ({millis:.0f} ms round trip)"),
            offset_of(sent, hub_time, received))


def _hub_time(answer: httpx.Response) -> datetime | None:
    """The hub's UTC time: its time endpoint's ``now``, else (an older hub) its Date header."""
    try:
        if answer.status_code == 200:
            return to_utc(datetime.fromisoformat(str(answer.json()["now"])))
        date = answer.headers.get("date")
        return to_utc(parsedate_to_datetime(date)) if date else None
    except (ValueError, KeyError, TypeError):
        return None


def broker(connected: Callable[[float], bool] | None, timeout: float) -> CheckResult:
    """The MQTT link is connected (waiting up to ``timeout`` for it)."""
    if connected is None:
        return CheckResult(name="broker", outcome="skip", detail="running without MQTT")
    if connected(timeout):
        return CheckResult(name="broker", outcome="pass", detail="connected to the broker")
    return CheckResult(name="broker", outcome="fail", detail=(
        "not connected to the broker (check the network, the broker address and this node's "
        "certificate)"))


def disk_free(folder: Path) -> int:
    """Free bytes of the file system holding ``folder``."""
    return shutil.disk_usage(folder).free


def scanner(configured: bool, wait_scan: Callable[[float], str | None] | None,
            timeout: float) -> CheckResult:
    """Ask for a test scan; pass when one arrives within ``timeout``."""
    if not configured:
        return CheckResult(name="scanner", outcome="skip", detail="no scanner is configured")
    if wait_scan is None:
        return CheckResult(name="scanner", outcome="skip", detail="no test scan was asked for")
    line = wait_scan(timeout)
    if line is None:
        return CheckResult(name="scanner", outcome="fail", detail=(
            f"no scan arrived within {timeout:g} s (is the scanner plugged in and set up?)"))
    return CheckResult(name="scanner", outcome="pass", detail=f"read {line[:40]!r}")


def printer(configured: bool, print_page: Callable[[], str] | None) -> CheckResult:
    """Print the "store ready" page; pass when the printer took it."""
    if not configured:
        return CheckResult(name="printer", outcome="skip", detail="no printer is configured")
    if print_page is None:
        return CheckResult(name="printer", outcome="skip", detail="no page was asked for")
    try:
        status = print_page()
    except (RuntimeError, TimeoutError) as err:
        return CheckResult(name="printer", outcome="fail", detail=f"the page did not print: {err}")
    return CheckResult(name="printer", outcome="pass",
                       detail=f"printed the store ready page (printer {status})")


def probe_pos(address: str, timeout: float = POS_TIMEOUT,
              transport: httpx.BaseTransport | None = None) -> tuple[PosState, str]:
    """Probe the POS terminal at ``address`` (a health URL: GET; host:port: a TCP connect) within
    ``timeout``: what was found, and a sentence for a person."""
    target = pos_target(address)
    try:
        if isinstance(target, str):
            with httpx.Client(timeout=timeout, transport=transport) as client:
                answer = client.get(target)
            if answer.status_code >= 300:
                return "unhealthy", f"the POS terminal at {address} answered {answer.status_code}"
        else:
            socket.create_connection(target, timeout=timeout).close()
    except (httpx.TimeoutException, TimeoutError):
        return "timed_out", f"the POS terminal at {address} did not answer within {timeout:g} s"
    except (httpx.HTTPError, OSError) as err:
        if _refused(err):
            return "refused", f"the POS terminal at {address} refused the connection"
        return "unreachable", f"the POS terminal at {address} cannot be reached: {err}"
    return "reachable", f"the POS terminal at {address} is reachable"


def _refused(err: BaseException | None) -> bool:
    """True when ``err`` or what caused it is a refused connection."""
    while err is not None:
        if isinstance(err, ConnectionRefusedError) or "refused" in str(err).lower():
            return True
        err = err.__cause__ or err.__context__
    return False


def pos(keys: int, last_call: str | None,
        reach: tuple[PosState, str] | None = None) -> CheckResult:
    """POS terminals: the terminal's reachability when its address is set (``probe_pos``),
    configured keys, and the last POS return seen."""
    if not keys and reach is None:
        return CheckResult(name="pos", outcome="skip", detail="no POS terminal is configured")
    said: list[str] = []
    if reach is not None:
        said.append(reach[1])
    if keys:
        seen = f"last POS return at {last_call}" if last_call else "no POS return yet"
        said.append(f"{keys} POS key(s) configured; {seen}")
    failed = reach is not None and reach[0] != "reachable"
    return CheckResult(name="pos", outcome="fail" if failed else "pass", detail="; ".join(said),
                       code=reach[0] if reach is not None else None)
