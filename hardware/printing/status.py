"""Printer status over DLE EOT, where silence means "unknown", never "ok".

Rules:

- We ask ``DLE EOT 1`` (printer status) and then ``DLE EOT 4`` (paper roll sensor). A valid
  answer byte has bits 1 and 4 set and bits 0 and 7 clear; anything else is not an answer.
- No answer, or a garbled one, to the printer-status query is ``UNKNOWN``: python-escpos's
  ``paper_status()`` reports plenty of paper when nothing answers, which is why this module
  exists. A sink that cannot read at all (``ByteSink`` without ``query``) is ``UNKNOWN`` too.
- Paper end (bits 5-6 of the paper byte) is ``PAPER_OUT``; the offline bit (bit 3 of the printer
  byte: cover open, paper out, error) is ``OFFLINE``; paper near end (bits 2-3) is ``PAPER_LOW``
  (the printer still prints). A printer that cannot be reached is ``OFFLINE``.
- A printer that answers the first query but not the paper query is ``OK``: it is online, and
  many models have no paper sensor.
"""

from __future__ import annotations

from enum import StrEnum

from hardware.errors import PrinterError, PrinterOffline
from hardware.printing.sinks import ByteSink, StatusReader

DLE_EOT = b"\x10\x04"
QUERY_PRINTER = DLE_EOT + b"\x01"
QUERY_PAPER = DLE_EOT + b"\x04"

_FIXED_MASK, _FIXED_BITS = 0x93, 0x12
_OFFLINE_BIT = 0x08
_PAPER_END_BITS = 0x60
_PAPER_NEAR_END_BITS = 0x0C


class PrinterStatus(StrEnum):
    """What the counter screen shows for a printer."""

    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


def _valid(answer: bytes) -> int | None:
    if len(answer) < 1 or answer[0] & _FIXED_MASK != _FIXED_BITS:
        return None
    return answer[0]


def interpret_status(printer_answer: bytes, paper_answer: bytes) -> PrinterStatus:
    """The status two DLE EOT answers (``b""`` for none) add up to; pure."""
    printer = _valid(printer_answer)
    if printer is None:
        return PrinterStatus.UNKNOWN
    paper = _valid(paper_answer)
    if paper is not None and paper & _PAPER_END_BITS:
        return PrinterStatus.PAPER_OUT
    if printer & _OFFLINE_BIT:
        return PrinterStatus.OFFLINE
    if paper is not None and paper & _PAPER_NEAR_END_BITS:
        return PrinterStatus.PAPER_LOW
    return PrinterStatus.OK


def query_status(sink: ByteSink, timeout: float = 1.0) -> PrinterStatus:
    """Ask the printer behind ``sink`` for its status, waiting at most ``timeout`` per answer."""
    if not isinstance(sink, StatusReader):
        return PrinterStatus.UNKNOWN
    try:
        printer = sink.query(QUERY_PRINTER, timeout)
        paper = sink.query(QUERY_PAPER, timeout) if _valid(printer) is not None else b""
    except PrinterOffline:
        return PrinterStatus.OFFLINE
    except PrinterError:
        return PrinterStatus.UNKNOWN
    return interpret_status(printer, paper)
