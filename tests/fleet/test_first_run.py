"""``acorn-edge run`` on a machine with no identity pairs it first: on real processes, an empty
folder and ``acorn-edge run`` (the hub from ``ACORN_EDGE_HUB_URL``, pinned by
``ACORN_EDGE_HUB_CA_FINGERPRINT``) serve the setup page with a code; a technician approves it
through the hub's API; the same process becomes the counter, connected over mutual TLS. And what
"no identity" means: agents configured the old ways are not paired."""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path

import httpx
import pytest

from edge_agent.cli import first_run
from hub.access.permissions import Role
from hub.storage.engine import make_engine
from tests.fleet.conftest import Fleet
from tests.fleet.https_hub import HttpsHub, https_hub  # noqa: F401  (fixture)
from tests.fleet.test_codes import audited, bearer
from tests.fleet.test_journey import plain_env
from tests.fleet.test_pairing_journey import _health
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_post
from tests.support.procs import BIN, Proc, free_port, polling_client, wait_for


@pytest.mark.parametrize(("setting", "value"), [
    ("STORE_ID", "store-1"), ("NODE_ID", "counter-1"), ("MQTT_PASSWORD", "secret"),
    ("MQTT_TLS_CERT_FILE", "/etc/acorn/node.pem")])
def test_an_agent_with_any_identity_setting_is_not_paired(
        setting: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("ACORN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ACORN_EDGE_DATA_DIR", str(tmp_path / "data"))
    assert first_run.needs_pairing(None) is not None  # nothing set: pair
    monkeypatch.setenv(f"ACORN_EDGE_{setting}", value)
    assert first_run.needs_pairing(None) is None
    monkeypatch.delenv(f"ACORN_EDGE_{setting}")
    config = tmp_path / "edge.env"
    config.write_text(f"ACORN_EDGE_{setting}={value}\n")
    assert first_run.needs_pairing(config) is None  # the same in a --config file
    config.write_text("ACORN_EDGE_HTTP_PORT=8090\n")
    first = first_run.needs_pairing(config)
    assert first is not None and first.http_port == 8090
    (tmp_path / "data" / "identity").mkdir(parents=True)
    (tmp_path / "data" / "identity" / "node.pem").write_text("a certificate")
    assert first_run.needs_pairing(config) is None  # a certificate on disk is an identity
    toml = tmp_path / "edge.toml"
    toml.write_text("http_port = 8090\n")
    assert first_run.needs_pairing(toml) is None  # never paired into TOML


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_run_on_an_empty_machine_shows_a_code_and_becomes_the_counter_once_approved(
    https_hub: HttpsHub, fleet: Fleet, tmp_path: Path,  # noqa: F811
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    machine = tmp_path / "store-pc"
    machine.mkdir()
    port = free_port()
    env = plain_env() | {"ACORN_EDGE_HTTP_PORT": str(port), "ACORN_EDGE_HUB_URL": https_hub.url,
                         "ACORN_EDGE_HUB_CA_FINGERPRINT": https_hub.fingerprint}
    command = f"cd '{machine}' && exec '{BIN}/acorn-edge' run"
    edge = Proc("edge-first-run", ["/bin/sh", "-c", command], env, port, tmp_path / "edge.log")
    expect = sync_api.expect
    expect.set_options(timeout=30_000)
    engine = make_engine(https_hub.proc.env["ACORN_HUB_DATABASE_URL"])
    try:
        edge.start(wait=False)
        with chromium_page() as setup:
            wait_for(lambda: _answers(edge.url), 60, "the setup page")
            setup.goto(edge.url)
            code_box = setup.get_by_test_id("setup-code")
            expect(code_box).to_have_text(re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}$"))
            code = code_box.inner_text()
            assert not (machine / ".env").exists()  # nothing written before the approval

            verify = ssl.create_default_context(cafile=str(https_hub.ca_file))
            approved = http_post(f"{https_hub.url}/api/fleet/pairings/approve",
                                 json={"code": code, "store_id": "store-t"},
                                 headers=bearer(engine, Role.TECHNICIAN), verify=verify,
                                 timeout=30)
            assert approved.status_code == 200, approved.text

            health = wait_for(lambda: (h := _health(edge)) and h.get("broker_connected") and h,
                              60, "the paired agent connected over mutual TLS")
            assert (health["store_id"], health["node_id"]) == ("store-t", "counter-1")
            expect(setup.get_by_test_id("node-id")).to_have_text("store-t / counter-1")
            # its start-up self-test reaches the HTTPS hub, verified by the fleet CA it got
            selftest = f"{edge.url}/api/selftest"
            report = wait_for(lambda: (r := polling_client().get(selftest, timeout=5)
                                       .json().get("report")) and r, 60, "the self-test")
            checks = {c["name"]: c["outcome"] for c in report["checks"]}
            assert (checks["hub"], checks["clock"]) == ("pass", "pass"), report
        assert len(audited(engine, "device.enrolled")) == 1
    finally:
        edge.stop()
        engine.dispose()
    settings = (machine / ".env").read_text()
    assert 'ACORN_EDGE_STORE_ID="store-t"' in settings and "PASSWORD" not in settings
    assert (machine / "var" / "edge" / "identity" / "node.key").stat().st_mode & 0o077 == 0
    broker_log = (fleet.broker.local.state_dir / "mosquitto.log").read_text()
    assert "as edge.store-t.counter-1" in broker_log


def _answers(url: str) -> bool:
    try:
        return polling_client().get(f"{url}/api/setup", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
