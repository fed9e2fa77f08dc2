"""The exports and the FX report through the API (finance and admins only, files named, bad
input 422) and through ``acorn-hub finance ...`` (files written, bad input exit 1)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
from sqlalchemy import Engine

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from tests.finance.exports_seed import ENTITIES, seed
from tests.hub.conftest import RunningHub
from tests.inventory.cli_helpers import cli


def _get(client: httpx.Client, path: str, token: str) -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_finance_downloads_every_export_and_the_fx_report(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    token = create_token(api_hub.engine, "fin", Role.FINANCE)
    client = api_hub.client
    entities = _get(client, "/api/finance/entities", token).json()
    assert [(e["id"], e["base_currency"], e["oss"], e["datev"]) for e in entities] == [
        ("de", "EUR", True, True),
        ("us", "USD", False, False),
    ]
    datev = _get(client, "/api/finance/exports/datev?entity=de&period=2026-11", token)
    assert datev.status_code == 200, datev.text
    assert datev.headers["content-type"] == "text/csv; charset=windows-1252"
    assert 'filename="EXTF_Buchungsstapel_de_2026-11.csv"' in datev.headers["content-disposition"]
    assert datev.content.startswith(b'"EXTF";700;21;"Buchungsstapel";13;')
    assert datev.content.count(b"\r\n") == 2 + 8
    xlsx = _get(client, "/api/finance/exports/journal?entity=de&period=2026-11&format=xlsx", token)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    oss = _get(client, "/api/finance/exports/oss?entity=de&period=2026-Q4", token)
    assert oss.status_code == 200 and "FR,20,EUR,75.00,15.00,-10.00,-2.00,65.00,13.00" in oss.text
    gains = _get(client, "/api/finance/fx/gains?entity=de", token).json()
    assert gains["months"] == [
        {
            "month": "2026-11",
            "base_currency": "EUR",
            "refunds": 1,
            "at_refund": "50.00",
            "at_settlement": "47.06",
            "gain": "2.94",
        }
    ]
    assert [(r["ref"], r["gain"]) for r in gains["refunds"]] == [("s1/rf-uk", "2.94")]
    table = list(csv.reader(io.StringIO(_get(client, "/api/finance/fx/gains.csv", token).text)))
    assert table == [
        ["month", "base_currency", "refunds", "at_refund", "at_settlement", "gain"],
        ["2026-11", "EUR", "1", "50.00", "47.06", "2.94"],
    ]
    again = client.post("/api/finance/fx/convert", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json() == {"refund": 0, "settlement": 0}


def test_others_are_refused_and_bad_input_is_422_naming_the_field(api_hub: RunningHub) -> None:
    seed(api_hub.engine)
    finance = create_token(api_hub.engine, "fin", Role.FINANCE)
    manager = create_token(api_hub.engine, "sam", Role.STORE_MANAGER, scope=Scope(store="s1"))
    client = api_hub.client
    assert (
        _get(client, "/api/finance/exports/datev?entity=de&period=2026-11", manager).status_code
        == 403
    )
    assert _get(client, "/api/finance/fx/gains", manager).status_code == 403
    assert client.get("/api/finance/entities").status_code == 401
    for path, field in (
        ("/api/finance/exports/datev?entity=de&period=2026-Q4", "period"),
        ("/api/finance/exports/datev?entity=us&period=2026-11", "entity"),
        ("/api/finance/exports/oss?entity=us&period=2026-11", "entity"),
        ("/api/finance/exports/journal?entity=zz&period=2026-11", "entity"),
        ("/api/finance/exports/journal?entity=de&period=2026-13", "period"),
    ):
        answer = _get(client, path, finance)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"][0]["field"] == field, path
    bad = _get(client, "/api/finance/fx/gains?month_from=2026-1", finance)
    assert bad.status_code == 422
    auth = {"Authorization": f"Bearer {finance}"}
    shown = _get(client, "/api/finance/entities/document", finance).json()
    assert shown["version"] == 2 and "Test Handel GmbH" in shown["yaml"]
    same = client.put("/api/finance/entities/document", json={"yaml": shown["yaml"]}, headers=auth)
    assert same.status_code == 422 and "higher" in same.json()["detail"][0]["message"]
    newer = shown["yaml"].replace("version: 2", "version: 3")
    assert (
        client.put(
            "/api/finance/entities/document",
            json={"yaml": newer},
            headers={"Authorization": f"Bearer {manager}"},
        ).status_code
        == 403
    )
    done = client.put("/api/finance/entities/document", json={"yaml": newer}, headers=auth)
    assert done.status_code == 200 and done.json()["version"] == 3


def test_the_cli_publishes_entities_converts_and_writes_each_export(
    engine: Engine, tmp_path: Path
) -> None:
    db = engine.url.render_as_string(hide_password=False)
    seed(engine)
    newer = tmp_path / "entities.yaml"
    newer.write_text(ENTITIES.replace("version: 2", "version: 3"), "utf-8")
    code, out, err = cli(db, "finance", "entities", "publish", str(newer))
    assert code == 0, err
    assert "version 3" in out
    code, out, _ = cli(db, "finance", "fx", "convert")
    assert code == 0 and out.strip().endswith("6 amounts converted (refund 4, settlement 2)")
    target = tmp_path / "datev.csv"
    code, out, err = cli(
        db,
        "finance",
        "export",
        "datev",
        "--entity",
        "de",
        "--period",
        "2026-11",
        "--out",
        str(target),
    )
    assert code == 0, err
    assert f"{target}: 8 bookings" in out
    assert target.read_bytes().startswith(b'"EXTF";700;21;')
    code, out, err = cli(
        db,
        "finance",
        "export",
        "journal",
        "--entity",
        "de",
        "--period",
        "2026-11",
        "--format",
        "xlsx",
        "--out",
        str(tmp_path / "j.xlsx"),
    )
    assert code == 0 and (tmp_path / "j.xlsx").read_bytes()[:2] == b"PK"
    code, out, _ = cli(db, "finance", "fx", "gains", "--entity", "de", "--csv")
    assert code == 0 and "2026-11,EUR,1,50.00,47.06,2.94" in out
    code, _, err = cli(db, "finance", "export", "oss", "--entity", "us", "--period", "2026-Q4")
    assert code == 1 and "One-Stop-Shop" in err
    code, _, err = cli(db, "finance", "export", "datev", "--entity", "de", "--period", "11/2026")
    assert code == 1 and "period" in err
    refused = tmp_path / "bad.yaml"
    refused.write_text("version: 9\nname: x\nentities: []\n", "utf-8")
    code, _, err = cli(db, "finance", "entities", "publish", str(refused))
    assert code == 1 and "entities" in err
