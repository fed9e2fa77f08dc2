"""The pick list and the packing slip printed on a real TCP printer stand-in, in the store's
language (decoded ESC/POS); an agent with no printer answers 503 saying so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.sync import commands
from hardware.escpos_text import decode
from hardware.sim.printer import PrinterStandIn
from protocol import utc_now
from tests.edge.conftest import NODE, STORE, Running, running_agent
from tests.edge_hw.conftest import hw_settings
from tests.picking.test_edge_picking import pick_command


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterStandIn]:
    with PrinterStandIn(tmp_path / "printed") as stand_in:
        yield stand_in


def test_pick_list_and_packing_slip_print_in_the_store_language(
        tmp_path: Path, printer: PrinterStandIn) -> None:
    with running_agent(hw_settings(tmp_path, printer_url=printer.url), connect=False) as agent:
        assert commands.handle(agent.agent.store, STORE, NODE, pick_command(),
                               utc_now()).result == "applied"
        printed = agent.http.post("/api/pick-tasks/PK-1/print")
        assert printed.status_code == 200, printed.text
        assert printed.json()["printed"] == ["pick_list", "packing_slip"]
        pages = [decode(job.data).text for job in printer.wait_for_jobs(2)]
    assert "PICKLISTE" in pages[0] and "SKU-A" in pages[0] and "2 Stück" in pages[0]
    assert "LIEFERSCHEIN" in pages[1] and "111-0000001-0000001" in pages[1]


def test_no_printer_is_a_clear_503(agent: Running) -> None:
    commands.handle(agent.agent.store, STORE, NODE, pick_command(), utc_now())
    answer = agent.http.post("/api/pick-tasks/PK-1/print")
    assert answer.status_code == 503 and "did not print" in answer.text
    assert agent.http.post("/api/pick-tasks/NOPE/print").status_code == 404
