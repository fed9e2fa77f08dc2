"""Discovery: zeroconf on loopback finds an advertised printer and hub (its own, beside a decoy
hub); serial ports classified."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence

from serial.tools.list_ports_common import ListPortInfo
from zeroconf import ServiceInfo

from hardware.discovery import (
    HUB_TYPE,
    IPP_PRINTER_TYPE,
    RAW_PRINTER_TYPE,
    DeviceKind,
    FoundDevice,
    SerialPortInfo,
    advertise,
    browse,
    found_device,
    list_serial_ports,
    serial_port_info,
)
from tests.support.mdns import LOOPBACK, decoy_hub, unique


def test_browse_finds_an_advertised_printer_and_the_hub() -> None:
    printer_name, hub_name = unique("Fake TM-T20"), unique("hub")
    wanted = {printer_name, hub_name}

    def all_found(found: Sequence[FoundDevice]) -> bool:
        return wanted <= {device.name for device in found} and any(
            device.name.startswith("decoy-hub") for device in found)

    with (
        decoy_hub(),  # another ACORN hub on the same network: ours is told apart by its name
        advertise(RAW_PRINTER_TYPE, printer_name, 9100, interfaces=LOOPBACK),
        advertise(HUB_TYPE, hub_name, 8080, properties={"path": "/api"}, interfaces=LOOPBACK),
    ):
        found = browse(timeout=10.0, interfaces=LOOPBACK, stop_when=all_found)
    by_name = {device.name: device for device in found}
    assert wanted <= set(by_name)
    assert len([d for d in found if d.kind is DeviceKind.HUB]) >= 2  # the decoy was there too

    printer = by_name[printer_name]
    assert (printer.kind, printer.addresses, printer.port) == (
        DeviceKind.PRINTER,
        ("127.0.0.1",),
        9100,
    )
    assert printer.config_line == "printer_url=tcp://127.0.0.1:9100"

    hub = by_name[hub_name]
    assert hub.kind is DeviceKind.HUB
    assert hub.properties == {"path": "/api"}
    assert hub.config_line == "hub_url=http://127.0.0.1:8080/api"


def test_browse_with_nothing_there_returns_empty_within_its_timeout() -> None:
    assert (
        browse(
            [f"_acorn-none-{uuid.uuid4().hex[:6]}._tcp.local."], timeout=0.3, interfaces=LOOPBACK
        )
        == []
    )


def _hub_seen(name: str, timeout: float) -> bool:
    """True when a fresh browse finds the hub advertised as ``name`` within ``timeout``."""
    def seen(found: Sequence[FoundDevice]) -> bool:
        return any(device.name == name for device in found)

    return seen(browse([HUB_TYPE], timeout=timeout, interfaces=LOOPBACK, stop_when=seen))


def test_advertisement_close_is_idempotent() -> None:
    name = unique("hub")
    ad = advertise(HUB_TYPE, name, 8080, interfaces=LOOPBACK, probe=False)
    try:
        assert _hub_seen(name, timeout=10.0)
    finally:
        ad.close()
    ad.close()  # the second close neither raises nor does anything
    with ad:  # nor does leaving a block around a closed advertisement
        pass
    assert not _hub_seen(name, timeout=2.0)  # withdrawn: nobody answers for it any more


def test_ipp_printer_gets_a_raw_port_guess_and_a_note() -> None:
    info = ServiceInfo(
        IPP_PRINTER_TYPE,
        f"Office.{IPP_PRINTER_TYPE}",
        port=631,
        addresses=[socket.inet_aton("192.0.2.7")],
        properties={"ty": "Laser", "empty": None},
        server="office.local.",
    )
    device = found_device(info)
    assert (device.name, device.kind, device.properties) == (
        "Office",
        DeviceKind.PRINTER,
        {"ty": "Laser"},
    )
    assert device.config_line == "printer_url=tcp://192.0.2.7:9100"
    assert "ESC/POS needs the raw port" in device.note


def _port(device: str, vid: int | None, pid: int | None, manufacturer: str | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.manufacturer = vid, pid, manufacturer
    return info


def test_known_scanner_vendors_are_marked() -> None:
    ports = [
        _port("/dev/ttyACM0", 0x0C2E, 0x0B61, "Honeywell"),
        _port("/dev/ttyACM1", 0x05E0, 0x1701, "Symbol"),
        _port("/dev/ttyUSB0", 0x1A86, 0x7523, "QinHeng (CH340)"),
        _port("/dev/ttyS0", None, None, None),
    ]
    infos = list_serial_ports(ports)
    assert [info.likely_scanner for info in infos] == [True, True, False, False]
    assert infos[0].scanner_vendor == "Honeywell (Metrologic)"
    assert infos[0].config_line == "scanner_port=/dev/ttyACM0"


def test_real_enumeration_runs() -> None:
    assert all(isinstance(info, SerialPortInfo) for info in list_serial_ports())
    assert serial_port_info(_port("/dev/x", 0x1EAB, 1, None)).scanner_vendor == "Newland"
