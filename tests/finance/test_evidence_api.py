"""Evidence through the API on a real database and real files: a document attached at the desk
is stored under its SHA-256 with its hash in the audit trail and read back byte for byte; sizes
and types are checked on the content (413, 415), scope and rights hold (403, 404); evidence past
its retention is purged (audited) and the bytes another attachment still needs are kept; the
archive's evidence index lists the month's attachments."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.finance.archive import store as archive
from hub.finance.evidence import store as evidence
from hub.finance.evidence.media import WrongType, check, sniff
from hub.storage import audit_log
from hub.storage.engine import reading, writing
from tests.finance.archive_seed import nov
from tests.finance.reasons_seed import add_stores, store_return
from tests.hub.conftest import RunningHub, hub_settings, start_hub

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture
def hub(db_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    """A hub with a 4 kB evidence limit, its evidence and archive in the test's folder."""
    yield from start_hub(
        hub_settings(
            db_url,
            archive_dir=tmp_path / "archive",
            evidence_dir=tmp_path / "evidence",
            evidence_max_bytes=4096,
        )
    )


def seeded(hub: RunningHub) -> None:
    add_stores(hub.engine, {"s1": "north", "s2": "south"})
    store_return(
        hub.engine,
        "s1",
        "R1",
        "store",
        "broken",
        nov(3),
        [("SKU-A", 1)],
        refund=("30.00", "pending_approval"),
    )


def auth(hub: RunningHub, name: str, role: Role, scope: Scope = Scope()) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(hub.engine, name, role, scope=scope)}"}


def attach(
    hub: RunningHub,
    headers: dict[str, str],
    data: bytes,
    media_type: str,
    return_id: str = "R1",
    kind: str = "document",
) -> tuple[int, dict[str, object]]:
    answer = hub.client.post(
        "/api/evidence",
        content=data,
        headers={**headers, "Content-Type": media_type},
        params={
            "store": "s1",
            "return_id": return_id,
            "kind": kind,
            "refund_id": "rf-R1",
            "note": "buyer's invoice",
        },
    )
    return answer.status_code, answer.json()


def test_a_document_is_stored_by_its_hash_audited_and_read_back(
    hub: RunningHub, tmp_path: Path
) -> None:
    seeded(hub)
    manager = auth(hub, "mia", Role.STORE_MANAGER, Scope(store="s1"))
    status, body = attach(hub, manager, PDF, "application/pdf")
    assert status == 201, body
    sha = hashlib.sha256(PDF).hexdigest()
    assert (body["sha256"], body["size"], body["source"]) == (sha, len(PDF), "desk")
    assert (tmp_path / "evidence" / sha[:2] / sha).read_bytes() == PDF
    listed = hub.client.get(
        "/api/evidence", params={"store": "s1", "return_id": "R1"}, headers=manager
    ).json()
    assert [e["evidence_id"] for e in listed] == [body["evidence_id"]]
    got = hub.client.get(f"/api/evidence/{body['evidence_id']}/content", headers=manager)
    assert got.content == PDF and got.headers["content-type"] == "application/pdf"
    with reading(hub.engine) as conn:
        entries = audit_log.for_entity(conn, "evidence", str(body["evidence_id"]))
    assert [
        (e.action, e.actor, e.after["sha256"])
        for e in entries  # type: ignore[index]
    ] == [("evidence.recorded", "mia", sha)]


def test_size_type_scope_and_rights_are_refused_clearly(hub: RunningHub) -> None:
    seeded(hub)
    fin = auth(hub, "fiona", Role.FINANCE)
    too_big = attach(hub, fin, b"%PDF-" + bytes(5000), "application/pdf")
    assert too_big[0] == 413 and "at most 4096" in str(too_big[1]["detail"])
    for data, declared in (
        (b"MZ\x90\x00 an exe", "application/octet-stream"),
        (b"hello", "image/png"),  # text declared a picture
        (PNG, "image/jpeg"),  # a PNG named a JPEG
        (b"", "text/plain"),
    ):
        status, body = attach(hub, fin, data, declared)
        assert status == 415, (declared, body)
        assert body["detail"][0]["field"] in ("content-type", "body")
    assert attach(hub, fin, PDF, "application/pdf", return_id="R404")[0] == 404
    other = auth(hub, "otto", Role.STORE_MANAGER, Scope(store="s2"))
    assert attach(hub, other, PDF, "application/pdf")[0] == 403
    assert attach(hub, auth(hub, "vic", Role.VIEWER), PDF, "application/pdf")[0] == 403
    status, body = attach(hub, fin, PNG, "image/png", kind="video")
    assert status == 422


