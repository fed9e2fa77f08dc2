"""zeroconf on loopback: the agent's discovery finds an advertised printer and the hub."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.devices.discovery import discover, from_serial
from hardware.discovery import (
    HUB_TYPE,
    IPP_PRINTER_TYPE,
    RAW_PRINTER_TYPE,
    advertise,
    serial_port_info,
)

LOOPBACK = ["127.0.0.1"]


@pytest.fixture
def advertised() -> Iterator[None]:
    """A raw-port printer, an IPP printer and the hub, advertised on loopback."""
    with (
        advertise(RAW_PRINTER_TYPE, "Counter Printer", 9100, interfaces=LOOPBACK, probe=False),
        advertise(IPP_PRINTER_TYPE, "Office Laser", 631, interfaces=LOOPBACK, probe=False),
        advertise(HUB_TYPE, "acorn-hub", 8080, interfaces=LOOPBACK, probe=False,
                  properties={"mqtt_port": "1883", "scheme": "http"}),
    ):
        yield


def test_discovery_finds_the_printers_and_the_hub_with_their_settings_lines(
    advertised: None,
) -> None:
    found = {item.name: item for item in discover(timeout=2.5, interfaces=LOOPBACK,
                                                   serial=False)}
    assert found["Counter Printer"].kind == "printer"
    assert found["Counter Printer"].config_lines == ("ACORN_EDGE_PRINTER_URL=tcp://127.0.0.1:9100",)
    assert "9100 assumed" in found["Office Laser"].note
    hub = found["acorn-hub"]
    assert hub.kind == "hub"
    assert hub.config_lines == ("ACORN_EDGE_MQTT_HOST=127.0.0.1", "ACORN_EDGE_MQTT_PORT=1883")
    assert hub.note == "hub API at http://127.0.0.1:8080"


def test_acorn_edge_devices_prints_them(advertised: None) -> None:
    cli = Path(sys.executable).parent / "acorn-edge"
    out = subprocess.run([str(cli), "devices", "--interface", "127.0.0.1", "--timeout", "2.5",
                          "--no-serial", "--json"], capture_output=True, text=True, timeout=30,
                         check=True)
    kinds = {item["name"]: item["kind"] for item in json.loads(out.stdout)}
    assert kinds == {"Counter Printer": "printer", "Office Laser": "printer", "acorn-hub": "hub"}


class _Port:
    """A pyserial ``ListPortInfo`` stand-in."""

    def __init__(self, device: str, vid: int | None, pid: int | None, description: str) -> None:
        self.device, self.vid, self.pid, self.description = device, vid, pid, description
        self.manufacturer = self.serial_number = None


def test_serial_scanners_are_marked_with_their_settings_line() -> None:
    honeywell = from_serial(serial_port_info(_Port("/dev/ttyACM0", 0x0C2E, 0x0B61, "Xenon")))
    assert honeywell.kind == "scanner" and honeywell.note == "Honeywell (Metrologic)"
    assert honeywell.config_lines == ("ACORN_EDGE_SCANNER_URL=/dev/ttyACM0",)
    assert honeywell.details == {"usb_id": "0c2e:0b61"}
    other = from_serial(serial_port_info(_Port("/dev/ttyUSB3", 0x0403, 0x6001, "FT232R")))
    assert other.kind == "serial"
