"""Response shapes of the device routes (printer state and queue, scanner state, print jobs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.timeutil import UtcDatetime

PrinterState = Literal["ok", "paper_low", "paper_out", "offline", "unknown", "error"]
READY_STATES = frozenset({"ok", "paper_low", "unknown"})


class PrinterView(BaseModel):
    """One printer as its worker sees it."""

    role: Literal["receipt", "label"] = Field(description="what it prints")
    url: str = Field(description="its ACORN_EDGE_PRINTER_URL / LABEL_PRINTER_URL")
    status: PrinterState = Field(
        description="ok, paper_low, paper_out, offline; unknown: it answers no status query "
        "(it is still printed to); error: the URL cannot be used (see last_error)")
    queued: int = Field(description="jobs waiting (or being printed)")
    failed: int = Field(description="jobs that could not be printed (reprint to try again)")
    last_error: str | None = Field(description="why the oldest waiting job has not printed")
    checked_at: UtcDatetime | None = Field(description="when the printer was last asked")


class PrinterReport(BaseModel):
    """``GET /api/printer``: the receipt printer's state and queue, and every printer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "configured": True, "status": "offline", "queued": 2,
        "last_error": "tcp://192.168.1.50:9100: printer unreachable ([Errno 111] refused)",
        "printers": [{"role": "receipt", "url": "tcp://192.168.1.50:9100", "status": "offline",
                      "queued": 2, "failed": 0, "last_error": "tcp://192.168.1.50:9100: printer "
                      "unreachable ([Errno 111] refused)", "checked_at": "2025-03-30T12:00:05Z"}],
    }]})

    configured: bool = Field(description="false: no ACORN_EDGE_PRINTER_URL, nothing is printed")
    status: PrinterState | Literal["none"]
    queued: int
    last_error: str | None
    printers: list[PrinterView]


class PrintJobView(BaseModel):
    """A print job just queued."""

    job_id: int
    return_id: str
    kind: Literal["receipt", "label"]
    printer: Literal["receipt", "label"]
    state: Literal["queued", "printing", "done", "failed"]


class ScannerView(BaseModel):
    """The scanner as its supervisor sees it."""

    configured: bool
    url: str
    state: Literal["starting", "connected", "disconnected", "error", "stopped", "none"]
    last_error: str | None
    changed_at: UtcDatetime | None


class DevicesView(BaseModel):
    """``GET /api/devices``: the scanner and the printers."""

    scanner: ScannerView
    printer: PrinterReport
    streams: int = Field(description="counter screens following the live event stream")
