"""``acorn-hub users/stores/policy/audit export`` and the audit trail over HTTP."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from hub.access.permissions import Role
from hub.cli.main import app
from hub.errors import translate
from hub.policy import default_policy_text
from hub.storage.engine import reading, writing
from hub.storage.tables.access import users
from hub.storage.tables.core import api_tokens, audit_log, stores
from tests.people.conftest import PASSWORD, DeskHub, add_user

SECRET = "the admin's long secret"


def run(db_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run the CLI; a hub error becomes stderr as ``acorn-hub`` prints it
    (``hub.cli.main.main``)."""
    result = CliRunner().invoke(
        app, list(args), input=stdin, env={"ACORN_HUB_DATABASE_URL": db_url}
    )
    known = translate(result.exception) if result.exception else None
    if known is not None:
        return 1, result.stdout, f"acorn-hub: error ({known.field}): {known.message}"
    return result.exit_code, result.stdout, result.stderr


def secret_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "secret.txt"
    path.write_text(text + "\n")
    return str(path)


def test_users_add_list_disable_and_passwd(engine: Engine, db_url: str, tmp_path: Path) -> None:
    code, out, err = run(
        db_url,
        "users",
        "add",
        "alice",
        "--role",
        "store_manager",
        "--name",
        "Alice Liddell",
        "--store",
        "s1",
        "--password-file",
        secret_file(tmp_path, SECRET),
    )
    assert code == 0, err
    code, out, _ = run(
        db_url,
        "users",
        "add",
        "bob",
        "--role",
        "finance",
        "--name",
        "Bob",
        stdin=f"{SECRET}\n{SECRET}\n",
    )
    assert code == 0 and SECRET not in out  # the prompt does not echo
    code, out, _ = run(db_url, "users", "list")
    assert out.splitlines() == [
        "alice\tstore_manager\tstore s1\tactive\tAlice Liddell",
        "bob\tfinance\tevery store\tactive\tBob",
    ]
    assert "scrypt" not in out
    refused = run(
        db_url,
        "users",
        "add",
        "carol",
        "--role",
        "store_staff",
        "--name",
        "C",
        "--password-file",
        secret_file(tmp_path, SECRET),
    )
    assert refused[0] == 1 and "(store)" in refused[2]
    short = run(
        db_url,
        "users",
        "add",
        "dan",
        "--role",
        "viewer",
        "--name",
        "D",
        "--password-file",
        secret_file(tmp_path, "short"),
    )
    assert short[0] == 1 and "(password)" in short[2]
    assert run(db_url, "users", "disable", "alice")[0] == 0
    assert (
        run(
            db_url,
            "users",
            "passwd",
            "bob",
            "--password-file",
            secret_file(tmp_path, "a new long secret"),
        )[0]
        == 0
    )
    with reading(engine) as conn:
        rows = {r.username: r for r in conn.execute(select(users))}
    assert rows["alice"].active is False and rows["bob"].password_hash.startswith("scrypt$")
    assert "a new long secret" not in rows["bob"].password_hash


def test_stores_set_and_tokens_that_carry_a_scope(engine: Engine, db_url: str) -> None:
    code, out, _ = run(
        db_url,
        "stores",
        "set",
        "s1",
        "--region",
        "north",
        "--city",
        "oslo",
        "--offline-limit",
        "150.00",
        "--currency",
        "USD",
    )
    assert code == 0 and out.strip() == (
        "store s1: region north, city oslo, offline limit 150.00 USD"
    )
    bad = run(db_url, "stores", "set", "s1", "--offline-limit", "1.234", "--currency", "USD")
    assert bad[0] == 1 and "(offline_limit)" in bad[2]
    code, _, err = run(
        db_url, "token", "create", "--name", "pos-s1", "--role", "store_staff", "--store", "s1"
    )
    assert code == 0, err
    with reading(engine) as conn:
        store = conn.execute(select(stores)).one()
        token = conn.execute(select(api_tokens)).one()
    assert (store.region, store.city, store.offline_limit) == ("north", "oslo", 150)
    assert (token.role, token.store_id, token.username) == ("store_staff", "s1", None)


