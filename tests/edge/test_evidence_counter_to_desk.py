"""A photo taken at the counter reaches the desk's refund story, end to end on real processes:
a real broker, `acorn-hub serve` and `acorn-edge run`; the counter page in headless Chromium with
a fake camera device takes a photo of the open return through getUserMedia; the node keeps it and
sends it over the broker with its events; the hub stores it as evidence (bytes by SHA-256,
audited); finance opens the refund on the desk and sees the photo, byte for byte the one the node
kept."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.access.permissions import Role
from hub.storage.engine import make_engine
from tests.e2e.conftest import System, a_return
from tests.people.conftest import PASSWORD, add_user
from tests.support.broker import TestBroker
from tests.support.browser import BROWSER_MARKS, chromium
from tests.support.http_calls import http_get, http_post
from tests.support.procs import edge_proc, hub_proc, stop_all, wait_for

pytestmark = BROWSER_MARKS
sync_api = pytest.importorskip("playwright.sync_api")
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
def system(broker: TestBroker, tmp_path: Path) -> Iterator[System]:
    """A hub keeping its evidence in the test's folder, and store-a's node."""
    creds = {"hub": broker.hub_creds(), "store-a": broker.node_creds("store-a", "n1")}
    hub = hub_proc(
        tmp_path,
        creds["hub"],
        evidence_dir=str(tmp_path / "evidence"),
        archive_dir=str(tmp_path / "archive"),
    )
    edge = edge_proc(tmp_path, "store-a", "n1", creds["store-a"])
    try:
        hub.start()
        edge.start()
        yield System(broker, hub, edge, edge, tmp_path, creds)
    finally:
        stop_all([hub, edge])


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium with a fake camera (a generated test picture) it may use unasked."""
    with chromium(FAKE_CAMERA) as launched:
        yield launched


def test_a_photo_taken_at_the_counter_reaches_the_desks_refund_story(
    system: System, browser: Any, tmp_path: Path
) -> None:
    made = http_post(f"{system.edge_a.url}/api/returns", json=a_return(1, "750.00"), timeout=10)
    assert made.status_code == 201, made.text
    return_id = made.json()["return_id"]
    expect = sync_api.expect
    expect.set_options(timeout=30_000)

    counter = browser.new_context(
        viewport={"width": 1024, "height": 768}, has_touch=True, timezone_id="UTC"
    ).new_page()
    counter.goto(f"{system.edge_a.url}/")
    expect(counter.locator("body[data-ready=true]")).to_have_count(1)
    by = counter.get_by_test_id
    by("recent-return").filter(has_text=return_id).click()
    expect(counter.locator("#return-id")).to_have_text(return_id)
    by("photo-camera").click()
    expect(by("photo-snap")).to_be_visible()
    counter.wait_for_function("document.querySelector('#photo-video').videoWidth > 0")
    by("photo-snap").click()
    expect(by("photo-thumb")).to_have_count(1)
    kept = http_get(f"{system.edge_a.url}/api/returns/{return_id}/photos", timeout=10).json()
    assert len(kept) == 1 and kept[0]["media_type"] == "image/jpeg"
    photo = http_get(f"{system.edge_a.url}/api/photos/{kept[0]['sha256']}", timeout=10).content
    assert hashlib.sha256(photo).hexdigest() == kept[0]["sha256"]

    # over the broker to the hub, stored as evidence of that return
    (stored,) = wait_for(
        lambda: system.hub_sql("SELECT * FROM evidence_items WHERE return_id = :r", r=return_id),
        30,
        "the photo at the hub",
    )
    assert (stored["sha256"], stored["source"], stored["kind"]) == (
        kept[0]["sha256"],
        "counter",
        "photo",
    )
    blob = tmp_path / "evidence" / stored["sha256"][:2] / stored["sha256"]
    assert blob.read_bytes() == photo
    audited = system.hub_sql(
        "SELECT action FROM audit_log WHERE entity = 'evidence' AND entity_id = :e",
        e=stored["evidence_id"],
    )
    assert [a["action"] for a in audited] == ["evidence.recorded"]

    # finance opens the refund on the desk: the photo is in its story
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        add_user(engine, "fiona", Role.FINANCE)
    finally:
        engine.dispose()
    desk = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    desk.goto(f"{system.hub.url}/desk")
    desk.get_by_test_id("username").fill("fiona")
    desk.get_by_test_id("password").fill(PASSWORD)
    desk.get_by_test_id("sign-in").click()
    expect(desk.locator("body[data-ready=true]")).to_have_count(1)
    desk.locator("tr[data-testid=queue-row][data-store=store-a]").first.get_by_test_id(
        "open-refund"
    ).click()
    picture = desk.get_by_test_id("evidence-photo")
    expect(picture).to_have_count(1)
    expect(desk.get_by_test_id("evidence-item")).to_have_attribute("data-source", "counter")
    loaded = desk.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=evidence-photo]');"
        " return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : 0; }"
    )
    assert loaded.json_value() > 0
    shown = desk.request.get(f"{system.hub.url}{picture.get_attribute('src')}")
    assert shown.body() == photo
