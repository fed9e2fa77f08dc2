"""The monthly archive on a real database (SQLite and PostgreSQL) and real files: a closed month's
manifest verifies and its hash is in the audit chain; one altered, removed or added file is
detected and named; the files cannot be overwritten; a correction is a new version, the old kept;
a month closes by itself the set number of days after its end."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.errors import Conflict, InputError
from hub.finance.archive import store
from hub.finance.archive.sections import produce
from hub.storage import audit_log
from hub.storage.audit_chain import verify as verify_chain
from hub.storage.engine import reading
from tests.finance.archive_seed import CLOSED_AT, nov, seed
from tests.finance.reasons_seed import store_return

FILES = [
    "evidence/evidence-index-2026-11.csv",
    "exports/EXTF_Buchungsstapel_acorn-de_2026-11.csv",
    "exports/journal-acorn-de-2026-11.csv",
    "exports/journal-acorn-us-2026-11.csv",
    "journal/refunds-2026-11.csv",
    "journal/returns-2026-11.csv",
    "reconciliation/SET1-differences.csv",
    "reconciliation/SET1-summary.csv",
    "reconciliation/status.csv",
    "settlements/acct1-SET1-REP1.csv",
]


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def close(engine: Engine, root: Path, **extra: object) -> dict[str, object]:
    return store.close(engine, root, "2026-11", "fiona", "finance", now=CLOSED_AT, **extra)  # type: ignore[arg-type]


def test_a_closed_month_verifies_and_its_manifest_hash_is_in_the_audit_chain(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    record = close(engine, tmp_path)
    folder = tmp_path / "2026-11" / "v1"
    manifest = (folder / "manifest.json").read_bytes()
    listed = json.loads(manifest)["files"]
    assert [f["name"] for f in listed] == FILES
    for item in listed:  # the manifest says what is on disk
        data = (folder / item["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (item["size"], item["sha256"])
    # the month's facts only: R0 (31 October) is not in November's journal
    returns = rows(folder / "journal/returns-2026-11.csv")
    assert [(r["store_id"], r["return_id"], r["line_no"], r["sku"]) for r in returns] == [
        ("s1", "R1", "1", "SKU-A"),
        ("s1", "R1", "2", "SKU-B"),
        ("s2", "R7", "1", "SKU-C"),
    ]
    refunds = rows(folder / "journal/refunds-2026-11.csv")
    assert [(r["refund_id"], r["amount"], r["currency"]) for r in refunds] == [
        ("rf-R1", "30.00", "EUR"),
        ("rf-R7", "12.50", "EUR"),
    ]
    settled = rows(folder / "settlements/acct1-SET1-REP1.csv")
    assert [r["amount"] for r in settled] == ["-20.00", "-16.81", "-3.19"]
    assert settled[0]["transaction_type"] == "summary"
    # the settlement as reconciled, and the exports for the accountants
    (status,) = rows(folder / "reconciliation/status.csv")
    assert (status["settlement_id"], status["deposit"], status["gap"]) == ("SET1", "-20.00",
                                                                          "0.00")
    parts = rows(folder / "reconciliation/SET1-summary.csv")
    assert [p["amount"] for p in parts if p["transaction_type"] == "deposit part"] == ["-20.00"]
    extf = (folder / "exports/EXTF_Buchungsstapel_acorn-de_2026-11.csv").read_bytes()
    assert extf.startswith(b'"EXTF";700;21;"Buchungsstapel";13;') and b"\r\n" in extf
    # the manifest's hash is the recorded one and sits in an intact audit chain
    digest = hashlib.sha256(manifest).hexdigest()
    assert record["manifest_sha256"] == digest
    with reading(engine) as conn:
        entries = audit_log.for_entity(conn, "archive", "2026-11/v1")
        assert verify_chain(audit_log.entries(conn), audit_log.read_tip(conn)).ok
    assert [
        (e.action, e.actor, e.after["manifest_sha256"])
        for e in entries  # type: ignore[index]
    ] == [("archive.closed", "fiona", digest)]
    found = store.verify(engine, tmp_path, "2026-11", 1)
    assert found.ok and found.files == len(FILES), found.problems


def test_archived_files_are_read_only_and_never_overwritten(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    close(engine, tmp_path)
    path = tmp_path / "2026-11/v1/journal/refunds-2026-11.csv"
    assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0
    if os.geteuid() != 0:  # root writes through any mode
        with pytest.raises(PermissionError):
            path.open("ab")
    with pytest.raises(Conflict, match="closed already"):
        close(engine, tmp_path)
    # a record lost but the folder kept: the folder is still refused, not replaced
    from hub.finance.archive import files

    with pytest.raises(Conflict, match="never overwritten"):
        files.write_version(tmp_path, "2026-11/v1", [], b"{}")


def tamper(path: Path, data: bytes | None) -> None:
    path.parent.chmod(0o755)
    if path.exists():
        path.chmod(0o644)
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def test_tampering_with_one_file_is_detected_and_named(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    close(engine, tmp_path)
    folder = tmp_path / "2026-11/v1"
    refunds = folder / "journal/refunds-2026-11.csv"
    text = refunds.read_bytes()
    tamper(refunds, text.replace(b"30.00", b"03.00"))  # same size, other bytes
    found = store.verify(engine, tmp_path, "2026-11", 1)
    assert not found.ok
    assert len(found.problems) == 1
    assert found.problems[0].startswith("journal/refunds-2026-11.csv: altered (SHA-256")
    tamper(refunds, text)
    assert store.verify(engine, tmp_path, "2026-11", 1).ok
    tamper(folder / "settlements/acct1-SET1-REP1.csv", None)
    tamper(folder / "journal/extra.csv", b"x")
    assert store.verify(engine, tmp_path, "2026-11", 1).problems == [
        "settlements/acct1-SET1-REP1.csv: missing",
        "journal/extra.csv: not in the manifest",
    ]


def test_a_rewritten_manifest_is_caught_by_the_record_and_the_audit_chain(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    close(engine, tmp_path)
    folder = tmp_path / "2026-11/v1"
    refunds = folder / "journal/refunds-2026-11.csv"
    forged = refunds.read_bytes().replace(b"30.00", b"99.00")
    tamper(refunds, forged)
    body = json.loads((folder / "manifest.json").read_bytes())
    for item in body["files"]:  # the forger fixes the manifest too
        if item["name"] == "journal/refunds-2026-11.csv":
            item["sha256"] = hashlib.sha256(forged).hexdigest()
    tamper(folder / "manifest.json", json.dumps(body, sort_keys=True, indent=2).encode())
    problems = store.verify(engine, tmp_path, "2026-11", 1).problems
    assert problems[0].startswith("manifest.json: altered")
    assert any(p.startswith("journal/refunds-2026-11.csv: altered") for p in problems)


def test_a_correction_is_a_new_version_and_the_old_one_is_kept(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    first = close(engine, tmp_path)
    with pytest.raises(InputError, match="needs a reason"):
        close(engine, tmp_path, correction=True)
    with pytest.raises(Conflict, match="no correction made"):
        close(engine, tmp_path, correction=True, reason="recheck")
    store_return(
        engine,
        "s2",
        "R8",
        "store",
        "late refund",
        nov(20),
        [("SKU-D", 1)],
        refund=("5.00", "approved"),
    )
    second = close(engine, tmp_path, correction=True, reason="R8 was missed")
    assert (second["version"], second["folder"]) == (2, "2026-11/v2")
    assert second["manifest_sha256"] != first["manifest_sha256"]
    body = json.loads((tmp_path / "2026-11/v2/manifest.json").read_bytes())
    assert (body["corrects"], body["reason"]) == (1, "R8 was missed")
    assert "rf-R8" in (tmp_path / "2026-11/v2/journal/refunds-2026-11.csv").read_text()
    assert "rf-R8" not in (tmp_path / "2026-11/v1/journal/refunds-2026-11.csv").read_text()
    assert store.verify(engine, tmp_path, "2026-11", 1).ok
    assert store.verify(engine, tmp_path, "2026-11", 2).ok
    with reading(engine) as conn:
        assert [(r["version"], r["reason"]) for r in store.archives(conn)] == [
            (1, None),
            (2, "R8 was missed"),
        ]
        entry = audit_log.for_entity(conn, "archive", "2026-11/v2")[0]
    assert (entry.action, entry.reason) == ("archive.corrected", "R8 was missed")


def test_a_month_not_ended_or_misspelt_is_refused(engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with pytest.raises(InputError, match="has not ended"):
        store.close(engine, root, "2026-12", "fiona", "finance", now=CLOSED_AT)
    with pytest.raises(InputError, match="YYYY-MM"):
        store.close(engine, root, "2026-13", "fiona", "finance", now=CLOSED_AT)
    assert not root.exists()


def test_the_same_facts_give_the_same_bytes(engine: Engine) -> None:
    seed(engine)
    with reading(engine) as conn:
        once, twice = produce(conn, "2026-11"), produce(conn, "2026-11")
    assert once == twice and len(once) == len(FILES)


def test_a_failing_section_leaves_no_archive(engine: Engine, tmp_path: Path) -> None:
    seed(engine)

    def broken(_conn: object, _month: str) -> list[object]:
        raise InputError("the section cannot be made")

    with pytest.raises(InputError):
        close(engine, tmp_path, sections=[("broken", broken)])
    with reading(engine) as conn:
        assert store.archives(conn) == []
    assert not (tmp_path / "2026-11").exists()


def test_a_month_closes_by_itself_days_after_its_end(engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    before = datetime(2026, 12, 5, 23, tzinfo=UTC)
    assert store.close_due(engine, tmp_path, 5, now=before) == "2026-10"
    assert store.close_due(engine, tmp_path, 5, now=before) is None
    assert store.close_due(engine, tmp_path, 5, now=datetime(2026, 12, 6, tzinfo=UTC)) == "2026-11"
    with reading(engine) as conn:
        closed = store.archives(conn)
    assert [(r["month"], r["closed_by"]) for r in closed] == [
        ("2026-11", "system:archive"),
        ("2026-10", "system:archive"),
    ]
    assert store.verify(engine, tmp_path, "2026-11", 1).ok
