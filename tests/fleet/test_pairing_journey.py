"""The pairing-code flow on real processes: ``acorn-edge pair`` on an empty store machine prints a
code on the receipt printer (a TCP stand-in) and shows it on its setup page; a technician types it
on the desk in Chromium and picks the store; the machine becomes the node and connects to a real
Mosquitto over mutual TLS, and the setup page turns into the counter page. The hub serves HTTPS
with a certificate of the fleet CA the machine pinned.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.access.permissions import Role
from hub.storage.engine import make_engine
from tests.fleet.conftest import Fleet
from tests.fleet.https_hub import HttpsHub, https_hub  # noqa: F401  (fixture)
from tests.fleet.test_codes import audited
from tests.fleet.test_journey import plain_env
from tests.hardware.conftest import FakePrinter, fake_printer  # noqa: F401  (fixture)
from tests.people.conftest import PASSWORD, add_user
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.procs import BIN, Proc, answer_of, free_port, wait_for

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")

PRINTED_CODE = re.compile(rb"Pairing code.*?([0-9A-Z]{4}-[0-9A-Z]{4})", re.DOTALL)


def test_a_printed_pairing_code_entered_on_the_desk_makes_the_machine_a_connected_node(
    https_hub: HttpsHub, fleet: Fleet, fake_printer: FakePrinter,  # noqa: F811
    tmp_path: Path,
) -> None:
    engine = make_engine(https_hub.proc.env["ACORN_HUB_DATABASE_URL"])
    try:
        add_user(engine, "tess", Role.TECHNICIAN)
    finally:
        engine.dispose()
    machine = tmp_path / "store-pc"
    machine.mkdir()
    port = free_port()
    command = (f"cd '{machine}' && exec '{BIN}/acorn-edge' pair --hub {https_hub.url} "
               f"--ca-fingerprint {https_hub.fingerprint} --printer-url {fake_printer.url}")
    edge = Proc("edge-pair", ["/bin/sh", "-c", command],
                plain_env() | {"ACORN_EDGE_HTTP_PORT": str(port)}, port, tmp_path / "edge.log")
    expect = sync_api.expect
    expect.set_options(timeout=30_000)
    try:
        edge.start(wait=False)
        [job] = fake_printer.wait_for_jobs(1, timeout=60)
        printed = PRINTED_CODE.search(job)
        assert printed, job
        code = printed.group(1).decode()
        assert https_hub.url.encode() in job  # the page says which hub too

        with chromium_page(1366, 768, ignore_https_errors=True) as setup:
            setup.goto(edge.url)
            expect(setup.get_by_test_id("setup-code")).to_have_text(code)
            expect(setup.get_by_test_id("setup-printed")).to_have_text("printed")

            desk = setup.context.new_page()
            by = desk.get_by_test_id
            desk.goto(f"{https_hub.url}/desk")
            by("username").fill("tess")
            by("password").fill(PASSWORD)
            by("sign-in").click()
            expect(desk.locator("body[data-ready=true]")).to_have_count(1)
            by("nav-fleet").click()
            by("pair-open").click()
            by("pairing-code").fill("ZZZZ-ZZZZ")  # a wrong code first: refused, audited
            by("pairing-store").select_option("store-t")
            by("pairing-submit").click()
            expect(by("pairing-problem")).to_contain_text("not known")
            by("pairing-code").fill(code.lower())
            by("pairing-submit").click()
            expect(by("pairing-result")).to_contain_text("store-t / counter-1")

            # the machine writes its identity, runs the agent, and the tablet moves on
            health = wait_for(lambda: (h := _health(edge)) and h.get("broker_connected") and h,
                              60, "the paired agent connected over mutual TLS")
            assert (health["store_id"], health["node_id"]) == ("store-t", "counter-1")
            expect(setup.get_by_test_id("node-id")).to_have_text("store-t / counter-1")
    finally:
        edge.stop()
    settings = (machine / ".env").read_text()
    assert f'ACORN_EDGE_MQTT_PORT="{fleet.broker.tls_port}"' in settings
    assert "PASSWORD" not in settings
    log_text = (fleet.broker.local.state_dir / "mosquitto.log").read_text()
    assert "as edge.store-t.counter-1" in log_text
    engine = make_engine(https_hub.proc.env["ACORN_HUB_DATABASE_URL"])
    try:
        assert [e.after["reason"] for e in audited(engine, "pairing.refused")] == ["unknown"]
        [approved] = audited(engine, "pairing.approved")
        assert approved.actor == "tess" and approved.entity_id == "store-t/counter-1"
        assert len(audited(engine, "pairing.requested")) == 1
        assert len(audited(engine, "device.enrolled")) == 1
    finally:
        engine.dispose()


def _health(edge: Proc) -> dict[str, object] | None:
    return answer_of(f"{edge.url}/api/health")
