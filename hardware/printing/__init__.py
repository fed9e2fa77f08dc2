"""Receipt and label printing over ESC/POS: profiles, layouts, byte sinks, status."""

from hardware.printing.layout import (
    ItemLabel,
    Receipt,
    ReceiptItem,
    render_label,
    render_notice,
    render_receipt,
    render_test_page,
)
from hardware.printing.printer import Printer, printer_from_url
from hardware.printing.profiles import (
    CODE_PAGES,
    PAPER_58,
    PAPER_80,
    CodePage,
    KanjiMode,
    PaperProfile,
    PrinterProfile,
    make_profile,
)
from hardware.printing.sinks import (
    ByteSink,
    MemorySink,
    SerialSink,
    StatusReader,
    TcpSink,
    UsbSink,
    open_sink,
)
from hardware.printing.status import PrinterStatus, interpret_status, query_status

__all__ = [
    "CODE_PAGES",
    "PAPER_58",
    "PAPER_80",
    "ByteSink",
    "CodePage",
    "ItemLabel",
    "KanjiMode",
    "MemorySink",
    "PaperProfile",
    "Printer",
    "PrinterProfile",
    "PrinterStatus",
    "Receipt",
    "ReceiptItem",
    "SerialSink",
    "StatusReader",
    "TcpSink",
    "UsbSink",
    "interpret_status",
    "make_profile",
    "open_sink",
    "printer_from_url",
    "query_status",
    "render_label",
    "render_notice",
    "render_receipt",
    "render_test_page",
]
