"""zeroconf on loopback: the agent's discovery finds the printers and the hub the test advertised,
by their unique names, with a decoy hub advertised beside them."""

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
from tests.support.mdns import LOOPBACK, decoy_hub, unique

PRINTER, LASER, HUB = unique("Counter Printer"), unique("Office Laser"), unique("acorn-hub")


@pytest.fixture
def advertised() -> Iterator[None]:
    """A raw-port printer, an IPP printer and our hub on loopback — and a decoy hub beside it."""
    with (
        decoy_hub(),
        advertise(RAW_PRINTER_TYPE, PRINTER, 9100, interfaces=LOOPBACK, probe=False),
        advertise(IPP_PRINTER_TYPE, LASER, 631, interfaces=LOOPBACK, probe=False),
        advertise(HUB_TYPE, HUB, 8080, interfaces=LOOPBACK, probe=False,
                  properties={"mqtt_port": "1883", "scheme": "http"}),
    ):
        yield


def test_discovery_finds_the_printers_and_the_hub_with_their_settings_lines(
    advertised: None,
) -> None:
    found = {item.name: item for item in discover(timeout=2.5, interfaces=LOOPBACK,
                                                   serial=False)}
    assert found[PRINTER].kind == "printer"
    assert found[PRINTER].config_lines == ("ACORN_EDGE_PRINTER_URL=tcp://127.0.0.1:9100",)
    assert "9100 assumed" in found[LASER].note
    hub = found[HUB]
    assert hub.kind == "hub"
    assert hub.config_lines == ("ACORN_EDGE_MQTT_HOST=127.0.0.1", "ACORN_EDGE_MQTT_PORT=1883")
    assert hub.note == "hub API at http://127.0.0.1:8080"
    decoys = [item for name, item in found.items() if name.startswith("decoy-hub")]
    assert decoys and all(d.kind == "hub" and d.config_lines != hub.config_lines for d in decoys)


def test_acorn_edge_devices_prints_them(advertised: None) -> None:
    cli = Path(sys.executable).parent / "acorn-edge"
    out = subprocess.run([str(cli), "devices", "--interface", "127.0.0.1", "--timeout", "2.5",
                          "--no-serial", "--json"], capture_output=True, text=True, timeout=30,
                         check=True)
    kinds = {item["name"]: item["kind"] for item in json.loads(out.stdout)}
    assert {name: kinds.get(name) for name in (PRINTER, LASER, HUB)} == {
        PRINTER: "printer", LASER: "printer", HUB: "hub"}
    assert any(name.startswith("decoy-hub") for name in kinds)  # listed, and told apart


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
