"""Finding the store's devices for a technician: network printers, the hub, serial scanners.

Rules:
- network printers and the hub are browsed over mDNS (``hardware.discovery.browse``: raw-port,
  LPD and IPP printers, ``_acorn-hub._tcp``), for ``timeout`` seconds, on the given interfaces
  (e.g. ``127.0.0.1`` in tests); serial ports are enumerated and known scanner makers marked;
- each device comes with the exact line to put in ``edge.env`` (``ACORN_EDGE_PRINTER_URL=…``,
  ``ACORN_EDGE_SCANNER_URL=…``; for the hub ``ACORN_EDGE_MQTT_HOST=…`` and, when its TXT record
  says ``mqtt_port``, ``ACORN_EDGE_MQTT_PORT=…``);
- serial ports without any description or USB id (legacy ``/dev/ttyS*`` placeholders, of which
  Linux lists dozens) are left out unless ``all_serial`` asks for them;
- zeroconf and pyserial's port lists are imported only when discovery runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edge_agent.settings import ENV_PREFIX

if TYPE_CHECKING:
    from hardware.discovery import FoundDevice, SerialPortInfo


@dataclass(frozen=True)
class Found:
    """A device, where it is, and the settings lines that make the agent use it."""

    kind: str  # printer | hub | scanner | serial
    name: str
    where: str
    config_lines: tuple[str, ...]
    note: str = ""
    details: dict[str, str] = field(default_factory=dict)


def _host(device: FoundDevice) -> str:
    if not device.addresses:
        return device.server.rstrip(".")
    address = device.addresses[0]
    return f"[{address}]" if ":" in address else address


def from_network(device: FoundDevice) -> Found:
    """A browsed printer or hub with its settings lines."""
    host = _host(device)
    if device.kind.value == "hub":
        broker = device.properties.get("mqtt_host") or host.strip("[]")
        lines = [f"{ENV_PREFIX}MQTT_HOST={broker}"]
        if device.properties.get("mqtt_port"):
            lines.append(f"{ENV_PREFIX}MQTT_PORT={device.properties['mqtt_port']}")
        scheme = device.properties.get("scheme", "http")
        note = f"hub API at {scheme}://{host}:{device.port}{device.properties.get('path', '')}"
        return Found("hub", device.name, f"{host}:{device.port}", tuple(lines), note,
                     dict(device.properties))
    url = device.config_line.partition("=")[2]
    return Found("printer", device.name, f"{host}:{device.port} ({device.service_type})",
                 (f"{ENV_PREFIX}PRINTER_URL={url}",), device.note, dict(device.properties))


def from_serial(port: SerialPortInfo) -> Found:
    """A serial port with its settings line; known scanner makers are marked ``scanner``."""
    kind = "scanner" if port.likely_scanner else "serial"
    ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else ""
    note = port.scanner_vendor or port.description
    details = {"usb_id": ids} if ids else {}
    return Found(kind, port.description or port.device, port.device,
                 (f"{ENV_PREFIX}SCANNER_URL={port.device}",), note, details)


def discover(timeout: float = 3.0, interfaces: Sequence[str] | None = None,
             network: bool = True, serial: bool = True, all_serial: bool = False) -> list[Found]:
    """Browse the network and list serial ports; printers, then the hub, then scanners."""
    found: list[Found] = []
    if network:
        from hardware.discovery import browse

        found += [from_network(device) for device in browse(timeout=timeout,
                                                            interfaces=interfaces)]
    if serial:
        from hardware.discovery import list_serial_ports

        found += [from_serial(port) for port in list_serial_ports()
                  if all_serial or port.vid is not None or port.description not in ("", "n/a")]
    order = {"printer": 0, "hub": 1, "scanner": 2, "serial": 3}
    return sorted(found, key=lambda item: (order[item.kind], item.name))