def test_the_content_decides_the_type() -> None:
    assert sniff(b"\xff\xd8\xff\xe0JFIF") == "image/jpeg"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"Dear ACORN,\r\nthe parcel was empty.\n") == "text/plain"
    assert sniff(b"text with a \x00 byte") is None
    with pytest.raises(WrongType):
        check(b"GIF89a", "image/gif", ["image/jpeg"], 100)


def test_evidence_past_its_retention_is_purged_and_shared_bytes_kept(
    hub: RunningHub, tmp_path: Path
) -> None:
    seeded(hub)
    root = tmp_path / "evidence"
    # a year ahead of the real clock: the hub's own purge pass (at start, with the real time)
    # must find nothing expired, whenever it runs beside the test (it found e-new once the
    # calendar passed the November days this test used)
    base = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)

    def day(n: int) -> datetime:
        return base + timedelta(days=365 + n)

    first = evidence.Attachment("s1", "R1", "photo", "image/png", "counter", evidence_id="e-old")
    second = evidence.Attachment("s1", "R1", "photo", "image/png", "desk", evidence_id="e-new")
    other = evidence.Attachment(
        "s1", "R1", "document", "application/pdf", "desk", evidence_id="e-pdf"
    )
    with writing(hub.engine, day(1)) as tx:
        evidence.record(tx, root, first, PNG, "mia", "store_manager", 10)
        evidence.record(tx, root, other, PDF, "mia", "store_manager", 10)
    with writing(hub.engine, day(20)) as tx:
        evidence.record(tx, root, second, PNG, "fiona", "finance", 10)
        again = evidence.record(tx, root, second, PNG, "fiona", "finance", 10)  # idempotent
    assert again["evidence_id"] == "e-new"
    assert evidence.purge(hub.engine, root, now=day(5)) == 0
    assert evidence.purge(hub.engine, root, now=day(12)) == 2
    with reading(hub.engine) as conn:
        rows = {e["evidence_id"]: e for e in evidence.for_return(conn, "s1", "R1")}
        purged = [e for e in audit_log.entries(conn) if e.action == "evidence.purged"]
    assert rows["e-old"]["purged_at"] is not None and rows["e-new"]["purged_at"] is None
    pdf_sha, png_sha = hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()
    assert not (root / pdf_sha[:2] / pdf_sha).exists()
    assert (root / png_sha[:2] / png_sha).read_bytes() == PNG  # e-new still needs it
    assert [
        (p.after["evidence_ids"], p.after["files_removed"])  # type: ignore[index]
        for p in purged
    ] == [(["e-old", "e-pdf"], [pdf_sha])]
    fin = auth(hub, "fiona", Role.FINANCE)
    assert hub.client.get("/api/evidence/e-pdf/content", headers=fin).status_code == 404
    assert hub.client.get("/api/evidence/e-new/content", headers=fin).content == PNG


def test_the_archive_lists_the_months_evidence(hub: RunningHub, tmp_path: Path) -> None:
    seeded(hub)
    item = evidence.Attachment(
        "s1", "R1", "photo", "image/png", "counter", "rf-R1", evidence_id="e-1"
    )
    with writing(hub.engine, nov(4)) as tx:
        evidence.record(tx, tmp_path / "evidence", item, PNG, "s1/n1", "node", 3653)
    archive.close(
        hub.engine,
        tmp_path / "archive",
        "2026-11",
        "fiona",
        "finance",
        now=datetime(2026, 12, 2, tzinfo=UTC),
    )
    index = (tmp_path / "archive/2026-11/v1/evidence/evidence-index-2026-11.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(index)))
    assert [(r["evidence_id"], r["sha256"], r["return_id"], r["refund_id"]) for r in rows] == [
        ("e-1", hashlib.sha256(PNG).hexdigest(), "R1", "rf-R1")
    ]
    assert rows[0]["purge_after"] == (nov(4) + timedelta(days=3653)).strftime(
        "%Y-%m-%dT%H:%M:%S.000000Z"
    )
