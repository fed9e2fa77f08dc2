"""The monthly archive through the API and ``acorn-hub archive``: finance closes a month, lists,
downloads each file and the manifest, verifies; a regional manager or a viewer is refused; a
second close is 409, a bad month 422; the CLI closes, shows, verifies and exits 1 on a tampered
file, naming it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.cli.main import app
from tests.finance.archive_seed import seed
from tests.hub.conftest import RunningHub, hub_settings, start_hub


@pytest.fixture
def hub(db_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    """A hub whose archive and evidence live in the test's own folder."""
    yield from start_hub(
        hub_settings(db_url, archive_dir=tmp_path / "archive", evidence_dir=tmp_path / "evidence")
    )


def auth(hub: RunningHub, name: str, role: Role, scope: Scope = Scope()) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(hub.engine, name, role, scope=scope)}"}


def test_finance_closes_lists_downloads_and_verifies(hub: RunningHub, tmp_path: Path) -> None:
    seed(hub.engine)
    fin = auth(hub, "fiona", Role.FINANCE)
    client = hub.client
    made = client.post("/api/archive/2026-11", json={}, headers=fin)
    assert made.status_code == 201, made.text
    assert (made.json()["version"], made.json()["files"]) == (1, 10)
    assert client.post("/api/archive/2026-11", json={}, headers=fin).status_code == 409
    listed = client.get("/api/archive", headers=fin).json()
    assert [(a["month"], a["version"], a["closed_by"]) for a in listed] == [("2026-11", 1, "fiona")]
    detail = client.get("/api/archive/2026-11/1", headers=fin).json()
    for item in detail["listing"]:
        got = client.get(f"/api/archive/2026-11/1/files/{item['name']}", headers=fin)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == item["sha256"]
    manifest = client.get("/api/archive/2026-11/1/files/manifest.json", headers=fin)
    assert hashlib.sha256(manifest.content).hexdigest() == detail["manifest_sha256"]
    assert client.get("/api/archive/2026-11/1/verify", headers=fin).json()["ok"] is True
    for outside in ("../../hub.db", "..%2F..%2Fhub.db", "journal/../../../hub.db"):
        assert client.get(f"/api/archive/2026-11/1/files/{outside}", headers=fin).status_code in (
            404,
            422,
        )
    assert client.get("/api/archive/2026-11/9", headers=fin).status_code == 404
    bad = client.post("/api/archive/2026-13", json={}, headers=fin)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "month"


def test_only_unscoped_finance_and_admins_reach_the_archive(hub: RunningHub) -> None:
    seed(hub.engine)
    client = hub.client
    for name, role, scope in (
        ("nora", Role.REGIONAL_MANAGER, Scope()),
        ("vic", Role.VIEWER, Scope()),
        ("fin-north", Role.FINANCE, Scope(region="north")),
    ):
        headers = auth(hub, name, role, scope)
        assert client.get("/api/archive", headers=headers).status_code == 403
        assert client.post("/api/archive/2026-11", json={}, headers=headers).status_code == 403
    admin = auth(hub, "ada", Role.ADMIN)
    assert client.post("/api/archive/2026-11", json={}, headers=admin).status_code == 201


def cli(db_url: str, root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), env={"ACORN_HUB_DATABASE_URL": db_url, "ACORN_HUB_ARCHIVE_DIR": str(root)}
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_closes_shows_and_verifies(hub: RunningHub, db_url: str, tmp_path: Path) -> None:
    seed(hub.engine)
    root = tmp_path / "archive"
    code, out, err = cli(db_url, root, "archive", "close", "--month", "2026-11")
    assert code == 0, err
    assert out.startswith("2026-11 version 1: 10 files")
    code, _, err = cli(db_url, root, "archive", "close", "--month", "2026-11")
    assert code == 1 and "closed already" in err
    code, out, _ = cli(db_url, root, "archive", "show", "--month", "2026-11")
    assert code == 0 and "journal/refunds-2026-11.csv" in out
    assert cli(db_url, root, "archive", "verify", "--month", "2026-11")[0] == 0
    target = root / "2026-11/v1/journal/returns-2026-11.csv"
    target.parent.chmod(0o755)
    target.chmod(0o644)
    target.write_bytes(target.read_bytes() + b"s9,FORGED\r\n")
    code, _, err = cli(db_url, root, "archive", "verify", "--month", "2026-11")
    assert code == 1 and "ALTERED journal/returns-2026-11.csv: altered (size" in err
    code, out, _ = cli(db_url, root, "archive", "list")
    assert code == 0 and out.startswith("2026-11\tv1\t10\t")
    code, _, err = cli(db_url, root, "archive", "verify", "--month", "2026-01")
    assert code == 1 and "no archive" in err
