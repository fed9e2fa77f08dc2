"""Byte sinks: the one seam between ESC/POS bytes and a printer, chosen by URL.

Rules:

- ``ByteSink.write(data)`` sends one whole job. Sinks that can read answers also implement
  ``StatusReader.query(request, timeout)``, returning what the printer answered within the
  timeout (``b""`` when nothing came back: the caller must not take silence for "fine").
- URLs: ``tcp://host[:9100]``, ``serial:///dev/ttyUSB0?baudrate=19200`` (also ``bytesize``,
  ``parity``, ``stopbits``, ``rtscts``, ``xonxoff``), ``usb://VID:PID`` in hex (needs the
  optional pyusb), ``memory://`` (captures the bytes; for tests and hardware-free runs).
- Each job or query opens its own connection and closes it: printers on port 9100 usually serve
  one client at a time, and a stale socket is the commonest "printer hangs" cause.
- Errors are translated once, here, by ``to_printer_error``: unreachable, refused, timed out,
  missing port or a connection dropped mid-job is ``PrinterOffline`` (retry later); any other
  OS, serial, USB or escpos error is ``PrinterError``; settings the transport rejects are
  ``ConfigError``. All keep the original as ``__cause__``.
"""

from __future__ import annotations

import errno
import importlib
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable
from urllib.parse import SplitResult, parse_qsl, urlsplit

import serial
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError

from hardware.errors import ConfigError, MissingDependency, PrinterError, PrinterOffline

DEFAULT_TCP_PORT = 9100
DRAIN_SECONDS = 1.0
_OFFLINE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.ENOENT,
    errno.ENODEV,
    errno.ENXIO,
    errno.EIO,
}


class ByteSink(Protocol):
    """Where print jobs go; the one printer seam."""

    def write(self, data: bytes) -> None:
        """Send one whole job; raise PrinterOffline or PrinterError."""
        ...


@runtime_checkable
class StatusReader(Protocol):
    """A sink that can also read the printer's answers."""

    def query(self, request: bytes, timeout: float) -> bytes:
        """Send ``request``; return what came back within ``timeout`` (``b""`` for nothing)."""
        ...


def to_printer_error(target: str, err: BaseException) -> PrinterError:
    """Translate a socket, serial or escpos error into our tree."""
    if isinstance(err, PrinterError):
        return err
    code = getattr(err, "errno", None)
    if isinstance(err, TimeoutError | ConnectionError | socket.gaierror) or code in _OFFLINE_ERRNOS:
        return PrinterOffline(f"{target}: printer unreachable ({err})")
    if isinstance(err, serial.SerialTimeoutException):
        return PrinterOffline(f"{target}: printer is not accepting data ({err})")
    if isinstance(err, DeviceNotFoundError):
        return PrinterOffline(f"{target}: printer not found ({err})")
    return PrinterError(f"{target}: {type(err).__name__}: {err}")


@contextmanager
def translated_errors(target: str) -> Iterator[None]:
    """Re-raise transport errors as PrinterOffline/PrinterError, bad settings as ConfigError."""
    try:
        yield
    except (OSError, EscposError) as err:
        raise to_printer_error(target, err) from err
    except ValueError as err:
        raise ConfigError(f"{target}: bad settings ({err})") from err


class MemorySink:
    """Captures jobs in memory; answers queries from ``replies``; can pretend to be offline."""

    def __init__(self, replies: Mapping[bytes, bytes] | None = None) -> None:
        self.jobs: list[bytes] = []
        self.replies = dict(replies or {})
        self.offline = False

    @property
    def output(self) -> bytes:
        """Every byte written so far."""
        return b"".join(self.jobs)

    def write(self, data: bytes) -> None:
        """Keep the job, or raise PrinterOffline while ``offline`` is set."""
        self._check_online()
        self.jobs.append(bytes(data))

    def query(self, request: bytes, timeout: float) -> bytes:
        """The canned reply for ``request``, or ``b""``."""
        self._check_online()
        return self.replies.get(request, b"")

    def _check_online(self) -> None:
        if self.offline:
            raise PrinterOffline("memory://: printer is offline")


class TcpSink:
    """A network printer on a raw TCP port (9100)."""

    def __init__(self, host: str, port: int = DEFAULT_TCP_PORT, timeout: float = 5.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.target = f"tcp://{host}:{port}"

    def write(self, data: bytes) -> None:
        """Connect, send the job, half-close, drain what the printer says, close."""
        with translated_errors(self.target), self._connect(self.timeout) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            _drain(sock, DRAIN_SECONDS)

    def query(self, request: bytes, timeout: float) -> bytes:
        """Connect, send ``request``, read the answer or give up after ``timeout``."""
        with translated_errors(self.target), self._connect(min(timeout, self.timeout)) as sock:
            sock.sendall(request)
            sock.settimeout(timeout)
            try:
                return sock.recv(64)
            except TimeoutError:
                return b""

    def _connect(self, timeout: float) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)


