"""The fleet page's self-test columns and their alerts (clock, disk) in the API and /metrics, and
the store settings edited on it (``PATCH /api/fleet/stores/{store}/settings``): 422 per field,
scope, audit, and the store config document that carries them — on both databases.

Nodes are seeded as ingest stores them (``tests.fleet.seed_nodes``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from hub.access import pins
from hub.fleet.alerts import NodeFacts, Thresholds, alerts_of
from hub.storage.tables.core import audit_log, stores
from protocol import StoreConfig, decode, utc_now
from tests.fleet.seed_nodes import seed_node
from tests.fleet.test_fleet_page_api import by_key, fleet, fleet_desk  # noqa: F401  (fixture)
from tests.hub.conftest import db_url  # noqa: F401  (fixture)
from tests.people.conftest import DeskHub
from tests.support.http_calls import http_get

GB = 1_000_000_000


def test_self_test_columns_and_the_clock_and_disk_alerts(fleet_desk: DeskHub) -> None:  # noqa: F811
    now = utc_now()
    seed_node(fleet_desk.engine, "s1", "n1", online=True, last_seen=now,
              clock_offset_seconds=-300.5, disk_free_bytes=200_000_000, selftest_at=now,
              selftest_passed=False, selftest_failing=["clock", "disk"])
    seed_node(fleet_desk.engine, "s1", "n2", online=True, last_seen=now,
              clock_offset_seconds=119.0, disk_free_bytes=5 * GB, selftest_at=now,
              selftest_passed=True, selftest_failing=[])
    rows = by_key(fleet(fleet_desk, "tech"))
    bad, good = rows[("s1", "n1")], rows[("s1", "n2")]
    assert (bad["clock_offset_seconds"], bad["disk_free_bytes"]) == (-300.5, 200_000_000)
    assert bad["selftest_passed"] is False and bad["selftest_failing"] == ["clock", "disk"]
    assert bad["selftest_at"] is not None and bad["alerts"] == ["clock", "disk"]
    assert good["alerts"] == [] and good["selftest_passed"] is True
    assert [(r["store_id"], r["node_id"]) for r in fleet(fleet_desk, "tech", alert="clock")
            ["items"]] == [("s1", "n1")]
    by_clock = fleet(fleet_desk, "tech", sort="clock", order="desc")["items"]
    assert [r["node_id"] for r in by_clock][:2] == ["n1", "n2"]

    text = fleet_desk.sign_in("boss").get("/metrics").text
    assert 'acorn_hub_fleet_alerts{alert="clock"} 1.0' in text
    assert 'acorn_hub_fleet_alerts{alert="disk"} 1.0' in text
    assert 'acorn_hub_fleet_alerts{alert="offline"} 0.0' in text


def test_clock_and_disk_alerts_are_pure_and_both_ways() -> None:
    now = utc_now()
    limits = Thresholds(timedelta(minutes=10), timedelta(minutes=30), timedelta(days=3),
                        clock_over=120.0, disk_under=GB)

    def node(offset: float | None, free: int | None) -> NodeFacts:
        return NodeFacts(True, now, None, None, False, clock_offset=offset, disk_free=free)
    assert alerts_of(node(120.0, GB), now, limits) == []
    assert alerts_of(node(-120.1, GB - 1), now, limits) == ["clock", "disk"]
    assert alerts_of(node(None, None), now, limits) == []  # an older node: no self-test


def patch(client: httpx.Client, store: str, **body: Any) -> httpx.Response:
    return client.patch(f"/api/fleet/stores/{store}/settings", json=body)


def test_store_settings_are_checked_field_by_field(fleet_desk: DeskHub) -> None:  # noqa: F811
    tech = fleet_desk.sign_in("tech")
    for body, field in (({"language": "fr"}, "language"), ({"printer_paper": "72mm"},
                        "printer_paper"), ({"time_zone": "Mars/Olympus"}, "time_zone"),
                        ({"offline_refund_limit": {"amount": "-1", "currency": "EUR"}},
                         "offline_limit"), ({"colour": "red"}, "colour")):
        answer = patch(tech, "s1", **body)
        assert answer.status_code == 422, answer.text
        assert field in [d["field"].split(".")[0] for d in answer.json()["detail"]], answer.text
    assert patch(tech, "nowhere", language="de").status_code == 404
    assert patch(fleet_desk.sign_in("tech-north"), "s3", language="de").status_code == 403
    assert patch(fleet_desk.sign_in("viewer"), "s1", language="de").status_code == 403
    with fleet_desk.engine.connect() as conn:  # nothing refused was written
        row = conn.execute(select(stores).where(stores.c.store_id == "s1")).one()
    assert (row.language, row.time_zone, row.printer_paper) == (None, None, None)


def test_a_settings_edit_is_audited_and_goes_into_the_store_config(fleet_desk: DeskHub) -> None:  # noqa: F811
    answer = patch(fleet_desk.sign_in("tech-north"), "s1", language="de",
                   time_zone="Europe/Berlin", printer_paper="58mm",
                   offline_refund_limit={"amount": "80.00", "currency": "EUR"})
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert (saved["language"], saved["time_zone"], saved["printer_paper"]) == (
        "de", "Europe/Berlin", "58mm")
    assert saved["offline_refund_limit"] == {"amount": "80.00", "currency": "EUR"}
    with fleet_desk.engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "store.updated",
                                                     audit_log.c.actor == "tech-north")).one()
    assert entry.entity_id == "s1" and entry.before["language"] is None
    assert entry.after["language"] == "de" and entry.after["printer_paper"] == "58mm"

    settings = {"language": "de", "time_zone": "Europe/Berlin", "printer_paper": "58mm"}
    document = pins.store_config("s1", 4, utc_now(), None, [], None, settings)
    config = decode(pins.encode_config(document)).body
    assert isinstance(config, StoreConfig)
    assert (config.language, config.time_zone, config.printer_paper) == ("de", "Europe/Berlin",
                                                                         "58mm")
    # a store without settings keeps the document (and its content hash) it had before
    bare = pins.store_config("s2", 1, utc_now(), None, [], None,
                             dict.fromkeys(settings))
    assert pins.content_hash(bare) == pins.content_hash(
        pins.store_config("s2", 1, utc_now(), None, [], None))


def test_the_hub_tells_its_time_without_a_sign_in(fleet_desk: DeskHub) -> None:  # noqa: F811
    before = utc_now()
    answer = http_get(f"{fleet_desk.url}/api/fleet/time")
    assert answer.status_code == 200
    told = datetime.fromisoformat(answer.json()["now"])
    assert before <= told <= utc_now()
