"""The Fleet tab in Chromium (a hub in-process, both databases): the self-test columns and their
alerts, a store's settings edited in the dialog (a bad time zone refused by name, then saved and
audited), and a node rotated and revoked through the confirm dialog (a reason required)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.storage.tables.core import audit_log, stores
from protocol import utc_now
from tests.fleet.seed_nodes import seed_cert, seed_node
from tests.fleet.test_fleet_page_api import fleet_desk  # noqa: F401  (fixture)
from tests.hub.conftest import db_url  # noqa: F401  (fixture)
from tests.people.conftest import PASSWORD, DeskHub
from tests.support.browser import BROWSER_MARKS, chromium_page

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
ROW = "[data-testid=fleet-row][data-store=s1][data-node=n1]"


def test_self_test_columns_settings_edit_rotate_and_revoke(fleet_desk: DeskHub) -> None:  # noqa: F811
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=True, last_seen=now,
              clock_offset_seconds=-300.0, disk_free_bytes=200_000_000, selftest_at=now,
              selftest_passed=False, selftest_failing=["clock", "disk"])
    seed_cert(fleet_desk.engine, "s1", "n1", now + timedelta(days=6))
    expect = sync_api.expect
    expect.set_options(timeout=15_000)
    with chromium_page(1600, 900) as page:
        by = page.get_by_test_id
        page.goto(f"{fleet_desk.url}/desk")
        by("username").fill("tech-north")
        by("password").fill(PASSWORD)
        by("sign-in").click()
        expect(page.locator("body[data-ready=true]")).to_have_count(1)
        by("nav-fleet").click()
        row = page.locator(ROW)
        expect(row.get_by_test_id("fleet-clock")).to_have_text("5 min behind")
        expect(row.get_by_test_id("fleet-disk")).to_have_text("0.2 GB")
        expect(row.get_by_test_id("fleet-selftest")).to_have_attribute("data-passed", "false")
        expect(row.get_by_test_id("fleet-selftest")).to_contain_text("failing: clock, disk")
        expect(row.locator("[data-alert=clock]")).to_have_text("clock off")
        expect(row.locator("[data-alert=disk]")).to_have_text("disk low")

        # the store's settings: a bad zone is refused by name, nothing saved; then saved
        row.get_by_test_id("fleet-edit-settings").click()
        expect(by("fleet-settings")).to_be_visible()
        by("fleet-set-language").select_option("de")
        by("fleet-set-paper").select_option("58mm")
        by("fleet-set-zone").fill("Mars/Olympus")
        by("fleet-settings-save").click()
        expect(by("fleet-settings-problem")).to_contain_text("time_zone")
        expect(by("fleet-settings")).to_be_visible()
        by("fleet-set-zone").fill("Europe/Oslo")
        by("fleet-settings-save").click()
        expect(by("fleet-settings")).to_be_hidden()
        expect(by("toast")).to_contain_text("Settings of s1 saved")
        with fleet_desk.engine.connect() as conn:
            saved = conn.execute(select(stores).where(stores.c.store_id == "s1")).one()
            actors = conn.execute(select(audit_log.c.actor).where(
                audit_log.c.action == "store.updated", audit_log.c.entity_id == "s1")).all()
        assert (saved.language, saved.printer_paper, saved.time_zone) == ("de", "58mm",
                                                                         "Europe/Oslo")
        assert ("tech-north",) in actors
        row.get_by_test_id("fleet-edit-settings").click()  # the dialog shows what is pushed now
        expect(by("fleet-set-zone")).to_have_value("Europe/Oslo")
        by("fleet-settings-cancel").click()

        # rotate: confirmed, a new enrolment code is shown
        row.get_by_test_id("fleet-rotate").click()
        expect(by("fleet-action")).to_be_visible()
        by("fleet-action-confirm").click()
        expect(by("fleet-action-result")).to_contain_text("Enrolment code")
        by("fleet-action-cancel").click()

        # revoke: a reason is required; the hub revokes (this hub has no broker to tell, and
        # says so)
        row.get_by_test_id("fleet-revoke").click()
        by("fleet-action-confirm").click()
        expect(by("fleet-action-problem")).to_have_text("")
        assert by("fleet-action-reason").evaluate("e => e.validity.valueMissing") is True
        by("fleet-action-reason").fill("stolen from the counter")
        by("fleet-action-confirm").click()
        expect(by("fleet-action-problem")).to_contain_text("is revoked at the hub")
        by("fleet-action-cancel").click()
        expect(row.get_by_test_id("fleet-state")).to_have_text("revoked")
    with fleet_desk.engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action.like("%revoke%"))).first()
    assert entry is not None and entry.actor == "tech-north"
