"""Printer transports and status: real loopback listeners, URL parsing, error mapping."""

from __future__ import annotations

import errno
import importlib.util
import os
import socket

import pytest
import serial
from escpos.exceptions import DeviceNotFoundError

from hardware.errors import ConfigError, MissingDependency, PrinterError, PrinterOffline
from hardware.escpos_text import decode
from hardware.printing import (
    ItemLabel,
    MemorySink,
    PrinterProfile,
    PrinterStatus,
    SerialSink,
    TcpSink,
    interpret_status,
    open_sink,
    printer_from_url,
    query_status,
    render_label,
)
from hardware.printing.sinks import to_printer_error
from hardware.printing.status import QUERY_PAPER, QUERY_PRINTER
from tests.hardware.conftest import FakePrinter, SocatPair
from tests.support.ports import free_port

ONLINE, OFFLINE_BIT = b"\x12", b"\x1a"
PAPER_OK, PAPER_NEAR_END, PAPER_END = b"\x12", b"\x1e", b"\x72"


@pytest.mark.parametrize(
    ("printer", "paper", "status"),
    [
        (b"", b"", PrinterStatus.UNKNOWN),
        (b"\xff", PAPER_OK, PrinterStatus.UNKNOWN),  # fixed bits wrong: not an answer
        (ONLINE, PAPER_OK, PrinterStatus.OK),
        (ONLINE, b"", PrinterStatus.OK),
        (ONLINE, PAPER_NEAR_END, PrinterStatus.PAPER_LOW),
        (OFFLINE_BIT, PAPER_END, PrinterStatus.PAPER_OUT),
        (OFFLINE_BIT, PAPER_OK, PrinterStatus.OFFLINE),
    ],
)
def test_interpret_status(printer: bytes, paper: bytes, status: PrinterStatus) -> None:
    assert interpret_status(printer, paper) is status


def test_silent_printer_is_unknown_not_ok(fake_printer: FakePrinter) -> None:
    assert printer_from_url(fake_printer.url).status(timeout=0.2) is PrinterStatus.UNKNOWN


def test_paper_out_printer_says_so() -> None:
    printer = FakePrinter(replies={1: OFFLINE_BIT, 4: PAPER_END})
    try:
        assert printer_from_url(printer.url).status(timeout=2.0) is PrinterStatus.PAPER_OUT
    finally:
        printer.close()


def test_healthy_printer_is_ok() -> None:
    printer = FakePrinter(replies={1: ONLINE, 4: PAPER_OK})
    try:
        assert printer_from_url(printer.url).status(timeout=2.0) is PrinterStatus.OK
        queries = sorted(decode(job).status_queries for job in printer.wait_for_jobs(2))
        assert queries == [[1], [4]]
    finally:
        printer.close()


def test_no_listener_is_offline_and_printing_raises_printer_offline() -> None:
    printer = printer_from_url(f"tcp://127.0.0.1:{free_port()}")
    assert printer.status(timeout=0.2) is PrinterStatus.OFFLINE
    with pytest.raises(PrinterOffline, match="printer unreachable") as caught:
        printer.print_label(ItemLabel("RT-1", "good", "restock"))
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_sink_without_reading_is_unknown() -> None:
    class WriteOnly:
        def write(self, data: bytes) -> None:
            pass

    assert query_status(WriteOnly()) is PrinterStatus.UNKNOWN


def test_memory_sink_status_and_offline() -> None:
    sink = MemorySink(replies={QUERY_PRINTER: ONLINE, QUERY_PAPER: PAPER_NEAR_END})
    assert query_status(sink) is PrinterStatus.PAPER_LOW
    sink.offline = True
    assert query_status(sink) is PrinterStatus.OFFLINE
    with pytest.raises(PrinterOffline):
        sink.write(b"job")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://printer.local", ("printer.local", 9100)),
        ("tcp://10.0.0.5:9101?timeout=2", ("10.0.0.5", 9101)),
    ],
)
def test_tcp_urls(url: str, expected: tuple[str, int]) -> None:
    sink = open_sink(url)
    assert isinstance(sink, TcpSink)
    assert (sink.host, sink.port) == expected


def test_serial_url_options() -> None:
    sink = open_sink("serial:///dev/ttyUSB0?baudrate=19200&parity=e&stopbits=1&rtscts=1")
    assert isinstance(sink, SerialSink)
    assert sink.port == "/dev/ttyUSB0"
    assert sink.options == {"baudrate": 19200, "parity": "E", "stopbits": 1, "rtscts": True}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("lpt://1", "scheme must be one of tcp, serial, usb, memory"),
        ("tcp://", "needs a host"),
        ("tcp://host:99999", "printer URL 'tcp://host:99999'"),
        ("serial://", "needs a device path"),
        ("serial:///dev/ttyS0?speed=9600", "unknown serial options: speed"),
        ("serial:///dev/ttyS0?baudrate=fast", "printer URL"),
        ("usb://04b8", "VID:PID in hex"),
        ("usb://xyz:0202", "printer URL"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_sink(url)


def test_usb_without_pyusb_names_the_extra() -> None:
    if importlib.util.find_spec("usb") is not None:  # pragma: no cover - pyusb installed
        pytest.skip("pyusb is installed")
    with pytest.raises(MissingDependency, match="pip install pyusb"):
        open_sink("usb://04b8:0e15")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), PrinterOffline),
        (TimeoutError("timed out"), PrinterOffline),
        (socket.gaierror(-2, "Name or service not known"), PrinterOffline),
        (BrokenPipeError(errno.EPIPE, "broken pipe"), PrinterOffline),
        (OSError(errno.EHOSTUNREACH, "no route"), PrinterOffline),
        (serial.SerialException(errno.ENOENT, "could not open port"), PrinterOffline),
        (serial.SerialTimeoutException("Write timeout"), PrinterOffline),
        (DeviceNotFoundError("no usb"), PrinterOffline),
        (OSError(errno.EACCES, "permission denied"), PrinterError),
        (serial.SerialException("weird"), PrinterError),
    ],
)
def test_transport_errors_map_into_our_tree(error: Exception, kind: type[PrinterError]) -> None:
    mapped = to_printer_error("tcp://x:9100", error)
    assert type(mapped) is kind
    assert str(mapped).startswith("tcp://x:9100: ")


def test_nothing_escapes_the_sinks_unmapped(tmp_path: os.PathLike[str]) -> None:
    sinks: list[TcpSink | SerialSink] = [
        TcpSink("127.0.0.1", free_port(), timeout=0.5),
        SerialSink(f"{tmp_path}/no-such-port"),
        SerialSink(str(tmp_path)),
    ]
    for sink in sinks:
        with pytest.raises(PrinterError) as caught:
            sink.write(b"\x1b@")
        assert caught.value.__cause__ is not None
        with pytest.raises(PrinterError):
            sink.query(QUERY_PRINTER, 0.1)


def test_label_through_a_serial_printer_on_a_pty(socat_pair: SocatPair) -> None:
    profile = PrinterProfile()
    label = ItemLabel("RT-000C1SE", "defective", "return_to_vendor")
    printer_from_url(f"serial://{socat_pair.scanner}?baudrate=19200", profile).print_label(label)
    expected = render_label(label, profile)
    received = socat_pair.read(len(expected), timeout=5.0)
    assert received == expected
    assert decode(received).barcodes[0].data == "RT-000C1SE"
