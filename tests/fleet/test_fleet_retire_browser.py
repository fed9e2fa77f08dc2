"""Replace and decommission on the desk's Fleet tab in Chromium, against a hub that enrols onto a
real Mosquitto (both databases): a technician replaces a node's machine after a confirm dialog
with a reason and reads the new machine's code and the old node's lost events; a technician sees
no Decommission button, an admin does and decommissions the store with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.access.permissions import Role
from hub.fleet import identities, pki
from hub.storage.engine import reading
from protocol import make_envelope
from protocol.link import NodeStatus
from tests.fleet.conftest import Fleet, csr_for
from tests.fleet.test_codes import audited, setup_stores
from tests.fleet.test_lifecycle import CN, NODE, STORE, enrolled
from tests.hub.conftest import RunningHub
from tests.hub.helpers import ingest, received
from tests.people.conftest import PASSWORD, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")


def sign_in(page: Any, url: str, username: str) -> None:
    """Sign in to the desk and open the Fleet tab."""
    by = page.get_by_test_id
    page.goto(f"{url}/desk")
    by("username").fill(username)
    by("password").fill(PASSWORD)
    by("sign-in").click()
    sync_api.expect(page.locator("body[data-ready=true]")).to_have_count(1)
    by("nav-fleet").click()


def test_a_machine_replaced_and_a_store_decommissioned_from_the_fleet_page(
    enrol_hub: RunningHub, fleet: Fleet, tmp_path: Path,
) -> None:
    setup_stores(enrol_hub.engine)
    add_user(enrol_hub.engine, "tess", Role.TECHNICIAN)
    add_user(enrol_hub.engine, "ada", Role.ADMIN)
    enrolled(enrol_hub, tmp_path / "node")
    ingest(enrol_hub.engine, *[received(STORE, NODE, seq, f"R-{seq}") for seq in (1, 2, 3)])
    said = NodeStatus(state="online", last_acked_seq=2, outbox_pending=3)  # wrote up to seq 5
    ingest(enrol_hub.engine, make_envelope(STORE, NODE, 0, said))
    url = str(enrol_hub.client.base_url)
    row = f"[data-testid=fleet-row][data-store={STORE}][data-node={NODE}]"
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(1600, 900) as page:
        by = page.get_by_test_id
        sign_in(page, url, "tess")
        node_row = page.locator(row)
        expect(node_row.get_by_test_id("fleet-state")).to_have_text("online")
        expect(page.get_by_test_id("fleet-decommission")).to_have_count(0)  # admins only

        node_row.get_by_test_id("fleet-replace").click()
        expect(by("fleet-action")).to_be_visible()
        expect(page.locator("#fleet-action-title")).to_contain_text(f"{STORE}/{NODE}")
        by("fleet-action-confirm").click()  # no reason: the browser asks for one, nothing sent
        assert by("fleet-action-reason").evaluate("e => e.validity.valueMissing") is True
        by("fleet-action-reason").fill("disk died")
        by("fleet-action-confirm").click()
        result = by("fleet-action-result")
        expect(result).to_contain_text(f"{STORE}/{NODE} revoked")
        expect(result).to_contain_text("Lost events: 2 (after #3)")
        code = result.inner_text().split("new machine: ", 1)[1].split(" ", 1)[0]
        assert len(code) == 14 and code.count("-") == 2, result.inner_text()
        by("fleet-action-cancel").click()
        expect(node_row.get_by_test_id("fleet-state")).to_have_text("revoked")

    with chromium_page(1600, 900) as page:
        by = page.get_by_test_id
        sign_in(page, url, "ada")
        store_cell = page.locator(f"[data-testid=fleet-row][data-store={STORE}]").first
        store_cell.get_by_test_id("fleet-decommission").click()
        expect(page.locator("#fleet-action-title")).to_contain_text("Decommission the store")
        by("fleet-action-reason").fill("store closed")
        by("fleet-action-confirm").click()
        expect(by("fleet-action-result")).to_contain_text(f"{STORE} decommissioned at")
        by("fleet-action-cancel").click()

    with reading(enrol_hub.engine) as conn:
        found = identities.standing(conn, STORE, NODE)
    assert found is not None and found.revoked
    with fleet.broker.local.admin() as broker:
        assert CN not in broker.run([{"command": "listClients"}])[0]["data"]["clients"]
    [replaced] = audited(enrol_hub.engine, "device.replaced")
    assert replaced.actor == "tess"
    [closed] = audited(enrol_hub.engine, "store.decommissioned")
    assert closed.actor == "ada"
    refused = enrol_hub.client.post("/api/fleet/enrol", json={
        "code": code, "csr": csr_for(pki.new_key()), "serial": "SN-2"})
    assert refused.status_code == 403, refused.text  # the new machine's code died with the store
