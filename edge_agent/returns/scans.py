"""What a scanned line means at the counter, and the sentence staff see (pure, no I/O).

Rules:
- the line is typed by ``hardware.codes.parse_scan``, which never raises;
- our return code (``RT-…`` from a receipt) is looked up as the return it names; every other
  readable code (an Amazon order id, an RMA, a return id, a product code) is looked up as it is,
  since RMAs and order ids of other channels have no format of their own;
- a code that fails its check (a GTIN check digit, an ``RT-`` check character) is never looked up:
  a misread must not find somebody else's return; staff are told what is wrong and to scan again;
- an unreadable line (control characters, bytes that are not text, too long) is reported with
  the reason and never looked up;
- the sentences are in the store's language (``check_words.SCAN``); the kind and value stay codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge_agent.returns.check_words import found_return, scan_text
from edge_agent.returns.models import ScanResult
from edge_agent.storage.ids import return_id_for_code
from hardware.codes import CodeKind, Gtin, Invalid, ScannedCode, Unknown, parse_scan

MAX_LOOKUP = 64  # the API's code length
MAX_RAW = 300  # of a scan line shown on screens (the scanner delivers at most 1024 bytes)

KINDS = {  # the words of each kind of code: check_words.SCAN's keys
    CodeKind.GTIN: "item",
    CodeKind.GS1: "item_gs1",
    CodeKind.FNSKU: "fnsku",
    CodeKind.ASIN: "asin",
    CodeKind.AMAZON_ORDER: "amazon_order",
    CodeKind.RETURN_CODE: "return_code",
}


@dataclass(frozen=True)
class ScanOutcome:
    """A scanned line, typed: what it is, what to look up, what to tell staff."""

    raw: str
    kind: str
    value: str | None
    valid: bool
    lookup: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        """The ``code`` part of a scan event."""
        return {"kind": self.kind, "value": self.value, "valid": self.valid,
                "message": self.message}


def interpret(line: str, language: str = "en") -> ScanOutcome:
    """Type one scanned line and decide what to look it up by; its sentence in ``language``."""
    code = parse_scan(line)
    if isinstance(code, Invalid):
        kind = KINDS.get(code.kind)
        what = scan_text(kind, language) if kind else code.kind.value
        message = scan_text("misread", language, what=what, detail=code.message)
        return ScanOutcome(code.raw, "invalid", None, False, None, message)
    if isinstance(code, Unknown):
        return _unknown(code, language)
    return _known(code, language)


def _known(code: ScannedCode, language: str) -> ScanOutcome:
    assert not isinstance(code, Invalid | Unknown)
    label = code.format if isinstance(code, Gtin) else scan_text(KINDS[code.kind], language)
    lookup = code.value
    if code.kind is CodeKind.RETURN_CODE:
        lookup = return_id_for_code(code.value) or code.value
    return ScanOutcome(code.raw, code.kind.value, code.value, True, lookup[:MAX_LOOKUP],
                       f"{label} {code.value}")


def _unknown(code: Unknown, language: str) -> ScanOutcome:
    text = code.raw.strip()
    readable = text.isprintable() and "\ufffd" not in text and 0 < len(text) <= MAX_LOOKUP
    if readable:  # no format we know, but an RMA or an order id of another channel may match
        return ScanOutcome(code.raw, "unknown", text, True, text,
                           scan_text("code", language, code=text))
    return ScanOutcome(code.raw, "unknown", None, False, None,
                       scan_text("unreadable", language, detail=code.reason))


def summary(outcome: ScanOutcome, result: ScanResult | None, language: str = "en") -> str:
    """One sentence for the counter screen: what the scan found, in ``language``."""
    if result is None:
        return outcome.message
    if result.match == "return":
        first = result.returns[0]
        return found_return(first.return_id, first.state, len(result.returns) - 1, language)
    if result.match == "expected_return" and result.expected_return is not None:
        return scan_text("expected", language, rma=result.expected_return.rma_id)
    return scan_text("nothing", language, scanned=outcome.message)


def lookup_failed(outcome: ScanOutcome, error: object, language: str = "en") -> ScanOutcome:
    """``outcome`` when its look-up failed: nothing to show but why."""
    return ScanOutcome(outcome.raw, outcome.kind, outcome.value, outcome.valid, None,
                       scan_text("lookup_failed", language, error=error))


def scan_event(outcome: ScanOutcome, result: ScanResult | None,
               language: str = "en") -> dict[str, Any]:
    """The data of a ``scan`` event (its ``message`` in ``language``)."""
    return {"raw": outcome.raw[:MAX_RAW], "code": outcome.as_json(),
            "message": summary(outcome, result, language),
            "result": None if result is None else result.model_dump(mode="json")}