def test_policy_show_publish_and_versions(engine: Engine, db_url: str, tmp_path: Path) -> None:
    assert run(db_url, "policy", "show")[1] == default_policy_text()
    doc = tmp_path / "v2.yaml"
    doc.write_text(default_policy_text().replace("\nversion: 1 ", "\nversion: 2 ", 1))
    code, out, err = run(db_url, "policy", "publish", str(doc), "--reason", "test")
    assert (code, out.strip()) == (0, "policy version 2 published"), err
    assert [line.split("\t")[0] for line in run(db_url, "policy", "versions")[1].splitlines()] == [
        "2",
        "1",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text(default_policy_text().replace("below: 50.00", "below: 5.001"))
    code, _, err = run(db_url, "policy", "publish", str(bad))
    assert code == 1 and "tiers[0].below" in err


def _tamper(engine: Engine, action: str) -> int:
    with writing(engine) as tx:
        seq = tx.conn.execute(
            select(audit_log.c.seq)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq.desc())
        ).scalar_one()
        tx.conn.execute(
            update(audit_log).where(audit_log.c.seq == seq).values(after={"role": "admin"})
        )
    return int(seq)


def test_audit_verify_catches_a_tampered_policy_or_user_entry(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    run(db_url, "policy", "show")  # seeds the default policy: policy.published
    run(
        db_url,
        "users",
        "add",
        "eve",
        "--role",
        "viewer",
        "--name",
        "Eve",
        "--password-file",
        secret_file(tmp_path, SECRET),
    )
    assert run(db_url, "audit", "verify")[1].strip() == "audit chain intact: 2 entries"
    seq = _tamper(engine, "user.created")
    code, _, err = run(db_url, "audit", "verify")
    assert code == 1 and f"BROKEN at entry {seq}" in err and "altered" in err


def test_audit_verify_catches_a_tampered_policy_entry(engine: Engine, db_url: str) -> None:
    run(db_url, "policy", "show")
    _tamper(engine, "policy.published")
    code, _, err = run(db_url, "audit", "verify")
    assert code == 1 and "BROKEN at entry 1" in err


def test_audit_export_masks_personal_data_unless_an_admin_unmasks(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    add_user(engine, "root", Role.ADMIN)
    add_user(engine, "finn", Role.FINANCE)
    run(
        db_url,
        "users",
        "add",
        "alice",
        "--role",
        "viewer",
        "--name",
        "Alice Liddell",
        "--password-file",
        secret_file(tmp_path, SECRET),
    )
    today = "2000-01-01", "2999-12-31"
    code, out, err = run(db_url, "audit", "export", "--from", today[0], "--to", today[1])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    alice = next(r for r in rows if r["entity_id"] == "alice")
    assert json.loads(alice["after"])["display_name"] == "A*** L***"
    assert "Liddell" not in out
    refused = run(
        db_url,
        "audit",
        "export",
        "--from",
        today[0],
        "--to",
        today[1],
        "--unmask",
        "--user",
        "finn",
        "--password-file",
        secret_file(tmp_path, PASSWORD),
    )
    assert refused[0] == 1 and "not an admin" in refused[2]
    code, out, err = run(
        db_url,
        "audit",
        "export",
        "--from",
        today[0],
        "--to",
        today[1],
        "--format",
        "jsonl",
        "--unmask",
        "--user",
        "root",
        "--password-file",
        secret_file(tmp_path, PASSWORD),
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert any(e["after"] and e["after"].get("display_name") == "Alice Liddell" for e in lines)
    with reading(engine) as conn:
        last = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).first()
    assert last is not None and (last.action, last.actor) == ("audit.exported_unmasked", "root")
    empty = run(db_url, "audit", "export", "--from", "1999-01-01", "--to", "1999-01-31")
    assert empty[1].splitlines() == [
        "seq,at,actor,role,action,entity,entity_id,reason,before,after,hash"
    ]


def test_get_audit_is_for_finance_and_admin_and_masked(desk: DeskHub) -> None:
    add_user(desk.engine, "root", Role.ADMIN)
    add_user(desk.engine, "finn", Role.FINANCE)
    add_user(desk.engine, "vera", Role.VIEWER)
    finn = desk.sign_in("finn")
    page = finn.get("/api/audit", params={"from": "2000-01-01", "to": "2999-01-01"}).json()
    created = [e for e in page["items"] if e["action"] == "user.created"]
    assert [e["after"]["display_name"] for e in created] == ["R***", "F***", "V***"]
    assert finn.get("/api/audit", params={"unmask": True}).status_code == 403
    assert desk.sign_in("vera").get("/api/audit").status_code == 403
    clear = desk.sign_in("root").get("/api/audit", params={"unmask": True}).json()
    assert "Root" in [
        e["after"]["display_name"] for e in clear["items"] if e["action"] == "user.created"
    ]
    none = finn.get("/api/audit", params={"from": "1990-01-01", "to": "1990-01-02"}).json()
    assert none["total"] == 0
