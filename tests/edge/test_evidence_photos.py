"""Photos at the counter, on a real agent offline: a photo of a return is kept on disk by its
SHA-256 and queued in the outbox with its bytes (checked by the protocol), before anything is
sent; the same photo sent twice is one photo; other bytes under its id are 409; sizes and types
are checked on the content (413, 415); an unknown return is 404."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

from protocol import EvidenceRecorded
from protocol.limits import MAX_EVIDENCE_BYTES
from tests.edge.conftest import Running
from tests.edge.test_api import post_return

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)


def send(
    run: Running, return_id: str, data: bytes, media_type: str, evidence_id: str | None = None
) -> tuple[int, dict[str, object]]:
    answer = run.http.post(
        f"/api/returns/{return_id}/photos",
        content=data,
        params={"evidence_id": evidence_id or uuid.uuid4().hex},
        headers={"Content-Type": media_type},
    )
    return answer.status_code, answer.json()


def test_a_photo_is_kept_and_queued_with_its_bytes_while_offline(agent: Running) -> None:
    view = post_return(agent)
    return_id = str(view["return_id"])
    status, photo = send(agent, return_id, PNG, "image/png", "photo-0001")
    assert status == 201, photo
    sha = hashlib.sha256(PNG).hexdigest()
    assert (photo["sha256"], photo["size"], photo["media_type"]) == (sha, len(PNG), "image/png")
    folder = agent.agent.store.path.parent / "evidence"
    assert (folder / sha[:2] / sha).read_bytes() == PNG
    with agent.agent.store.read() as tx:
        row = tx.one("SELECT kind, body FROM outbox WHERE seq = ?", (photo["event_seq"],))
    assert row is not None and row["kind"] == "evidence.recorded"
    event = EvidenceRecorded.model_validate(json.loads(row["body"]))
    assert (event.content, event.return_id, event.evidence_id) == (PNG, return_id, "photo-0001")
    assert agent.http.get("/api/health").json()["outbox_pending"] >= 1  # nothing sent: offline
    # sent twice (a retried upload): one photo, one event
    again = send(agent, return_id, PNG, "image/png", "photo-0001")
    assert again == (201, photo)
    assert agent.rows("evidence") == 1
    assert send(agent, return_id, JPEG, "image/jpeg", "photo-0001")[0] == 409
    listed = agent.http.get(f"/api/returns/{return_id}/photos").json()
    assert [p["evidence_id"] for p in listed] == ["photo-0001"]
    assert agent.http.get(f"/api/photos/{sha}").content == PNG


def test_size_type_and_return_are_checked(agent: Running) -> None:
    return_id = str(post_return(agent)["return_id"])
    status, body = send(agent, return_id, JPEG + bytes(MAX_EVIDENCE_BYTES), "image/jpeg")
    assert status == 413 and body["detail"][0]["field"] == "body"  # type: ignore[index]
    for data, declared in (
        (b"not a photo", "image/jpeg"),
        (PNG, "image/jpeg"),
        (b"%PDF-1.4 a document", "application/pdf"),
    ):
        status, body = send(agent, return_id, data, declared)
        assert status == 415, (declared, body)
    assert send(agent, "R-NOT-HERE", PNG, "image/png")[0] == 404
    assert send(agent, return_id, PNG, "image/png", "bad id with spaces")[0] == 422
    assert agent.rows("evidence") == 0
