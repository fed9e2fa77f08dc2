"""The one exception tree of ``hardware``.

    HardwareError              anything this package refuses or cannot do
    ├── ConfigError            a device URL, profile, layout input or option that cannot work
    │                          (also a ValueError: it is always the caller's input at fault)
    ├── MissingDependency      an optional extra is not installed (python-evdev, pyusb)
    ├── CodeFormatError        a value cannot be made into one of our codes (make_return_code);
    │                          also a ValueError.  Parsing a scan NEVER raises: it returns
    │                          ``Invalid`` or ``Unknown`` instead.
    ├── ScannerError           a scanner port could not be opened or stopped answering
    │   └── ScannerUnavailable the port is not there (unplugged, pty closed, stream ended)
    ├── PrinterError           a print job or status query failed on the printer side
    │   └── PrinterOffline     the printer cannot be reached (refused, timed out, port missing,
    │                          connection dropped mid-job): the job may be retried later
    ├── EscposDecodeError      bytes the ESC/POS decoder (``escpos_text``) does not understand;
    │                          also a ValueError
    └── DiscoveryError         mDNS could not browse or advertise

Rules:

- Every error carries a sentence a technician can act on.
- Lower-level errors (``OSError``, ``serial.SerialException``, ``escpos`` and ``zeroconf``
  errors) are translated once, at the adapter that met them, with ``raise ... from err``; nothing
  else escapes the public functions of this package.
- Scanner supervisors never raise into the caller's thread: they publish ``ScannerError`` text
  in their status instead.
"""

from __future__ import annotations


class HardwareError(Exception):
    """Base of everything the hardware package refuses or cannot do."""


class ConfigError(HardwareError, ValueError):
    """A device URL, profile or layout input that cannot work."""


class MissingDependency(HardwareError):
    """An optional extra (python-evdev, pyusb) is not installed."""


class CodeFormatError(HardwareError, ValueError):
    """A value that cannot be encoded as one of our codes."""


class ScannerError(HardwareError):
    """A scanner port failed to open or to read."""


class ScannerUnavailable(ScannerError):
    """The scanner port is not there (unplugged, pty closed, stream ended)."""


class PrinterError(HardwareError):
    """A print job or status query failed on the printer side."""


class PrinterOffline(PrinterError):
    """The printer cannot be reached; the job may be retried later."""


class EscposDecodeError(HardwareError, ValueError):
    """ESC/POS bytes that ``hardware.escpos_text`` does not understand."""


class DiscoveryError(HardwareError):
    """mDNS browsing or advertising failed."""
