"""A person decides a package the hub will not send on its own: the second shipment of an order
two stores shipped (held) is dropped or sent again with a corrected tracking number, by a
manager with the store in scope, with a reason, audited; the desk's Stock tab shows the package
with why and sends the decision once (real hub on SQLite and PostgreSQL, two real agents, the
desk in Chromium)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.access.permissions import Role, Scope
from hub.amazon.shipments import unconfirmed_counts
from hub.storage.engine import reading
from hub.storage.tables.picking import package_shipments
from tests.edge.conftest import NODE, STORE, Running
from tests.people.conftest import DeskHub, add_user
from tests.picking.flow_support import send_events
from tests.picking.test_picking_flow import OTHER
from tests.picking.test_shipped_after_withdrawn import (
    pick_and_ship,
    rerouted_while_a_was_offline,
)
from tests.routing.db_support import audits
from tests.support.browser import CHROMIUM


def held_package(desk: DeskHub, agent: Running, other: Running) -> str:
    """Both stores shipped the order: store A's late package is held."""
    rerouted_while_a_was_offline(desk.engine, agent, other)
    pick_and_ship(other, "1ZBBBB0001")
    assert send_events(desk.engine, other, OTHER, NODE).dead == []
    late = pick_and_ship(agent, "1ZLATE0001")
    assert send_events(desk.engine, agent, STORE, NODE).dead == []
    return late


def package(desk: DeskHub, package_id: str) -> tuple[str, str, str | None]:
    with reading(desk.engine) as conn:
        row = conn.execute(select(package_shipments).where(
            package_shipments.c.package_id == package_id)).one()
    return row.confirm_state, row.tracking_number, row.last_error


def test_a_held_package_is_dropped_or_sent_again_by_a_manager(
        desk: DeskHub, agent: Running, other: Running) -> None:
    late = held_package(desk, agent, other)
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "vic", Role.VIEWER)
    add_user(desk.engine, "sam", Role.REGIONAL_MANAGER, Scope(region="elsewhere"))
    ada, vic, sam = desk.sign_in("ada"), desk.sign_in("vic"), desk.sign_in("sam")
    url = f"/api/shipments/{late}/decision"
    drop = {"action": "drop", "reason": "store B's package reached the buyer"}

    assert vic.post(url, json=drop).status_code == 403
    assert sam.post(url, json=drop).status_code == 404  # out of scope: not revealed
    assert ada.post(url, json={"action": "drop", "reason": " "}).status_code == 422
    assert ada.post(url, json={**drop, "tracking_number": "X"}).status_code == 422
    assert ada.post("/api/shipments/NOPE/decision", json=drop).status_code == 404

    answer = ada.post(url, json=drop)
    assert answer.status_code == 200, answer.text
    assert package(desk, late)[0] == "dropped"
    again = ada.post(url, json=drop)
    assert again.status_code == 409 and "dropped" in again.json()["detail"][0]["message"]
    (entry,) = audits(desk.engine, "order.shipment_dropped")
    assert (entry.entity_id, entry.before["confirm_state"], entry.after["confirm_state"],
            entry.reason) == (late, "held", "dropped", drop["reason"])
    with reading(desk.engine) as conn:
        assert unconfirmed_counts(conn)["held"] == 0


def test_a_held_package_sent_again_takes_the_corrected_tracking_number(
        desk: DeskHub, agent: Running, other: Running) -> None:
    late = held_package(desk, agent, other)
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    answer = ada.post(f"/api/shipments/{late}/decision", json={
        "action": "resend", "reason": "a second parcel: the buyer ordered more",
        "tracking_number": "1ZFIXED0001"})
    assert answer.status_code == 200, answer.text
    assert package(desk, late) == ("pending", "1ZFIXED0001", None)
    (entry,) = audits(desk.engine, "order.shipment_resent")
    assert (entry.before["tracking_number"], entry.after["tracking_number"]) == (
        "1ZLATE0001", "1ZFIXED0001")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_the_desk_shows_why_and_drops_the_package_once(
        desk: DeskHub, agent: Running, other: Running) -> None:
    from playwright.sync_api import expect

    from tests.routing.test_desk import sign_in
    from tests.support.browser import chromium_page

    late = held_package(desk, agent, other)
    add_user(desk.engine, "ada", Role.ADMIN)
    expect.set_options(timeout=15_000)
    with chromium_page() as page:
        sign_in(page, desk, "ada")
        page.get_by_test_id("nav-stock").click()
        row = page.get_by_test_id("ship-decide-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-package", late)
        expect(row.get_by_test_id("ship-decide-why")).to_contain_text("shipped twice")
        row.get_by_test_id("ship-drop").click()
        expect(row.get_by_test_id("ship-decide-problem")).to_have_text("Say why first.")
        row.get_by_label("Why").fill("store B's parcel arrived")
        row.get_by_test_id("ship-drop").dblclick()
        expect(page.get_by_test_id("ship-decide-empty")).to_be_visible()
    assert package(desk, late)[0] == "dropped"
    assert len(audits(desk.engine, "order.shipment_dropped")) == 1
