"""Fixtures for the counter-hardware tests: a socat pty scanner, a TCP printer stand-in, an agent.

Everything is real: the agent runs in a real uvicorn on loopback with its SQLite file, the scanner
is a pseudo-terminal pair made by socat, the printer a TCP listener that decodes ESC/POS. No
thread or process outlives its test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.settings import EdgeSettings
from hardware.sim.printer import PrinterStandIn
from hardware.sim.scanner import PtyScanner
from tests.edge.conftest import make_settings

SAMPLE_ITEMS = [
    {"sku": "SKU-KETTLE-1", "quantity": 1, "description": "Wasserkocher 1,7 l",
     "unit_price": {"amount": "34.90", "currency": "EUR"}},
    {"sku": "SKU-MUG-SET", "quantity": 2, "description": "Tassen-Set",
     "unit_price": {"amount": "9.95", "currency": "EUR"}},
]


def return_body(**overrides: Any) -> dict[str, Any]:
    """A valid counter return with two items."""
    return {"channel": "pos", "reason": "defective", "items": SAMPLE_ITEMS, **overrides}


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    """A plugged-in pty scanner (socat), unplugged at teardown."""
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (apt-get install socat)")
    pty = PtyScanner(tmp_path / "dev")
    pty.plug()
    try:
        yield pty
    finally:
        pty.unplug()


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterStandIn]:
    """A network printer stand-in on loopback, answering status queries with ``ok``."""
    with PrinterStandIn(tmp_path / "printed") as stand_in:
        yield stand_in


def hw_settings(tmp_path: Path, **overrides: Any) -> EdgeSettings:
    """Settings of a German store in Berlin with fast printer retries, plus ``overrides``."""
    values: dict[str, Any] = {"store_name": "Filiale Mitte", "store_language": "de",
                              "currency": "EUR", "print_retry_seconds": 0.2}
    return make_settings(tmp_path, **(values | overrides))
