"""Orders near their ship-by alert on the desk and in /metrics (a hub of its own, signed in for
real, SQLite and PostgreSQL): a routed package not shipped is listed, scoped to the caller."""

from __future__ import annotations

import pytest

from hub.access.permissions import Role, Scope
from hub.storage.engine import writing
from hub.storage.outbox import ensure_node
from tests.people.conftest import DeskHub, add_user
from tests.routing.test_api import ORDER, routed
from tests.support.browser import CHROMIUM


def test_a_package_near_its_ship_by_alerts_on_the_desk_and_in_metrics(desk: DeskHub) -> None:
    with writing(desk.engine) as tx:
        ensure_node(tx.conn, "s1", "counter-1", tx.now)  # s1 can be sent its pick task
    routed(desk)  # routed to s1 (Springfield), shipping today
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "sue", Role.VIEWER, Scope(region="south"))
    ada, sue = desk.sign_in("ada"), desk.sign_in("sue")

    (due,) = ada.get("/api/shipments/due").json()
    assert (due["order_id"], due["store_id"], due["overdue"]) == (ORDER, "s1", False)
    assert sue.get("/api/shipments/due").json() == []  # s1 is not in the south
    assert ada.get("/api/shipments/due", params={"hours": 0}).status_code == 422
    metrics = ada.get("/metrics").text
    assert "acorn_hub_orders_due_to_ship 1.0" in metrics
    assert 'acorn_hub_shipments_unconfirmed{state="pending"} 0.0' in metrics


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_the_desk_lists_the_orders_due_to_ship(desk: DeskHub) -> None:
    from playwright.sync_api import expect

    from tests.routing.test_desk import sign_in
    from tests.support.browser import chromium_page

    with writing(desk.engine) as tx:
        ensure_node(tx.conn, "s1", "counter-1", tx.now)
    routed(desk)
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    expect.set_options(timeout=15_000)
    with chromium_page() as page:
        sign_in(page, desk, "nora")
        page.get_by_test_id("nav-stock").click()
        row = page.get_by_test_id("ship-due-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-order", ORDER)
        expect(row.get_by_test_id("ship-due-state")).to_have_text("due soon")
