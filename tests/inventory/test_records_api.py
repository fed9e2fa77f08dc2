"""Store records through the API and the CLI: field-level 422s, scope, audit, the time zone kept
in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from hub.access.permissions import Role, Scope
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log, stores
from tests.inventory.cli_helpers import cli
from tests.people.conftest import DeskHub, add_user

RECORD: dict[str, Any] = {
    "address": {"street": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin",
                "country": "DE"},
    "coordinates": {"latitude": "52.517037", "longitude": "13.388860"},
    "manager": {"name": "Greta Maier", "contact": "greta@example.com"},
    "time_zone": "Europe/Berlin",
    "hours": {"mon": [{"opens": "00:00", "closes": "24:00"}]},
    "exceptions": [{"date": "2026-12-24", "closed": True, "note": "Christmas Eve"}],
    "capabilities": {"ship_from_store": True, "pickup": True, "returns": True},
}


def audited(engine: Engine, store: str) -> list[tuple[str, Any, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.before, audit_log.c.after)
                            .where(audit_log.c.action == "store.record_updated",
                                   audit_log.c.entity_id == store).order_by(audit_log.c.seq))
        return [tuple(row) for row in rows]


def test_admins_write_records_and_every_change_is_audited(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    assert ada.get("/api/stores/s1/record").json()["address"] is None  # known, not described
    saved = ada.put("/api/stores/s1/record", json=RECORD)
    assert saved.status_code == 200, saved.text
    got = ada.get("/api/stores/s1/record").json()
    assert got["coordinates"] == {"latitude": "52.517037", "longitude": "13.388860"}
    assert got["exceptions"][0]["note"] == "Christmas Eve" and got["updated_by"] == "ada"
    assert isinstance(got["open_now"], bool)
    closed = {**RECORD, "capabilities": {"ship_from_store": False}, "time_zone": "Europe/Oslo"}
    assert ada.put("/api/stores/s1/record", json=closed).status_code == 200
    trail = audited(desk.engine, "s1")
    assert [actor for actor, _, _ in trail] == ["ada", "ada"]
    assert trail[0][1]["address"] is None and trail[0][2]["address"]["city"] == "Berlin"
    assert trail[1][1]["capabilities"]["ship_from_store"] is True
    assert trail[1][2]["capabilities"]["ship_from_store"] is False
    with reading(desk.engine) as conn:  # one time zone, the one nodes are told
        zone = conn.execute(select(stores.c.time_zone).where(stores.c.store_id == "s1"))
        assert zone.scalar() == "Europe/Oslo"


def test_bad_fields_answer_422_naming_them_and_store_nothing(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    cases = [
        ({**RECORD, "coordinates": {"latitude": "95", "longitude": "0"}}, "coordinates.latitude"),
        ({**RECORD, "time_zone": "Europe/Atlantis"}, "time_zone"),
        ({**RECORD, "hours": {"mon": [{"opens": "18:00", "closes": "09:00"}]}}, "hours.mon.0"),
        ({**RECORD, "manager": {"name": "x"}}, "manager.contact"),
        ({**RECORD, "shoe_size": 42}, "shoe_size"),
    ]
    for body, field in cases:
        answer = ada.put("/api/stores/s2/record", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["field"] == field
    assert audited(desk.engine, "s2") == []
    assert ada.put("/api/stores/bad%20id/record", json=RECORD).status_code == 422
    assert ada.get("/api/stores/nowhere/record").status_code == 404


def test_regional_managers_write_in_their_region_only(desk: DeskHub) -> None:
    add_user(desk.engine, "nora", Role.REGIONAL_MANAGER, Scope(region="north"))
    add_user(desk.engine, "sam", Role.STORE_MANAGER, Scope(store="s1"))
    nora, sam = desk.sign_in("nora"), desk.sign_in("sam")
    assert nora.put("/api/stores/s2/record", json=RECORD).status_code == 200
    assert nora.put("/api/stores/s3/record", json=RECORD).status_code == 403  # south
    assert nora.get("/api/stores/s3/record").status_code == 403
    assert sam.get("/api/stores/s1/record").status_code == 200
    assert sam.put("/api/stores/s1/record", json=RECORD).status_code == 403
    assert sam.get("/api/stores/s2/record").status_code == 403


def test_the_cli_sets_shows_and_imports_records(desk: DeskHub, db_url: str,
                                                tmp_path: Path) -> None:
    code, out, err = cli(db_url, "inventory", "store-record", "set", "s9", "--street",
                         "Broadway 1", "--postal-code", "10012", "--city", "New York",
                         "--country", "US", "--lat", "40.7246", "--lon", "-73.9977",
                         "--time-zone", "America/New_York", "--hours", "mon-fri 09:00-21:00",
                         "--hours", "sun closed", "--closed-on", "2026-12-25", "--pickup")
    assert code == 0, err
    code, out, _ = cli(db_url, "inventory", "store-record", "show", "s9", "--json")
    assert code == 0 and '"postal_code": "10012"' in out and '"pickup": true' in out
    assert '"fri": [' in out and '"sun": []' in out and '"2026-12-25"' in out
    code, _, err = cli(db_url, "inventory", "store-record", "set", "s9", "--lat", "123")
    assert code == 1 and "(coordinates.latitude)" in err
    code, _, err = cli(db_url, "inventory", "store-record", "set", "s9", "--hours", "funday 1-2")
    assert code == 1 and "(hours)" in err
    many = tmp_path / "records.yaml"
    many.write_text("s1: {time_zone: Europe/Oslo}\ns2: {capabilities: {pickup: true}}\n")
    code, out, err = cli(db_url, "inventory", "store-record", "import", str(many))
    assert code == 0 and "2 store records saved" in out, err
    many.write_text("s1: {time_zone: Europe/Oslo}\ns3: {coordinates: {latitude: 1}}\n")
    code, _, err = cli(db_url, "inventory", "store-record", "import", str(many))
    assert code == 1 and "(s3.coordinates.longitude)" in err
    assert [actor.startswith("cli:") for actor, _, _ in audited(desk.engine, "s1")] == [True]
    assert audited(desk.engine, "s3") == []
    code, _, err = cli(db_url, "inventory", "store-record", "show", "ghost")
    assert code == 1 and "no store" in err
