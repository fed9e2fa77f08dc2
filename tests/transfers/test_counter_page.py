"""The counter page's transfers in headless Chromium on a phone (a German store, offline): a
transfer to ship shows its lines and ships with one tap (twice tapped, shipped once); a transfer
to receive shows a field per line prefilled with what was shipped; booking one unit short says
the difference, in the store's language, and the ledger holds what arrived."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.stock.models import CountLine, CountRequest
from edge_agent.sync import commands
from protocol import StockState
from protocol import utc_now as now
from tests.edge.conftest import NODE, STORE, Running, make_settings, running_agent
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.transfers.test_edge_tasks import command, task

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def german(tmp_path: Path) -> Iterator[Running]:
    with running_agent(make_settings(tmp_path, store_language="de"), connect=False) as run:
        yield run


def test_staff_ship_and_receive_transfers_at_the_counter(german: Running) -> None:
    agent = german.agent
    agent.stock.record_count(CountRequest(count_id="c1", lines=[
        CountLine(sku="SKU-A", quantity=5), CountLine(sku="SKU-B", quantity=5)]))
    commands.handle(agent.store, STORE, NODE, command(task("send", {"SKU-A": 2}, "TR1"), 1),
                    now())
    commands.handle(agent.store, STORE, NODE,
                    command(task("receive", {"SKU-B": 3}, "TR2"), 2), now())
    expect: Any = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(width=390, height=844, has_touch=True) as page:
        page.goto(f"{german.url}/")
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        send = page.locator("[data-testid=transfer][data-role=send]")
        expect(send).to_contain_text("Versenden an store-elsewhere: 2 × SKU-A")
        send.get_by_test_id("transfer-ship").dblclick()
        expect(page.get_by_test_id("transfer-message")).to_contain_text("TR1 versendet")
        expect(send).to_have_count(0)
        receive = page.locator("[data-testid=transfer][data-role=receive]")
        expect(receive).to_contain_text("Empfangen von store-elsewhere: 3 × SKU-B")
        arrived = receive.get_by_test_id("transfer-arrived")
        expect(arrived).to_have_value("3")
        arrived.fill("2")
        receive.get_by_test_id("transfer-receive").click()
        expect(page.get_by_test_id("transfer-message")).to_contain_text(
            "TR2 gebucht, 1 Stück Abweichung")
        expect(page.get_by_test_id("transfer")).to_have_count(0)
    levels_a = agent.stock.stock("SKU-A").levels
    levels_b = agent.stock.stock("SKU-B").levels
    assert (levels_a[StockState.SELLABLE], levels_a[StockState.IN_TRANSIT]) == (3, 2)
    assert (levels_b[StockState.SELLABLE], levels_b[StockState.IN_TRANSIT]) == (7, 0)
