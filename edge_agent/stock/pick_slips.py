"""What the pick list and the packing slip of a pick task say, in the task's language (pure).

Rules:
- the language is the one the hub sent with the task (the store's); words not known fall back
  to English;
- the pick list names each SKU with the units to pick; the packing slip names the order, the
  ship-by date and the units in the parcel; both carry the package id as a QR code, which the
  counter's scanner reads back;
- ``hardware.printing`` is imported only when a page is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from hardware.printing import PrinterProfile

Row = Mapping[str, Any]

WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {"pick_list": "PICK LIST", "packing_slip": "PACKING SLIP", "order": "Order",
           "package": "Package", "ship_by": "Ship by", "units": "units"},
    "de": {"pick_list": "PICKLISTE", "packing_slip": "LIEFERSCHEIN", "order": "Bestellung",
           "package": "Paket", "ship_by": "Versand bis", "units": "Stück"},
    "zh": {"pick_list": "拣货单", "packing_slip": "装箱单", "order": "订单", "package": "包裹",
           "ship_by": "最晚发货", "units": "件"},
    "ja": {"pick_list": "ピッキングリスト", "packing_slip": "納品書", "order": "注文",
           "package": "荷物", "ship_by": "出荷期限", "units": "点"},
}


def words(language: str) -> dict[str, str]:
    """The slip words of ``language`` (English when it has none)."""
    return WORDS.get(language, WORDS["en"])


def pick_list(task: Row) -> tuple[str, list[tuple[str, str]], str]:
    """The pick list: title, (label, value) lines, the code printed as QR."""
    w = words(task["language"])
    lines = [(w["order"], task["order_id"]), (w["package"], task["package_id"])]
    lines += [(li["sku"], f"{li['quantity']} {w['units']}") for li in task["lines"]]
    return w["pick_list"], lines, task["package_id"]


def packing_slip(task: Row) -> tuple[str, list[tuple[str, str]], str]:
    """The packing slip: title, (label, value) lines, the code printed as QR."""
    w = words(task["language"])
    lines = [(w["order"], task["order_id"])]
    if task.get("ship_by"):
        lines.append((w["ship_by"], str(task["ship_by"])[:10]))
    lines += [(li.get("title") or li["sku"], f"{li['quantity']} {w['units']}")
              for li in task["lines"]]
    return w["packing_slip"], lines, task["package_id"]


def render(page: tuple[str, list[tuple[str, str]], str], profile: PrinterProfile) -> bytes:
    """ESC/POS bytes of one page for a printer with ``profile``."""
    from hardware.printing import render_notice

    title, lines, code = page
    return render_notice(title, lines, code, profile)
