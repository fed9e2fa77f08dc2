"""Finding devices: mDNS browse and advertise (python-zeroconf), and serial port enumeration.

Rules:

- ``browse`` looks for network printers (``_pdl-datastream._tcp`` raw port 9100,
  ``_printer._tcp`` LPD, ``_ipp._tcp``) and the hub (``_acorn-hub._tcp``) for at most
  ``timeout`` seconds (a service usually shows up within about a second), or until ``stop_when``
  is satisfied. Each hit is resolved to addresses and a port and comes back as a ``FoundDevice``
  with the configuration line a technician would paste.
- ``advertise`` publishes one service until the returned ``Advertisement`` is closed (use it as
  a context manager). The hub advertises ``_acorn-hub._tcp``; tests advertise fake printers.
- Both accept ``interfaces`` (e.g. ``["127.0.0.1"]``) so tests stay on loopback. Every
  ``Zeroconf`` instance we create is closed before we return or when the advertisement closes:
  no thread outlives its use.
- Config lines: a raw-port printer gives ``printer_url=tcp://IP:PORT``; LPD/IPP printers give
  ``printer_url=tcp://IP:9100`` as a guess (ESC/POS needs the raw port) and say so in ``note``;
  the hub gives ``hub_url=SCHEME://IP:PORT`` with ``scheme`` (default ``http``) and ``path``
  taken from its TXT record; a serial port gives ``scanner_port=/dev/...``.
- Serial ports whose USB vendor is a known scanner maker are marked ``likely_scanner``.
- zeroconf and OS errors become ``DiscoveryError``.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import TracebackType
from typing import Any

import ifaddr
from serial.tools import list_ports
from zeroconf import Error as ZeroconfError
from zeroconf import ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from hardware.errors import DiscoveryError

RAW_PRINTER_TYPE = "_pdl-datastream._tcp.local."
LPD_PRINTER_TYPE = "_printer._tcp.local."
IPP_PRINTER_TYPE = "_ipp._tcp.local."
HUB_TYPE = "_acorn-hub._tcp.local."
PRINTER_TYPES = (RAW_PRINTER_TYPE, LPD_PRINTER_TYPE, IPP_PRINTER_TYPE)
DEFAULT_TYPES = (*PRINTER_TYPES, HUB_TYPE)
RESOLVE_SECONDS = 1.5

KNOWN_SCANNER_VENDORS: dict[int, str] = {
    0x0C2E: "Honeywell (Metrologic)",
    0x0536: "Honeywell (Hand Held Products)",
    0x05E0: "Zebra (Symbol)",
    0x05F9: "Datalogic",
    0x1EAB: "Newland",
    0x065A: "Opticon",
}


class DeviceKind(StrEnum):
    """What a found device is for."""

    PRINTER = "printer"
    HUB = "hub"
    SCANNER = "scanner"
    SERIAL = "serial"


@dataclass(frozen=True)
class FoundDevice:
    """A device found on the network, with the config line to use it."""

    kind: DeviceKind
    name: str
    service_type: str
    addresses: tuple[str, ...]
    port: int
    server: str
    properties: Mapping[str, str] = field(default_factory=dict)
    config_line: str = ""
    note: str = ""


@dataclass(frozen=True)
class SerialPortInfo:
    """A serial port on this machine, and whether it looks like a barcode scanner."""

    device: str
    description: str
    vid: int | None
    pid: int | None
    manufacturer: str | None
    serial_number: str | None
    scanner_vendor: str | None

    @property
    def likely_scanner(self) -> bool:
        """True when the USB vendor is a known scanner maker."""
        return self.scanner_vendor is not None

    @property
    def config_line(self) -> str:
        """The line that makes the edge agent use this port as its scanner."""
        return f"scanner_port={self.device}"


def browse(
    service_types: Sequence[str] = DEFAULT_TYPES,
    *,
    timeout: float = 3.0,
    interfaces: Sequence[str] | None = None,
    stop_when: Callable[[Sequence[FoundDevice]], bool] | None = None,
) -> list[FoundDevice]:
    """Browse mDNS for up to ``timeout`` seconds (or until ``stop_when(found)``)."""
    hits: queue.Queue[tuple[str, str]] = queue.Queue()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added:
            hits.put((service_type, name))

    deadline = time.monotonic() + timeout
    with _zeroconf(interfaces) as zc:
        browser = _start_browser(zc, service_types, on_change)
        try:
            return _collect(zc, hits, deadline, stop_when)
        except ZeroconfError as err:
            raise DiscoveryError(f"browsing {', '.join(service_types)} failed: {err}") from err
        finally:
            browser.cancel()


def _start_browser(zc: Zeroconf, types: Sequence[str], handler: Callable[..., None]) -> Any:
    try:
        return ServiceBrowser(zc, list(types), handlers=[handler])
    except (ZeroconfError, OSError) as err:
        raise DiscoveryError(f"cannot browse {', '.join(types)}: {err}") from err


def _collect(
    zc: Zeroconf,
    hits: queue.Queue[tuple[str, str]],
    deadline: float,
    stop_when: Callable[[Sequence[FoundDevice]], bool] | None,
) -> list[FoundDevice]:
    found: dict[tuple[str, str], FoundDevice] = {}
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            service_type, name = hits.get(timeout=remaining)
        except queue.Empty:
            break
        # A service that said goodbye meanwhile never resolves: do not let it eat the deadline.
        wait_ms = int(min(max(remaining, 0.2), RESOLVE_SECONDS) * 1000)
        info = zc.get_service_info(service_type, name, timeout=wait_ms)
        if info is not None and (service_type, name) not in found:
            found[(service_type, name)] = found_device(info)
            if stop_when is not None and stop_when(list(found.values())):
                break
    return list(found.values())


def found_device(info: ServiceInfo) -> FoundDevice:
    """A resolved service as a ``FoundDevice`` with its config line."""
    properties = {
        _text(key): _text(value) for key, value in info.properties.items() if value is not None
    }
    addresses = tuple(info.parsed_addresses())
    device = FoundDevice(
        kind=DeviceKind.HUB if info.type == HUB_TYPE else DeviceKind.PRINTER,
        name=info.name.removesuffix("." + info.type),
        service_type=info.type,
        addresses=addresses,
        port=info.port or 0,
        server=info.server or "",
        properties=properties,
    )
    line, note = _config_line(device)
    return replace(device, config_line=line, note=note)


def _config_line(device: FoundDevice) -> tuple[str, str]:
    host = _url_host(device.addresses[0]) if device.addresses else device.server.rstrip(".")
    if device.kind is DeviceKind.HUB:
        scheme = device.properties.get("scheme", "http")
        path = device.properties.get("path", "")
        return f"hub_url={scheme}://{host}:{device.port}{path}", ""
    if device.service_type == RAW_PRINTER_TYPE:
        return f"printer_url=tcp://{host}:{device.port}", ""
    note = f"advertised as {device.service_type}; ESC/POS needs the raw port, 9100 assumed"
    return f"printer_url=tcp://{host}:9100", note


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


class Advertisement:
    """A service we publish over mDNS until ``close()``."""

    def __init__(self, zc: Zeroconf, info: ServiceInfo) -> None:
        self._zc: Zeroconf | None = zc
        self.info = info

    def close(self) -> None:
        """Withdraw the service and stop the mDNS responder; safe to call twice."""
        zc, self._zc = self._zc, None
        if zc is None:
            return
        try:
            zc.unregister_service(self.info)
        finally:
            zc.close()

    def __enter__(self) -> Advertisement:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def advertise(
    service_type: str,
    name: str,
    port: int,
    *,
    properties: Mapping[str, str] | None = None,
    addresses: Sequence[str] | None = None,
    interfaces: Sequence[str] | None = None,
    server: str | None = None,
    probe: bool = True,
) -> Advertisement:
    """Publish ``name`` as a ``service_type`` service on ``port``; close the result to stop.

    Registration first probes for a name conflict (about 1.5 s); ``probe=False`` skips that and
    is only for names known to be unique (tests, a second advertisement of our own service).
    """
    ips = list(addresses or _default_addresses(interfaces))
    info = ServiceInfo(
        service_type,
        f"{name}.{service_type}",
        port=port,
        properties=dict(properties or {}),
        addresses=[socket.inet_pton(_family(ip), ip) for ip in ips],
        server=server or f"{socket.gethostname().split('.')[0]}.local.",
    )
    zc = _open_zeroconf(interfaces)
    try:
        zc.register_service(info, cooperating_responders=not probe)
    except (ZeroconfError, OSError) as err:
        zc.close()
        raise DiscoveryError(f"cannot advertise {name!r} as {service_type}: {err}") from err
    return Advertisement(zc, info)


def _default_addresses(interfaces: Sequence[str] | None) -> list[str]:
    if interfaces:
        return [ip for ip in interfaces if _is_ip(ip)]
    return [
        str(ip.ip)
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if ip.is_IPv4 and not str(ip.ip).startswith("127.")
    ]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _family(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _open_zeroconf(interfaces: Sequence[str] | None) -> Zeroconf:
    try:
        return Zeroconf(interfaces=list(interfaces)) if interfaces else Zeroconf()
    except (ZeroconfError, OSError) as err:
        raise DiscoveryError(
            f"cannot start mDNS on {interfaces or 'all interfaces'}: {err}"
        ) from err


@contextmanager
def _zeroconf(interfaces: Sequence[str] | None) -> Iterator[Zeroconf]:
    zc = _open_zeroconf(interfaces)
    try:
        yield zc
    finally:
        zc.close()


def list_serial_ports(ports: Iterable[Any] | None = None) -> list[SerialPortInfo]:
    """Serial ports on this machine (or the given pyserial port infos), scanners marked."""
    return [serial_port_info(port) for port in (list_ports.comports() if ports is None else ports)]


def serial_port_info(port: Any) -> SerialPortInfo:
    """One pyserial ``ListPortInfo`` as a ``SerialPortInfo``."""
    vid = port.vid
    return SerialPortInfo(
        device=port.device,
        description=port.description,
        vid=vid,
        pid=port.pid,
        manufacturer=port.manufacturer,
        serial_number=port.serial_number,
        scanner_vendor=KNOWN_SCANNER_VENDORS.get(vid) if vid is not None else None,
    )
