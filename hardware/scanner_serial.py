"""Serial barcode scanners through pyserial, supervised and reconnecting.

Rules:

- The port is opened with ``serial.serial_for_url``, so a device path (``/dev/ttyACM0``), a
  socat pty link or a pyserial URL (``loop://``, ``socket://``) all work. It is opened
  exclusively where the OS allows: nobody else reads our scanner.
- Bytes are framed into lines by ``LineFramer``: with ``terminator=None`` any run of CR/LF ends a
  line (scanners are set to CR, LF or CRLF); an explicit terminator (e.g. ``b"\\x03"``) splits on
  exactly that. Empty lines are dropped. A line longer than ``max_line`` bytes without a
  terminator is delivered as it is, so the counter sees "too long" instead of nothing.
- Lines are decoded with the configured encoding (``errors="replace"``), then the configured
  prefix and suffix are removed when present. The GS1 separator ``\\x1d`` is kept.
- A missing port (unplugged, pty closed) is ``ScannerUnavailable``; any other failure is
  ``ScannerError``. ``serial_scanner`` wraps the port in a ``ScannerSupervisor`` that reconnects
  by itself.
"""

from __future__ import annotations

import errno
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import serial

from hardware.errors import ScannerError, ScannerUnavailable
from hardware.scanner import Backoff, ScannerStatus, ScannerSupervisor

_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}
_ANY_EOL = re.compile(rb"[\r\n]+")


@dataclass(frozen=True)
class SerialScannerConfig:
    """Where a serial scanner is and how it frames its lines."""

    port: str
    baudrate: int = 9600
    terminator: bytes | None = None  # None: any CR/LF run
    prefix: str = ""
    suffix: str = ""
    encoding: str = "utf-8"
    max_line: int = 1024
    read_timeout: float = 0.05


class LineFramer:
    """Splits a byte stream into lines; pure, no I/O."""

    def __init__(self, terminator: bytes | None = None, max_line: int = 1024) -> None:
        self._terminator = terminator
        self._max_line = max_line
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the complete lines they finish."""
        self._buffer += data
        if self._terminator is None:
            *lines, self._buffer = _ANY_EOL.split(self._buffer)
        else:
            *lines, self._buffer = self._buffer.split(self._terminator)
        if len(self._buffer) > self._max_line:
            lines.append(self._buffer)
            self._buffer = b""
        return [line for line in lines if line]


def clean_line(raw: bytes, config: SerialScannerConfig) -> str:
    """Decode one framed line and strip the configured prefix and suffix."""
    text = raw.decode(config.encoding, errors="replace")
    return text.removeprefix(config.prefix).removesuffix(config.suffix)


class SerialLinePort:
    """An open serial scanner, read as lines (a ``LineSource``)."""

    def __init__(self, port: serial.SerialBase, config: SerialScannerConfig) -> None:
        self._port = port
        self._config = config
        self._framer = LineFramer(config.terminator, config.max_line)
        self._ready: deque[str] = deque()

    def read_line(self, timeout: float) -> str | None:
        """The next line, or None when none is complete within about ``timeout`` seconds."""
        rounds = max(1, round(timeout / self._config.read_timeout))
        for _ in range(rounds):
            if self._ready:
                break
            chunk = self._read_chunk()
            self._ready.extend(clean_line(line, self._config) for line in self._framer.feed(chunk))
        return self._ready.popleft() if self._ready else None

    def close(self) -> None:
        """Close the port; safe to call twice."""
        self._port.close()

    def _read_chunk(self) -> bytes:
        try:
            return bytes(self._port.read(self._port.in_waiting or 1))
        except (serial.SerialException, OSError) as err:
            raise ScannerUnavailable(f"{self._config.port}: scanner went away ({err})") from err


def open_serial_port(config: SerialScannerConfig) -> SerialLinePort:
    """Open the scanner's port, mapping pyserial errors into our tree."""
    try:
        port = serial.serial_for_url(
            config.port,
            baudrate=config.baudrate,
            timeout=config.read_timeout,
            exclusive=True,
        )
    except (serial.SerialException, OSError) as err:
        raise _open_error(config.port, err) from err
    except ValueError as err:
        raise ScannerError(f"{config.port}: bad serial settings ({err})") from err
    return SerialLinePort(port, config)


def _open_error(port: str, err: Exception) -> ScannerError:
    if getattr(err, "errno", None) in _MISSING:
        return ScannerUnavailable(f"{port}: no such port (unplugged?)")
    return ScannerError(f"{port}: cannot open ({err})")


def serial_scanner(
    config: SerialScannerConfig,
    on_scan: Callable[[str], None],
    on_status: Callable[[ScannerStatus], None] | None = None,
    *,
    backoff: Backoff | None = None,
) -> ScannerSupervisor:
    """A supervisor for one serial scanner; call ``start()`` (or use ``with``)."""
    return ScannerSupervisor(
        lambda: open_serial_port(config),
        on_scan,
        on_status,
        name=f"serial:{config.port}",
        backoff=backoff,
    )