def _drain(sock: socket.socket, limit: float) -> None:
    """Read until the printer closes (or ``limit`` passes).

    Closing a socket with unread input (automatic status back) makes Linux send a reset, which
    can throw away the end of a job still in flight; reading first avoids that.
    """
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        pass


class SerialSink:
    """A printer on a serial port (opened per job with pyserial)."""

    def __init__(self, port: str, options: Mapping[str, Any] | None = None) -> None:
        self.port = port
        self.options = dict(options or {})
        self.target = f"serial://{port}"

    def write(self, data: bytes) -> None:
        """Open the port, send the job, wait until it is out, close."""
        with translated_errors(self.target), self._open(5.0) as port:
            port.write(data)
            port.flush()

    def query(self, request: bytes, timeout: float) -> bytes:
        """Send ``request`` and read one answer byte within ``timeout``."""
        with translated_errors(self.target), self._open(timeout) as port:
            port.write(request)
            return bytes(port.read(1))

    def _open(self, timeout: float) -> serial.SerialBase:
        return serial.serial_for_url(
            self.port, timeout=timeout, write_timeout=max(timeout, 5.0), **self.options
        )


class UsbSink:
    """A USB printer through python-escpos's ``Usb`` (needs pyusb)."""

    def __init__(self, vendor_id: int, product_id: int) -> None:
        self.vendor_id, self.product_id = vendor_id, product_id
        self.target = f"usb://{vendor_id:04x}:{product_id:04x}"
        self._usb_class = _import_usb_printer()

    def write(self, data: bytes) -> None:
        """Claim the device, send the job, release it."""
        with translated_errors(self.target):
            printer = self._usb_class(self.vendor_id, self.product_id)
            try:
                printer._raw(data)
            finally:
                printer.close()

    def query(self, request: bytes, timeout: float) -> bytes:
        """Send ``request`` and read the answer (the USB read timeout is the device's)."""
        with translated_errors(self.target):
            printer = self._usb_class(self.vendor_id, self.product_id, timeout=int(timeout * 1000))
            try:
                printer._raw(request)
                return bytes(printer._read())
            finally:
                printer.close()


def _import_usb_printer() -> Any:
    try:
        importlib.import_module("usb.core")
    except ImportError as err:
        raise MissingDependency("USB printers need pyusb: pip install pyusb") from err
    return importlib.import_module("escpos.printer").Usb


def open_sink(url: str) -> ByteSink:
    """The sink a printer URL names, or ConfigError saying what is wrong with the URL."""
    parts = urlsplit(url)
    factory = _SCHEMES.get(parts.scheme)
    if factory is None:
        raise ConfigError(f"printer URL {url!r}: scheme must be one of {', '.join(_SCHEMES)}")
    try:
        return factory(parts)
    except ValueError as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"printer URL {url!r}: {err}") from err


def _tcp(parts: SplitResult) -> ByteSink:
    if not parts.hostname:
        raise ConfigError("tcp:// needs a host, e.g. tcp://192.168.1.50:9100")
    timeout = float(dict(parse_qsl(parts.query)).get("timeout", 5.0))
    return TcpSink(parts.hostname, parts.port or DEFAULT_TCP_PORT, timeout)


_SERIAL_OPTIONS: dict[str, Callable[[str], Any]] = {
    "baudrate": int,
    "bytesize": int,
    "parity": str.upper,
    "stopbits": float,
    "rtscts": lambda v: v.lower() in ("1", "true", "yes"),
    "xonxoff": lambda v: v.lower() in ("1", "true", "yes"),
}


def _serial(parts: SplitResult) -> ByteSink:
    if not parts.path:
        raise ConfigError("serial:// needs a device path, e.g. serial:///dev/ttyUSB0")
    query = dict(parse_qsl(parts.query))
    unknown = set(query) - set(_SERIAL_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown serial options: {', '.join(sorted(unknown))}")
    options = {key: _SERIAL_OPTIONS[key](value) for key, value in query.items()}
    if options.get("stopbits") in (1.0, 2.0):
        options["stopbits"] = int(options["stopbits"])
    return SerialSink(parts.path, options)


def _usb(parts: SplitResult) -> ByteSink:
    vendor, _, product = parts.netloc.partition(":")
    if not vendor or not product:
        raise ConfigError("usb:// needs VID:PID in hex, e.g. usb://04b8:0e15")
    return UsbSink(int(vendor, 16), int(product, 16))


def _memory(parts: SplitResult) -> ByteSink:
    return MemorySink()


_SCHEMES: dict[str, Callable[[SplitResult], ByteSink]] = {
    "tcp": _tcp,
    "serial": _serial,
    "usb": _usb,
    "memory": _memory,
}
