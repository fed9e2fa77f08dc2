"""Every write is idempotent end to end (issue 9, "What broke" 4): a repeated request with the same
``Idempotency-Key`` gets the first answer and writes nothing more, on the edge's local API (real
uvicorn, real SQLite, the printer stand-in counting receipts) and on the hub's API."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hardware.sim.printer import PrinterStandIn
from tests.edge.conftest import Running, make_settings, running_agent

ITEMS = [{"sku": "SKU-KETTLE-1", "quantity": 1, "description": "Kettle",
          "unit_price": {"amount": "34.90", "currency": "EUR"}}]


def a_return(**overrides: Any) -> dict[str, Any]:
    """A counter return asking for its refund."""
    return {"channel": "pos", "reason": "defective", "items": ITEMS, "request_refund": True,
            **overrides}


def key() -> dict[str, str]:
    """A fresh key, as the counter page makes one per action."""
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterStandIn]:
    """A network receipt printer stand-in that keeps every job it prints."""
    with PrinterStandIn(tmp_path / "printed") as stand_in:
        yield stand_in


@pytest.fixture
def edge(tmp_path: Path, printer: PrinterStandIn) -> Iterator[Running]:
    """An agent (no MQTT link) printing its receipts on the stand-in."""
    settings = make_settings(tmp_path, printer_url=printer.url, print_retry_seconds=0.2)
    with running_agent(settings, connect=False) as run:
        yield run


def settle(printer: PrinterStandIn, run: Running, expected: int) -> None:
    """Wait until the queue is empty and ``expected`` jobs printed; then make sure no more come."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(printer.jobs) >= expected and run.rows("print_jobs WHERE state = 'queued'") == 0:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # a second receipt would be printed by now: the queue was empty
    assert len(printer.jobs) == expected


