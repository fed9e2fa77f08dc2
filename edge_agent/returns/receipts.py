"""What the drop-off receipt and the item label say: render inputs taken from a return.

Rules:
- a print job keeps its render inputs (plain JSON), taken in the transaction that records the
  fact, so a retry or a reprint prints what was true then; bytes are rendered at print time, for
  the profile of the printer that prints them;
- the code printed as text, QR and Code 128 is the return code (``ids.return_code``), which
  ``POST /api/scans`` and the scanner resolve back to the return;
- time is the UTC instant plus the store's zone and language (``STORE_TIMEZONE``,
  ``STORE_LANGUAGE``); the layout prints it as local time;
- items show their description (else the SKU), quantity and unit price as exact decimals;
- ``hardware.printing`` (python-escpos, Pillow) is imported only when a job is rendered, so an
  agent without a printer never loads it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from edge_agent.returns.models import ReturnView
from edge_agent.settings import EdgeSettings
from edge_agent.storage.ids import return_code
from protocol import format_utc

if TYPE_CHECKING:
    from hardware.printing import ItemLabel, PrinterProfile, Receipt

Payload = dict[str, Any]


def receipt_input(view: ReturnView, settings: EdgeSettings) -> Payload:
    """The render inputs of a return's drop-off receipt."""
    return {
        "store_name": settings.store_name or settings.store_id,
        "return_code": return_code(view.return_id),
        "return_id": view.return_id,
        "created_at": format_utc(view.received_at),
        "time_zone": settings.store_timezone,
        "language": settings.store_language,
        "order_id": view.order_id,
        "items": [{"description": item.description or item.sku, "quantity": item.quantity,
                   "unit_price": format(item.unit_price.amount, "f"),
                   "currency": item.unit_price.currency} for item in view.items],
    }


def label_input(view: ReturnView, settings: EdgeSettings) -> Payload:
    """The render inputs of a return's item label (after its disposition)."""
    first = view.items[0]
    return {
        "return_code": return_code(view.return_id),
        "return_id": view.return_id,
        "grade": view.inspection.grade.value if view.inspection else "",
        "disposition": view.disposition.disposition.value if view.disposition else "",
        "location": view.disposition.location if view.disposition else None,
        "description": first.description or first.sku,
        "language": settings.store_language,
    }


def build_receipt(payload: Payload) -> Receipt:
    """The hardware layout input of a stored receipt payload."""
    from hardware.printing import Receipt, ReceiptItem

    items = tuple(ReceiptItem(item["description"], int(item["quantity"]),
                              Decimal(item["unit_price"]), item["currency"])
                  for item in payload["items"])
    return Receipt(store_name=payload["store_name"], return_id=payload["return_code"],
                   created_at=datetime.fromisoformat(payload["created_at"]),
                   time_zone=payload["time_zone"], language=payload["language"], items=items,
                   order_id=payload.get("order_id"))


def build_label(payload: Payload) -> ItemLabel:
    """The hardware layout input of a stored label payload."""
    from hardware.printing import ItemLabel

    extra = (f"-> {payload['location']}",) if payload.get("location") else ()
    return ItemLabel(return_id=payload["return_code"], grade=payload["grade"] or "-",
                     disposition=payload["disposition"] or "-",
                     description=payload["description"], language=payload["language"],
                     extra_lines=(payload["return_id"], *extra))


def render(kind: str, payload: Payload, profile: PrinterProfile) -> bytes:
    """ESC/POS bytes of a stored job for a printer with ``profile``."""
    from hardware.printing import render_label, render_receipt

    if kind == "receipt":
        return render_receipt(build_receipt(payload), profile)
    return render_label(build_label(payload), profile)


def profile_for(settings: EdgeSettings) -> PrinterProfile:
    """The printer profile the settings describe (paper, code page, kanji mode)."""
    from hardware.printing import make_profile

    return make_profile(settings.printer_paper, settings.printer_code_page,
                        settings.printer_kanji)
