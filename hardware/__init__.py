"""Counter hardware for ACORN: scanners, receipt/label printers, device discovery.

A library: it imports nothing of ours and no MQTT, SQL or web code. The edge agent turns what
it produces (scanned lines, typed codes, printer and scanner status) into protocol messages.
The names below are the public surface; modules are importable but their other names may change.

Importing the package is cheap: each public name is loaded from its module on first use (PEP 562
``__getattr__``), so a process that only parses scans never loads python-escpos, Pillow or
zeroconf. ``from hardware import X`` and ``hardware.X`` work as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hardware.codes import (
        AmazonOrderId,
        Asin,
        CodeKind,
        Fnsku,
        Gs1Code,
        Gtin,
        Invalid,
        ReturnCode,
        ScannedCode,
        Unknown,
        parse_scan,
    )
    from hardware.discovery import (
        DEFAULT_TYPES,
        HUB_TYPE,
        PRINTER_TYPES,
        Advertisement,
        DeviceKind,
        FoundDevice,
        SerialPortInfo,
        advertise,
        browse,
        list_serial_ports,
    )
    from hardware.errors import (
        CodeFormatError,
        ConfigError,
        DiscoveryError,
        HardwareError,
        MissingDependency,
        PrinterError,
        PrinterOffline,
        ScannerError,
        ScannerUnavailable,
    )
    from hardware.printing import (
        ByteSink,
        ItemLabel,
        KanjiMode,
        MemorySink,
        Printer,
        PrinterProfile,
        PrinterStatus,
        Receipt,
        ReceiptItem,
        make_profile,
        printer_from_url,
    )
    from hardware.return_codes import is_valid_return_code, make_return_code, normalise_return_code
    from hardware.scanner import (
        Backoff,
        LineSource,
        MemoryLineSource,
        ScannerState,
        ScannerStatus,
        ScannerSupervisor,
    )
    from hardware.scanner_hid import HidDecoder, KeyEvent, decode_key_events, hid_scanner
    from hardware.scanner_serial import SerialScannerConfig, serial_scanner
    from hardware.scanner_stdin import stdin_scanner

_EXPORTS: dict[str, list[str]] = {
    "hardware.codes": [
        "AmazonOrderId",
        "Asin",
        "CodeKind",
        "Fnsku",
        "Gs1Code",
        "Gtin",
        "Invalid",
        "ReturnCode",
        "ScannedCode",
        "Unknown",
        "parse_scan",
    ],
    "hardware.discovery": [
        "DEFAULT_TYPES",
        "HUB_TYPE",
        "PRINTER_TYPES",
        "Advertisement",
        "DeviceKind",
        "FoundDevice",
        "SerialPortInfo",
        "advertise",
        "browse",
        "list_serial_ports",
    ],
    "hardware.errors": [
        "CodeFormatError",
        "ConfigError",
        "DiscoveryError",
        "HardwareError",
        "MissingDependency",
        "PrinterError",
        "PrinterOffline",
        "ScannerError",
        "ScannerUnavailable",
    ],
    "hardware.printing": [
        "ByteSink",
        "ItemLabel",
        "KanjiMode",
        "MemorySink",
        "Printer",
        "PrinterProfile",
        "PrinterStatus",
        "Receipt",
        "ReceiptItem",
        "make_profile",
        "printer_from_url",
    ],
    "hardware.return_codes": ["is_valid_return_code", "make_return_code", "normalise_return_code"],
    "hardware.scanner": [
        "Backoff",
        "LineSource",
        "MemoryLineSource",
        "ScannerState",
        "ScannerStatus",
        "ScannerSupervisor",
    ],
    "hardware.scanner_hid": ["HidDecoder", "KeyEvent", "decode_key_events", "hid_scanner"],
    "hardware.scanner_serial": ["SerialScannerConfig", "serial_scanner"],
    "hardware.scanner_stdin": ["stdin_scanner"],
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'hardware' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


__all__ = [
    "DEFAULT_TYPES",
    "HUB_TYPE",
    "PRINTER_TYPES",
    "Advertisement",
    "AmazonOrderId",
    "Asin",
    "Backoff",
    "ByteSink",
    "CodeFormatError",
    "CodeKind",
    "ConfigError",
    "DeviceKind",
    "DiscoveryError",
    "Fnsku",
    "FoundDevice",
    "Gs1Code",
    "Gtin",
    "HardwareError",
    "HidDecoder",
    "Invalid",
    "ItemLabel",
    "KanjiMode",
    "KeyEvent",
    "LineSource",
    "MemoryLineSource",
    "MemorySink",
    "MissingDependency",
    "Printer",
    "PrinterError",
    "PrinterOffline",
    "PrinterProfile",
    "PrinterStatus",
    "Receipt",
    "ReceiptItem",
    "ReturnCode",
    "ScannedCode",
    "ScannerError",
    "ScannerState",
    "ScannerStatus",
    "ScannerSupervisor",
    "ScannerUnavailable",
    "SerialPortInfo",
    "SerialScannerConfig",
    "Unknown",
    "advertise",
    "browse",
    "decode_key_events",
    "hid_scanner",
    "is_valid_return_code",
    "list_serial_ports",
    "make_profile",
    "make_return_code",
    "normalise_return_code",
    "parse_scan",
    "printer_from_url",
    "serial_scanner",
    "stdin_scanner",
]
