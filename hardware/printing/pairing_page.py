"""The pairing page a store machine with no identity prints: its pairing code, big, for the
technician to enter on the desk (no I/O: ESC/POS bytes out).

Rules: the code is printed as large text and as a QR code; the hub and the expiry (UTC, the
machine has no store time zone yet) are printed as plain lines; control characters are printed
as spaces, as on every ticket (``hardware.printing.layout``).
"""

from __future__ import annotations

from escpos.exceptions import Error as EscposError

from hardware.errors import PrinterError
from hardware.printing.layout import _Ticket
from hardware.printing.profiles import PrinterProfile


def render_pairing_page(code: str, hub: str, expires_utc: str, serial: str,
                        profile: PrinterProfile) -> bytes:
    """The pairing page as ESC/POS bytes for this printer."""
    try:
        ticket = _Ticket(profile)
        ticket.line("ACORN store setup", align="center", bold=True)
        ticket.line("Pairing code", align="center")
        ticket.big(code)
        ticket.line()
        ticket.paragraph("Enter it on the HQ desk: Fleet > Pair a machine, then pick the "
                         "store.")
        ticket.rule()
        ticket.pair("Hub", hub)
        ticket.pair("Valid until (UTC)", expires_utc)
        ticket.pair("Machine", serial)
        ticket.line()
        ticket.qr(code)
        return ticket.finish()
    except EscposError as err:
        raise PrinterError(f"cannot lay out the pairing page: {err}") from err
