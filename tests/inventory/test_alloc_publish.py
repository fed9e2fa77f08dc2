"""Allocation rules published and versioned through the API and the CLI: seeded defaults,
drafts simulated over a snapshot, 422s naming the field, versions that only grow, audit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from hub.access.permissions import Role
from hub.inventory.allocation import default_rules_text
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log
from tests.inventory.cli_helpers import cli
from tests.people.conftest import DeskHub, add_user

US = "ATVPDKIKX0DER"
V2 = f"""schema_version: 1
version: 2
name: Holiday
marketplaces:
  {US}: {{share_percent: 50, cap: 3}}
"""
STOCK = [
    {"sku": "A", "store": "s1", "on_hand": 10, "category": "toys"},
    {"sku": "B", "store": "s1", "on_hand": 2, "reserved": 1},
]


def published(engine: Engine) -> list[tuple[str, str, object]]:
    with reading(engine) as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.entity_id, audit_log.c.before)
                            .where(audit_log.c.action == "allocation_rules.published")
                            .order_by(audit_log.c.seq))
        return [tuple(row) for row in rows]


def test_drafts_are_simulated_and_publishing_raises_the_version(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "vic", Role.VIEWER)
    ada, vic = desk.sign_in("ada"), desk.sign_in("vic")
    active = vic.get("/api/inventory/rules").json()
    assert active["version"] == 1 and active["yaml"] == default_rules_text()
    draft = ada.post("/api/inventory/rules/draft", json={"yaml": V2, "stock": STOCK}).json()
    assert draft["valid"] is True, draft
    (us,) = [m for m in draft["simulation"]["marketplaces"] if m["marketplace"] == US]
    # default: floor 1, 80 % multi-location → A: 7, B: 0; draft: 50 % capped at 3 → A: 3
    assert (us["units_before"], us["units_after"], us["lowered"]) == (7, 3, 1)
    steps = {s["rule"]: s["units"] for s in us["examples"][0]["after"]["steps"]}
    assert steps == {f"marketplaces.{US}.share_percent": 5, f"marketplaces.{US}.cap": 2}
    stale = ada.post("/api/inventory/rules/draft", json={"yaml": V2.replace("version: 2",
                                                                            "version: 1")})
    assert stale.json()["problems"][0]["field"] == "version"
    assert vic.post("/api/inventory/rules", json={"yaml": V2}).status_code == 403
    bad = ada.post("/api/inventory/rules", json={"yaml": V2.replace("cap: 3", "cap: -3")})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == f"marketplaces.{US}.cap"
    done = ada.post("/api/inventory/rules", json={"yaml": V2, "reason": "holiday"})
    assert done.status_code == 200, done.text
    assert vic.get("/api/inventory/rules").json()["version"] == 2
    again = ada.post("/api/inventory/rules", json={"yaml": V2})
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "version"
    versions = vic.get("/api/inventory/rules/versions").json()
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["reason"] == "holiday"
    trail = published(desk.engine)
    assert [(actor, version) for actor, version, _ in trail] == [("system", "1"), ("ada", "2")]
    assert isinstance(trail[1][2], dict) and trail[1][2]["version"] == 1


def test_the_cli_checks_simulates_and_publishes(desk: DeskHub, db_url: str,
                                                tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(V2)
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,store,on_hand,reserved,category\nA,s1,10,,toys\nB,s1,2,1,\n")
    code, out, err = cli(db_url, "inventory", "rules", "check", str(rules))
    assert code == 0 and "valid (version 2" in out, err
    code, out, err = cli(db_url, "inventory", "rules", "simulate", str(rules), "--stock",
                         str(stock))
    assert code == 0, err
    assert f"{US}: 7 -> 3 units" in out and "A: 7 -> 3" in out
    bad_stock = tmp_path / "bad.csv"
    bad_stock.write_text("sku,store,on_hand\nA,s1,ten\n")
    code, _, err = cli(db_url, "inventory", "rules", "simulate", str(rules), "--stock",
                       str(bad_stock))
    assert code == 1 and "line 2: on_hand 'ten'" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text(V2.replace("share_percent: 50", "share_percent: 50.5.5"))
    code, _, err = cli(db_url, "inventory", "rules", "check", str(broken))
    assert code == 1 and f"marketplaces.{US}.share_percent" in err
    code, out, err = cli(db_url, "inventory", "rules", "publish", str(rules), "--reason", "x")
    assert code == 0 and "version 2 published" in out, err
    code, _, err = cli(db_url, "inventory", "rules", "publish", str(rules))
    assert code == 1 and "(version)" in err and "above the active version 2" in err
    code, out, _ = cli(db_url, "inventory", "rules", "show")
    assert code == 0 and out.startswith("# version 2") and "name: Holiday" in out
    assert [actor.startswith("cli:") for actor, _, _ in published(desk.engine)] == [False, True]
