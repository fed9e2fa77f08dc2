"""A printer: one byte sink plus one profile; prints receipts, labels and a test page.

Rules:

- ``printer_from_url`` is the composition point: the URL picks the transport (see ``sinks``),
  the profile says paper, code page and kanji mode (see ``profiles``).
- Printing renders the whole job first, then sends it in one ``write``: a layout error never
  leaves half a receipt in the printer. Failures raise ``PrinterOffline`` (retry later) or
  ``PrinterError``.
- ``status()`` never raises: it is ``ok``, ``paper_low``, ``paper_out``, ``offline`` or
  ``unknown`` (see ``status``). Queueing and retrying jobs belongs to the caller (the edge agent
  keeps the queue in SQLite); do not poll status and print on different threads against a
  single-connection printer.
"""

from __future__ import annotations

from hardware.printing.layout import (
    ItemLabel,
    Receipt,
    render_label,
    render_receipt,
    render_test_page,
)
from hardware.printing.profiles import PrinterProfile
from hardware.printing.sinks import ByteSink, open_sink
from hardware.printing.status import PrinterStatus, query_status


class Printer:
    """A receipt or label printer behind one byte sink."""

    def __init__(self, sink: ByteSink, profile: PrinterProfile | None = None) -> None:
        self.sink = sink
        self.profile = profile or PrinterProfile()

    def print_receipt(self, receipt: Receipt) -> None:
        """Print a customer's drop-off receipt."""
        self.sink.write(render_receipt(receipt, self.profile))

    def print_label(self, label: ItemLabel) -> None:
        """Print an item label."""
        self.sink.write(render_label(label, self.profile))

    def print_test_page(self) -> None:
        """Print a page that proves width, code page, Code 128 and QR."""
        self.sink.write(render_test_page(self.profile))

    def status(self, timeout: float = 1.0) -> PrinterStatus:
        """The printer's status; ``unknown`` when it does not answer."""
        return query_status(self.sink, timeout)


def printer_from_url(url: str, profile: PrinterProfile | None = None) -> Printer:
    """A printer for ``tcp://``, ``serial://``, ``usb://`` or ``memory://`` URLs."""
    return Printer(open_sink(url), profile)
