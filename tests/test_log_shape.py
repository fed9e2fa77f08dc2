"""One log shape: the hub's and the edge's JSON formatters write the same line for the same record.

They share no code (only ``protocol`` is shared), so this test is what keeps them together: every
record goes through a real logger to both formatters at once, the lines must be identical (the
logger name is the record's, so it is the same too), and the shape itself is checked once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edge_agent.logs import JsonFormatter as EdgeFormatter
from hub.logs import JsonFormatter as HubFormatter
from protocol import format_utc


class Lines(logging.Handler):
    """Keeps each formatted line."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def both() -> Iterator[tuple[logging.Logger, Lines, Lines]]:
    """A logger whose records go to the hub's and the edge's formatter alike."""
    logger = logging.getLogger("acorn.test.log_shape")
    hub, edge = Lines(HubFormatter()), Lines(EdgeFormatter())
    logger.addHandler(hub)
    logger.addHandler(edge)
    logger.propagate, logger.level = False, logging.DEBUG
    try:
        yield logger, hub, edge
    finally:
        logger.removeHandler(hub)
        logger.removeHandler(edge)


def strict(line: str) -> dict[str, Any]:
    """The line as JSON, refusing what JSON does not allow (NaN, Infinity)."""
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    loaded: dict[str, Any] = json.loads(line, parse_constant=refuse)
    return loaded


def log_everything(logger: logging.Logger) -> None:
    """Records of every kind the formatters must agree on."""
    logger.info("refund %s approved for %s", "F1", Decimal("12.50"))
    logger.warning("Rückgabe angenommen ✓ — 100 % sicher")
    logger.info("with extras", extra={
        "store_id": "s1", "seq": 5, "ok": True, "nothing": None, "amount": Decimal("1.10"),
        "at": datetime(2026, 11, 26, 9, 15, 30, tzinfo=UTC), "path": Path("/var/lib/acorn"),
        "ratio": float("nan"), "tags": ("a", 1), "nested": {"k": [Decimal("2")]},
        "ts": "an extra named like a fixed key", "msg_id": "m-1"})
    logger.info("uvicorn adds a coloured copy", extra={"color_message": "\x1b[32mhi\x1b[0m"})
    try:
        raise KeyError("R1")
    except KeyError:
        logger.exception("could not apply %s", "R1", extra={"return_id": "R1"})
    logger.debug("where am I", stack_info=True)


def test_the_hub_and_the_edge_write_the_same_line_for_every_record(
    both: tuple[logging.Logger, Lines, Lines],
) -> None:
    logger, hub, edge = both
    log_everything(logger)
    assert len(hub.lines) == 6
    assert hub.lines == edge.lines


def test_the_shape_of_a_line(both: tuple[logging.Logger, Lines, Lines]) -> None:
    logger, hub, _ = both
    log_everything(logger)
    first, accented, extras, coloured, failed, stacked = (strict(line) for line in hub.lines)
    assert list(first) == ["ts", "level", "logger", "msg"]
    assert (first["level"], first["logger"], first["msg"]) == (
        "INFO", "acorn.test.log_shape", "refund F1 approved for 12.50")
    assert accented["msg"] == "Rückgabe angenommen ✓ — 100 % sicher"
    assert list(extras)[4:] == ["store_id", "seq", "ok", "nothing", "amount", "at", "path",
                                "ratio", "tags", "nested", "extra_ts", "msg_id"]
    assert extras["amount"] == "1.10" and extras["ratio"] == "nan"
    assert extras["nested"] == {"k": ["2"]} and extras["tags"] == ["a", 1]
    assert extras["at"] == "2026-11-26 09:15:30+00:00" and extras["extra_ts"].startswith("an ")
    assert extras["ts"].endswith("Z")
    assert "color_message" not in coloured
    assert list(failed)[-2:] == ["return_id", "exc"]
    assert failed["exc"].startswith("Traceback") and "KeyError: 'R1'" in failed["exc"]
    assert stacked["stack"].startswith("Stack (most recent call last)")


@pytest.mark.parametrize("created", [0.0, 1_795_000_000.0, 1_795_000_000.5])
def test_time_is_utc_with_microseconds_and_z_on_both_sides(created: float) -> None:
    record = logging.makeLogRecord({"name": "t", "msg": "m", "levelname": "INFO",
                                    "created": created})
    expected = format_utc(datetime.fromtimestamp(created, UTC))
    assert strict(HubFormatter().format(record))["ts"] == expected
    assert strict(EdgeFormatter().format(record))["ts"] == expected
    assert len(expected) == len("1970-01-01T00:00:00.000000Z")  # whole seconds too