def test_a_repeated_return_is_recorded_once_and_answered_the_same(
        edge: Running, printer: PrinterStandIn) -> None:
    """Promise: a double click or a retried POST /api/returns makes one return, one refund
    request and one receipt; the repeat gets the first answer (same status and body)."""
    headers = key()
    first = edge.http.post("/api/returns", json=a_return(), headers=headers)
    second = edge.http.post("/api/returns", json=a_return(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert edge.rows("returns") == 1
    assert edge.rows("refunds") == 1
    assert edge.rows("outbox WHERE kind = 'refund.requested'") == 1
    settle(printer, edge, 1)


def test_concurrent_repeats_wait_for_the_first_and_never_run_twice(
        edge: Running, printer: PrinterStandIn) -> None:
    """Promise: repeats sent while the first is still in flight never make a second return."""
    headers, answers = key(), []

    def post() -> None:
        with httpx.Client(base_url=edge.url, timeout=20) as http:
            answers.append(http.post("/api/returns", json=a_return(), headers=headers))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert edge.rows("returns") == 1
    settle(printer, edge, 1)


def test_the_same_key_for_another_request_is_refused_naming_the_key(edge: Running) -> None:
    """Promise: a key reused for a different return is a 422 naming the key, writing nothing."""
    headers = key()
    assert edge.http.post("/api/returns", json=a_return(), headers=headers).status_code == 201
    other = edge.http.post("/api/returns", json=a_return(reason="wrong size"), headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert edge.rows("returns") == 1


def test_requests_without_a_key_work_as_before_and_bad_keys_are_refused(edge: Running) -> None:
    """Promise: a request without a key still works (each one is a new return); a malformed
    key is a 422 in the published error shape, not a 500."""
    assert edge.http.post("/api/returns", json=a_return()).status_code == 201
    assert edge.http.post("/api/returns", json=a_return()).status_code == 201
    assert edge.rows("returns") == 2
    bad = edge.http.post("/api/returns", json=a_return(), headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "Idempotency-Key"
    assert edge.rows("returns") == 2


def test_a_repeated_inspection_disposition_and_reprint_are_done_once(
        edge: Running, printer: PrinterStandIn) -> None:
    """Promise: repeating QC, disposition or a receipt reprint answers the first result instead
    of a 409 or a second receipt."""
    rid = edge.http.post("/api/returns", json=a_return(), headers=key()).json()["return_id"]
    for path, body in ((f"/api/returns/{rid}/inspection", {"grade": "good", "notes": "scratched"}),
                       (f"/api/returns/{rid}/disposition", {"disposition": "restock_open_box"})):
        headers = key()
        first = edge.http.post(path, json=body, headers=headers)
        second = edge.http.post(path, json=body, headers=headers)
        assert first.status_code == second.status_code == 201, second.text
        assert first.content == second.content
    headers = key()
    first = edge.http.post(f"/api/returns/{rid}/receipt", headers=headers)
    second = edge.http.post(f"/api/returns/{rid}/receipt", headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    assert edge.rows("inspections") == 1
    assert edge.rows("dispositions") == 1
    settle(printer, edge, 3)  # the drop-off receipt, one shelf label (same printer), one reprint


def test_keys_are_kept_for_a_day_then_pruned(edge: Running) -> None:
    """Promise: a key expires after 24 hours (documented) and the table does not grow forever."""
    headers = key()
    assert edge.http.post("/api/returns", json=a_return(), headers=headers).status_code == 201
    with edge.agent.store.write() as tx:  # a day passes for this key
        tx.execute("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00Z'")
    again = edge.http.post("/api/returns", json=a_return(), headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert edge.rows("returns") == 2
    assert edge.rows("idempotency_keys") == 1  # the old row went, the new one is there


# --- the hub's API (both databases) ----------------------------------------------------------

from sqlalchemy import func, select  # noqa: E402

from hub.access.permissions import Role  # noqa: E402
from hub.storage.engine import reading  # noqa: E402
from hub.storage.tables.core import audit_log, commands, refunds  # noqa: E402
from tests.desk.seed import Ask, seed  # noqa: E402
from tests.people.conftest import DeskHub, add_user, db_url, desk  # noqa: E402
from tests.support.http_calls import http_get  # noqa: E402

__all__ = ["db_url", "desk"]

ASKS = [Ask("s1", "1", "80.00"), Ask("s2", "4", "60.00"), Ask("s1", "7", "90.00")]


@pytest.fixture
def hq(desk: DeskHub) -> DeskHub:
    """Refunds waiting for approval at s1 and s2, and finn (finance) to approve them."""
    seed(desk.engine, ASKS)
    add_user(desk.engine, "finn", Role.FINANCE)
    return desk


def counts(hub: DeskHub) -> tuple[int, int, dict[str, str]]:
    """Audit entries, commands to stores, and every refund's state."""
    with reading(hub.engine) as conn:
        audits = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        told = conn.execute(select(func.count()).select_from(commands)).scalar_one()
        states = {r.refund_id: r.state
                  for r in conn.execute(select(refunds.c.refund_id, refunds.c.state))}
    return int(audits), int(told), states


def bulk_body(total: str = "140.00") -> dict[str, Any]:
    return {"refunds": [{"store_id": "s1", "refund_id": "F1"},
                        {"store_id": "s2", "refund_id": "F4"}],
            "expected_total": {"amount": total, "currency": "USD"}, "reason": "weekly batch"}


def test_a_repeated_approval_decides_once_and_answers_the_same(hq: DeskHub) -> None:
    """Promise: approving twice with one key makes one decision, one audit entry and one
    command to the store; the repeat gets the first answer, marked as replayed."""
    finn, headers = hq.sign_in("finn"), key()
    first = finn.post("/api/refunds/F1/approve", params={"store": "s1"}, headers=headers)
    after_first = counts(hq)
    second = finn.post("/api/refunds/F1/approve", params={"store": "s1"}, headers=headers)
    assert first.status_code == second.status_code == 200, second.text
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
    assert counts(hq) == after_first
    assert after_first[2]["F1"] == "approved"


def test_a_repeated_bulk_approval_decides_once(hq: DeskHub) -> None:
    """Promise: a bulk approval sent twice with one key approves each refund once, with one
    audit entry and one command each."""
    finn, headers = hq.sign_in("finn"), key()
    before = counts(hq)
    first = finn.post("/api/refunds/bulk-approve", json=bulk_body(), headers=headers)
    after_first = counts(hq)
    second = finn.post("/api/refunds/bulk-approve", json=bulk_body(), headers=headers)
    assert first.status_code == second.status_code == 200, first.text
    assert second.content == first.content
    assert counts(hq) == after_first
    assert after_first[1] == before[1] + 2  # one command per refund, not per request


def test_concurrent_repeated_approvals_never_decide_twice(hq: DeskHub) -> None:
    """Promise: repeats sent while the first approval is in flight wait for it and get its
    answer: one decision, never a 409 for the person who clicked twice."""
    headers, answers = key(), []
    cookie = hq.sign_in("finn")

    def approve() -> None:
        with httpx.Client(base_url=hq.url, timeout=30, cookies=cookie.cookies,
                          headers=dict(cookie.headers)) as http:
            answers.append(http.post("/api/refunds/F7/approve", params={"store": "s1"},
                                     headers=headers))

    before = counts(hq)
    threads = [threading.Thread(target=approve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    audits, told, _ = counts(hq)
    assert (audits, told) == (before[0] + 1, before[1] + 1)


def test_a_key_reused_for_another_request_is_refused_and_a_refusal_keeps_no_key(
        hq: DeskHub) -> None:
    """Promise: one key for two different requests is a 422 naming the key; a request the hub
    refused (409) stores no key, so the corrected request with the same key goes through."""
    finn, headers = hq.sign_in("finn"), key()
    before = counts(hq)
    wrong = finn.post("/api/refunds/bulk-approve", json=bulk_body("139.99"), headers=headers)
    assert wrong.status_code == 409 and counts(hq) == before
    done = finn.post("/api/refunds/bulk-approve", json=bulk_body(), headers=headers)
    assert done.status_code == 200, done.text
    other = finn.post("/api/refunds/F7/approve", params={"store": "s1"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert counts(hq)[2]["F7"] == "pending_approval"


def test_hub_writes_without_a_key_work_as_before(hq: DeskHub) -> None:
    """Promise: a client that sends no key is served as before (and a bad key is a 422)."""
    finn = hq.sign_in("finn")
    bad = finn.post("/api/refunds/F1/approve", params={"store": "s1"},
                    headers={"Idempotency-Key": "has space"})
    assert bad.status_code == 422 and counts(hq)[2]["F1"] == "pending_approval"
    assert finn.post("/api/refunds/F1/approve", params={"store": "s1"}).status_code == 200
    again = finn.post("/api/refunds/F1/approve", params={"store": "s1"})
    assert again.status_code == 409  # no key: the second approval is refused as before


def test_both_openapi_documents_share_the_idempotency_key_parameter(edge: Running,
                                                                    hq: DeskHub) -> None:
    """Promise: the header is documented once per OpenAPI document and every keyed write
    route refers to it (the public surface integrators read)."""
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    for document, writes in (
            (edge.http.get("/openapi.json").json(),
             {("post", "/api/returns"), ("post", "/api/returns/{return_id}/receipt")}),
            (http_get(f"{hq.url}/openapi.json", timeout=10).json(),
             {("post", "/api/refunds/{refund_id}/approve"), ("post", "/api/refunds/bulk-approve"),
              ("put", "/api/policy"), ("patch", "/api/users/{username}")})):
        assert document["components"]["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"
        keyed = {(method, path) for path, operations in document["paths"].items()
                 for method, operation in operations.items()
                 if ref in operation.get("parameters", [])}
        assert writes <= keyed
        assert not any(method == "get" for method, _ in keyed)


def test_a_repeated_risk_flag_is_raised_once_with_its_201(hq: DeskHub) -> None:
    """Promise: a created resource (201) repeated with its key is created once and the repeat
    answers the same 201 and body; another caller's key of the same name is their own."""
    finn, headers = hq.sign_in("finn"), key()
    body = {"kind": "order", "subject": "O-77", "reason": "chargeback last month"}
    first = finn.post("/api/risk-flags", json=body, headers=headers)
    second = finn.post("/api/risk-flags", json=body, headers=headers)
    assert first.status_code == second.status_code == 201, first.text
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
    add_user(hq.engine, "fiona", Role.FINANCE)
    theirs = hq.sign_in("fiona").post("/api/risk-flags", json=body, headers=headers)
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    listed = finn.get("/api/risk-flags", params={"kind": "order", "subject": "O-77"}).json()
    flags = listed["items"] if isinstance(listed, dict) else listed
    assert len([f for f in flags if f["subject"] == "O-77"]) == 2  # one each, not three
